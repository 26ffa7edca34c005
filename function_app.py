"""The Azure Functions app: build the FunctionApp, register the blueprints. Nothing else.

The Functions worker puts only this folder on sys.path; the package lives in src/ next to
this file (in the repository, the Docker image and a zip deployment alike)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

import azure.functions as func

from retrain.entrypoints import (
    console,
    feedback_api,
    http_api,
    queue_worker,
    slack_interactions,
    timer,
)

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (
    http_api.bp,
    timer.bp,
    queue_worker.bp,
    console.bp,
    feedback_api.bp,
    slack_interactions.bp,
):
    app.register_functions(blueprint)
