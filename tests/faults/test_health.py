"""Promise 7: /api/health answers within 5 s whatever hangs, and names what is down."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine

from retrain.adapters.blob_store import BlobObjectStore
from retrain.adapters.sql_source import SqlSource
from retrain.service.model_repository import ModelRepository
from retrain.service.run_repository import RunRepository
from tests.faults.netfaults import deaf_port
from tests.faults.world import sdk_retry
from tests.functions.conftest import build_services, http
from tests.services import DEV_ACCOUNT, DEV_KEY

# bounds a time or kills processes: runs after the parallel tests, alone (Makefile, `test`)
pytestmark = pytest.mark.serial


def test_health_answers_in_time_when_every_dependency_hangs(tmp_path, use):
    from azure.storage.blob import ContainerClient

    svc, settings = build_services(tmp_path)
    with deaf_port() as port:
        url = f"postgresql+psycopg2://app:s3cret@127.0.0.1:{port}/train"
        svc.source = SqlSource(create_engine(url, connect_args={"connect_timeout": 15}))
        conn = (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{DEV_ACCOUNT};"
        )
        svc.models = ModelRepository(
            BlobObjectStore(ContainerClient.from_connection_string(conn, "models"))
        )
        use(svc, settings)
        started = time.monotonic()
        response, _ = http("health")
        took = time.monotonic() - started
    assert took < 5, took
    assert response.status == 503
    assert response.json["checks"] == {
        "training_db": "no answer within 4 s",
        "model_store": "no answer within 4 s",
        "run_store": "ok",
    }
    assert "s3cret" not in response.text and str(port) not in response.text


def test_health_names_storage_that_refuses_connections(tmp_path, use, azurite):
    svc, settings = build_services(tmp_path)
    from azure.storage.blob import ContainerClient

    conn = azurite.connection_string.replace(str(azurite.port), "1")
    client = ContainerClient.from_connection_string(conn, "runs", retry_policy=sdk_retry())
    svc.runs = RunRepository(BlobObjectStore(client))
    use(svc, settings)
    started = time.monotonic()
    response, _ = http("health")
    assert time.monotonic() - started < 5
    # the SDK's retries are quick here (tests/faults/world.py), so the refusal itself is
    # named; with the SDK's default back-off (15 s) the probe would only time out
    assert response.json["checks"]["run_store"] == "unavailable (BackendError)"
    assert response.json["checks"]["model_store"] == "ok"


def test_health_reports_the_dask_scheduler_when_training_on_dask(tmp_path, use):
    from retrain.adapters.dask_engine import DaskEngine
    from retrain.adapters.postgres_partitions import Database
    from retrain.config import Secret

    svc, settings = build_services(tmp_path)
    engine = DaskEngine(svc.source, Database(Secret("postgresql://x")), "tcp://127.0.0.1:1")  # type: ignore[arg-type]
    svc.engine = engine
    use(svc, settings)
    response, _ = http("health")
    assert response.status == 503
    assert response.json["checks"]["dask_scheduler"] == "unavailable (BackendError)"
    with deaf_port() as port:  # accepts connections and never answers: not a scheduler
        engine.address = f"tcp://127.0.0.1:{port}"
        response, _ = http("health")
    assert response.status == 503
    assert response.json["checks"]["dask_scheduler"] in (
        "unavailable (BackendError)",
        "no answer within 4 s",
    )  # a live scheduler answers "ok": tests/faults/test_dask_faults.py
