"""Real PostgreSQL 15 and Azurite for the integration tests, started once per session.
Under CI=true a service that cannot start fails the run; elsewhere its tests are skipped."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from tests import services

AS_OF = date(2026, 11, 1)
ROWS = 3000


@contextlib.contextmanager
def _started(name: str, manager: contextlib.AbstractContextManager) -> Iterator[Any]:
    """Enter a service's context; if it cannot start, fail under CI=true, else skip."""
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(manager)
        except services.ServiceUnavailable as exc:
            message = f"{name} could not start: {exc}"
            if os.environ.get("CI") == "true":
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        yield server


@pytest.fixture(scope="session")
def pg() -> Iterator[services.Postgres]:
    from sqlalchemy import create_engine

    from retrain.adapters import demo_data

    with _started("PostgreSQL", services.postgres()) as server:
        demo_data.write(create_engine(server.superuser_url), demo_data.generate(ROWS, 5, AS_OF))
        server.grant_reader()
        yield server


@pytest.fixture(scope="session")
def azurite() -> Iterator[services.Azurite]:
    with _started("Azurite", services.azurite()) as server:
        yield server


@pytest.fixture
def container(azurite: services.Azurite) -> Iterator:
    """A fresh Blob container per test."""
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    client = service.create_container(f"t{uuid.uuid4().hex[:20]}")
    yield client
    client.delete_container()
