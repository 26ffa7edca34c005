"""GET /api/training/statistics on Azure Blob Storage (Azurite): run records, the run index
and the alias history in their containers, read through the HTTP function, the clock
pinned (tests/statistics_seed.py)."""

from __future__ import annotations

import uuid

from azure.storage.blob import BlobServiceClient

from retrain.adapters.blob_store import BlobObjectStore
from retrain.domain.specs import Registry
from retrain.entrypoints import app_services
from retrain.service.context import Services
from retrain.service.model_repository import ModelRepository
from retrain.service.run_repository import RunRepository
from tests.fakes import FakeSource, RecordingNotifier, toy_spec
from tests.functions.conftest import http
from tests.services import DEV_KEY
from tests.statistics_seed import NOW, check, seed


def test_statistics_over_blob_storage(azurite, container):
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    runs = service.create_container(f"r{uuid.uuid4().hex[:20]}")
    try:
        svc = Services(
            registry=Registry([toy_spec(name) for name in ("ALPHA", "BETA", "GAMMA")]),
            source=FakeSource(),
            models=ModelRepository(BlobObjectStore(container)),
            runs=RunRepository(BlobObjectStore(runs)),
            notifier=RecordingNotifier(),
            clock=lambda: NOW,
        )
        unreadable = seed(svc, "ALPHA", "BETA")
        stored = sorted(runs.list_blob_names())
        app_services.override(svc)
        try:
            response, _ = http("training_statistics")
            bad, _ = http("training_statistics", params={"days": "0"})
        finally:
            app_services.override(None)
        assert response.status == 200, response.text
        check(response.json, "ALPHA", "BETA", "GAMMA", unreadable)
        assert bad.status == 400 and "days must be a whole number" in bad.json["error"]["message"]
        assert DEV_KEY not in response.text + bad.text
        assert sorted(runs.list_blob_names()) == stored  # it writes nothing of its own
    finally:
        runs.delete_container()
