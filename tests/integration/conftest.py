"""Real PostgreSQL 15 and Azurite for the integration tests, started once per session.
Under CI=true a service that cannot start fails the run; elsewhere its tests are skipped."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date

import pytest

from tests import services

AS_OF = date(2026, 11, 1)
ROWS = 3000


def _unavailable(name: str, exc: Exception) -> None:
    message = f"{name} could not start: {exc}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg() -> Iterator[services.Postgres]:
    try:
        manager = services.postgres()
        server = manager.__enter__()
    except services.ServiceUnavailable as exc:
        _unavailable("PostgreSQL", exc)
    try:
        from sqlalchemy import create_engine

        from retrain.adapters import demo_data

        demo_data.write(create_engine(server.superuser_url), demo_data.generate(ROWS, 5, AS_OF))
        server.grant_reader()
        yield server
    finally:
        manager.__exit__(None, None, None)


@pytest.fixture(scope="session")
def azurite() -> Iterator[services.Azurite]:
    try:
        manager = services.azurite()
        server = manager.__enter__()
    except services.ServiceUnavailable as exc:
        _unavailable("Azurite", exc)
    try:
        yield server
    finally:
        manager.__exit__(None, None, None)


@pytest.fixture
def container(azurite: services.Azurite) -> Iterator:
    """A fresh Blob container per test."""
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    client = service.create_container(f"t{uuid.uuid4().hex[:20]}")
    yield client
    client.delete_container()
