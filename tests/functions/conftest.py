"""The function app's functions called in-process through azure.functions objects, on a
small SQLite demo database and local stores in a temp folder."""

from __future__ import annotations

import dataclasses
import inspect
import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.functions as func
import function_app
import pytest
from azure.functions.queue import QueueMessage

from retrain import bootstrap
from retrain.adapters import demo_data
from retrain.classifiers import default_registry
from retrain.config import Settings
from retrain.domain.specs import Registry
from retrain.entrypoints import app_services
from retrain.entrypoints.local_server import Out  # what the host hands an output binding
from retrain.service.context import Services
from tests import strict
from tests.fakes import RecordingNotifier, tree

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # the demo rows end on 2026-11-01

# get_functions() indexes the app; the host does it once per worker process
FUNCTIONS = {fn.get_function_name(): fn for fn in function_app.app.get_functions()}


def function(name: str) -> Any:
    return FUNCTIONS[name].get_user_function()


class Response:
    def __init__(self, response: func.HttpResponse) -> None:
        self.status = response.status_code
        self.headers = dict(response.headers)
        self.text = response.get_body().decode()
        is_json = (response.mimetype or "").startswith("application/json")
        self.json = strict.loads(self.text) if self.text and is_json else None


def http(
    name: str,
    method: str = "GET",
    path: str = "/",
    body: Any = None,
    params: dict | None = None,
    route: dict | None = None,
    content_type: str = "application/json",
    raw: bytes | None = None,
    headers: dict | None = None,
) -> tuple[Response, Out]:
    """Call an HTTP function; returns its response and what it put on the queue."""
    if raw is None:
        raw = b"" if body is None else json.dumps(body).encode()
    req = func.HttpRequest(
        method,
        f"https://app.example.net/api/{path.lstrip('/')}",
        headers={"content-type": content_type, **(headers or {})},
        params=params or {},
        route_params=route or {},
        body=raw,
    )
    user = function(name)
    msgs = Out()
    takes_queue = "msgs" in inspect.signature(user).parameters
    response = user(req, msgs) if takes_queue else user(req)
    return Response(response), msgs


def deliver(messages: list[str] | None, dequeue_count: int = 1, name: str = "train_model") -> None:
    """Hand queued messages to a queue function, as the host would."""
    for body in messages or []:
        function(name)(
            QueueMessage(id="m-1", body=body.encode(), dequeue_count=dequeue_count, pop_receipt="r")
        )


def quick_registry() -> Registry:
    """The seed classifiers with a small decision tree: same queries, columns and gate,
    trained in well under a second (for tests about orchestration, not models)."""
    return Registry([dataclasses.replace(s, estimator=tree) for s in default_registry()])


def build_services(home: Path, **overrides: Any) -> tuple[Services, Settings]:
    """Services as the app builds them (bootstrap.build) on a 3,000-row SQLite demo
    database and local stores under ``home``."""
    settings = Settings.from_environ({"RETRAIN_HOME": str(home), "LOG_LEVEL": "WARNING"})
    if not (home / "training.db").exists():
        engine = bootstrap.sql_engine(settings)
        demo_data.write(engine, demo_data.generate(3000, 11, date(2026, 11, 1)))
        engine.dispose()
    overrides.setdefault("notifier", RecordingNotifier())
    started = time.monotonic()  # the pinned clock runs: leases and heartbeats age
    svc = dataclasses.replace(
        bootstrap.build(settings, **overrides),
        clock=lambda: NOW + timedelta(seconds=time.monotonic() - started),
    )
    return svc, settings


@pytest.fixture
def use() -> Iterator[Any]:
    """``use(svc, settings)`` makes the function app run on them until the test ends."""
    yield app_services.override
    app_services.override(None)


@pytest.fixture
def app(tmp_path, use) -> Services:
    """The app on the seed classifiers."""
    svc, settings = build_services(tmp_path)
    use(svc, settings)
    return svc


@pytest.fixture
def quick_app(tmp_path, use) -> Services:
    """The app on the seed classifiers' data with quick estimators."""
    svc, settings = build_services(tmp_path, registry=quick_registry())
    use(svc, settings)
    return svc
