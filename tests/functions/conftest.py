"""The function app's functions called in-process through azure.functions objects, on a
small SQLite demo database and local stores in a temp folder."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import azure.functions as func
import function_app
import pytest
from azure.functions.queue import QueueMessage

from retrain import bootstrap
from retrain.adapters import demo_data
from retrain.config import Settings
from retrain.entrypoints import app_services
from retrain.service.context import Services
from tests.fakes import RecordingNotifier


class Out(func.Out):
    def __init__(self) -> None:
        self.value: Any = None

    def set(self, val: Any) -> None:
        self.value = val

    def get(self) -> Any:
        return self.value


# get_functions() indexes the app and may run once per process, as in the host
FUNCTIONS = {fn.get_function_name(): fn for fn in function_app.app.get_functions()}


def function(name: str) -> Any:
    return FUNCTIONS[name]


def http(
    name: str,
    method: str = "GET",
    path: str = "/",
    body: Any = None,
    params: dict | None = None,
    route: dict | None = None,
    content_type: str = "application/json",
    raw: bytes | None = None,
) -> tuple[Any, Out]:
    """Call an HTTP function; returns its response and what it put on the queue."""
    if raw is None:
        raw = b"" if body is None else json.dumps(body).encode()
    req = func.HttpRequest(
        method,
        f"https://app.example.net/api/{path.lstrip('/')}",
        headers={"content-type": content_type},
        params=params or {},
        route_params=route or {},
        body=raw,
    )
    user = function(name).get_user_function()
    msgs = Out()
    takes_queue = "msgs" in inspect.signature(user).parameters
    response = user(req, msgs) if takes_queue else user(req)
    return Response(response), msgs


class Response:
    def __init__(self, response: func.HttpResponse) -> None:
        self.status = response.status_code
        self.headers = dict(response.headers)
        self.text = response.get_body().decode()
        self.json = json.loads(self.text) if self.text else None


def deliver(messages: list[str] | None, dequeue_count: int = 1) -> None:
    """Hand queued messages to the queue function, as the host would."""
    user = function("train_model").get_user_function()
    for body in messages or []:
        user(QueueMessage(id="m", body=body.encode(), dequeue_count=dequeue_count))


def build_services(home: Any, **overrides: Any) -> tuple[Services, Settings]:
    settings = Settings.from_environ({"RETRAIN_HOME": str(home), "LOG_LEVEL": "WARNING"})
    engine = bootstrap.sql_engine(settings)
    if not (home / "training.db").exists():
        demo_data.write(engine, demo_data.generate(3000, 11, date(2026, 11, 1)))
    overrides.setdefault("notifier", RecordingNotifier())
    return bootstrap.build(settings, **overrides), settings


@pytest.fixture
def app(tmp_path) -> Iterator[Services]:
    svc, settings = build_services(tmp_path)
    app_services.override(svc, settings)
    yield svc
    app_services.override(None)
