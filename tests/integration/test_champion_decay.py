"""The champion-decay timer on PostgreSQL (SELECT-only role) and Azurite, called as the host
calls it: a champion trained through the HTTP API and the queue, a new month of rows with
wrong labels arrives in the table, the timer scores the champion on them, stores the point
in Blob Storage, reports it and queues one run (``retrain_on_decay``) that then trains; a
second firing the same day does nothing again. The clock is pinned."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from azure.functions.timer import TimerRequest
from azure.storage.blob import BlobServiceClient
from loguru import logger

from retrain import bootstrap
from retrain.adapters import demo_data
from retrain.classifiers import klasse_roh
from retrain.classifiers.estimators import xgboost_hist
from retrain.config import Settings
from retrain.domain.decay import DecayStatus
from retrain.domain.specs import Registry
from retrain.entrypoints import app_services
from retrain.entrypoints.local_server import Out
from retrain.service.decay import points
from tests.fakes import RecordingNotifier
from tests.functions.conftest import deliver, function, http
from tests.services import DEV_KEY, READER_PASSWORD

TRAINED_AT = datetime(2026, 10, 2, 9, 0, tzinfo=UTC)  # the table's rows end on 2026-09-30
CHECKED_AT = datetime(2026, 10, 28, 3, 0, tzinfo=UTC)  # the timer's default: the 28th, 03:00
FLIP = {"A": "D", "B": "C", "C": "B", "D": "A"}


def _write(pg, table: str, frame: pd.DataFrame, if_exists: str) -> None:
    """As the table's owner (the app's role only reads)."""
    from sqlalchemy import Boolean, DateTime, Float, Integer, String, create_engine

    types = {
        "article_id": Integer(),
        "created_at": DateTime(),
        "thickness_mm": Float(),
        "density_kg_m3": Float(),
        "moisture_resistant": Boolean(),
        "fire_retardant": Boolean(),
    }
    types.update({c: String() for c in frame.columns if c not in types})
    engine = create_engine(pg.superuser_url)
    with engine.begin() as conn:
        frame.to_sql(table, conn, if_exists=if_exists, index=False, dtype=types)
    engine.dispose()


@pytest.fixture
def table(pg) -> Iterator[str]:
    """A table of its own (the session's demo table stays as other tests expect it)."""
    name = f"decay_{uuid.uuid4().hex[:8]}"
    _write(pg, name, demo_data.generate(3000, 5, date(2026, 10, 1)), "replace")
    pg.psql(f"GRANT SELECT ON {name} TO retrain_reader")
    yield name
    pg.psql(f"DROP TABLE IF EXISTS {name}")


@pytest.fixture
def logged() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG", format="{message}")
    yield lines
    logger.remove(sink)


def test_the_decay_timer_scores_stores_reports_and_queues_one_run(
    pg, azurite, table, tmp_path, logged
):
    suffix = uuid.uuid4().hex[:12]
    settings = Settings.from_environ(
        {
            "TRAINING_DB_URL": pg.reader_url,
            "ARTIFACT_CONNECTION_STRING": azurite.connection_string,
            "ARTIFACT_CONTAINER": f"decay-models-{suffix}",
            "RUNS_CONTAINER": f"decay-runs-{suffix}",
            "RETRAIN_HOME": str(tmp_path),
        }
    )
    spec = dataclasses.replace(
        klasse_roh.SPEC,
        query=klasse_roh.SPEC.query.replace("panel_articles", table),
        estimator=lambda: xgboost_hist(n_estimators=20, max_depth=3),
        retrain_on_decay=True,
    )
    now = [TRAINED_AT]
    svc = bootstrap.build(settings, registry=Registry([spec]), notifier=RecordingNotifier())
    svc.clock = lambda: now[0]
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    app_services.override(svc, settings)
    try:
        started, queued = http("start_training", "POST", "training", {"models": ["KLASSE_ROH"]})
        assert started.status == 202, started.text
        deliver(queued.value)
        assert svc.models.champion("KLASSE_ROH").version == 1

        new = demo_data.generate(400, 9, date(2026, 10, 28))
        new["article_id"] += 1_000_000
        new["created_at"] = pd.date_range("2026-10-03", periods=400, freq="h")
        new["raw_material_class"] = new["raw_material_class"].map(FLIP)
        _write(pg, table, new, "append")

        now[0] = CHECKED_AT
        msgs = Out()
        function("champion_decay")(TimerRequest(), msgs)
        (message,) = msgs.value
        assert json.loads(message)["run_id"] == "20261028T000000Z-KLASSE_ROH-decay"
        ((result,),) = svc.notifier.decay_checks
        assert result.status is DecayStatus.BELOW_FLOOR and result.rows >= 390
        assert result.window["after"].startswith("2026-09-")
        assert result.window["first"] == "2026-10-03 00:00:00"
        models = blobs.get_container_client(settings.artifact_container)
        decay_keys = sorted(models.list_blob_names(name_starts_with="KLASSE_ROH/decay/"))
        assert decay_keys == ["KLASSE_ROH/decay/20261028T000000Z-scheduled.json"]
        (point,) = points(svc, "KLASSE_ROH")
        assert point["retrain"] == {"run_id": "20261028T000000Z-KLASSE_ROH-decay"}

        again = Out()
        function("champion_decay")(TimerRequest(past_due=True), again)  # the same day
        assert again.value == [] and len(svc.notifier.decay_checks) == 1
        assert sorted(models.list_blob_names(name_starts_with="KLASSE_ROH/decay/")) == decay_keys

        deliver(msgs.value)
        record = svc.runs.get("20261028T000000Z-KLASSE_ROH-decay")
        assert (record.status, record.trigger, record.version) == ("succeeded", "decay", 2)
        assert record.reason.startswith("decay: KLASSE_ROH v1: balanced_accuracy ")
        assert record.summary["data_window"]["last"].startswith("2026-10-")  # the new rows
    finally:
        app_services.override(None)
        for container in (settings.artifact_container, settings.runs_container):
            blobs.delete_container(container)
    text = "\n".join(logged)
    assert "decay: KLASSE_ROH v1: balanced_accuracy" in text
    for secret in (READER_PASSWORD, DEV_KEY):
        assert secret not in text
