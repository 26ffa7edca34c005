"""Three months in the life of the service, the way it is used: on PostgreSQL (the app's
SELECT-only role) and Azurite, through the timers and the queue worker as the host calls
them, with the clock pinned to each month. Every month new rows arrive (some of them rows
delivered again), the 36-month window moves, the monthly timer retrains, and the decay timer
scores each champion on the rows that arrived since it was trained.

What must hold every month, checked from the table itself and not from what the app says:
the gate compares the candidate and the champion on rows the champion never trained on
(the champion's training rows rebuilt from its card's window and holdout rule), on as many
rows as the card and the run record say; a row keeps its part as the table grows; the
card of an XGBoost model is strict JSON (its parameters hold NaN); the statistics count
what happened."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from azure.functions.timer import TimerRequest

from retrain import bootstrap
from retrain.adapters import demo_data
from retrain.classifiers import klasse_core, klasse_roh
from retrain.classifiers.estimators import xgboost_hist
from retrain.config import Settings
from retrain.domain.specs import Registry
from retrain.entrypoints import app_services
from retrain.entrypoints.local_server import Out
from retrain.service.decay import points
from retrain.training.holdout import Rule
from tests.fakes import RecordingNotifier
from tests.functions.conftest import deliver, function, http
from tests.integration.test_champion_decay import _write

MONTHS = [date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1)]
NEW_ROWS = 600  # per month
REDELIVERED = 40  # rows of last month delivered again, same key and values


@pytest.fixture
def table(pg) -> Iterator[str]:
    name = f"months_{uuid.uuid4().hex[:8]}"
    _write(pg, name, demo_data.generate(3000, 1, date(2026, 6, 30)), "replace")
    pg.psql(f"GRANT SELECT ON {name} TO retrain_reader")
    yield name
    pg.psql(f"DROP TABLE IF EXISTS {name}")


def _month_of_rows(month: date, seed: int, first_id: int) -> pd.DataFrame:
    """``NEW_ROWS`` rows created during ``month``, with keys no earlier row has."""
    end = (pd.Timestamp(month) + pd.offsets.MonthEnd(0)).date()
    rows = demo_data.generate(NEW_ROWS, seed, end)
    rows["article_id"] = np.arange(first_id, first_id + NEW_ROWS)
    rows["created_at"] = pd.date_range(
        pd.Timestamp(month) + timedelta(hours=1),
        pd.Timestamp(end) + timedelta(hours=20),
        periods=NEW_ROWS,
    )
    return rows


def _read(pg, table: str) -> pd.DataFrame:
    from sqlalchemy import create_engine

    engine = create_engine(pg.superuser_url)
    try:
        return pd.read_sql(f"SELECT * FROM {table}", engine)
    finally:
        engine.dispose()


def _loaded(frame: pd.DataFrame, card: dict, target: str) -> pd.DataFrame:
    """The rows a version trained and tested on: its data window, labelled."""
    window = card["data_window"]
    at = frame["created_at"]
    inside = (at >= pd.Timestamp(window["since"])) & (at <= pd.Timestamp(window["last"]))
    return frame[inside & frame[target].notna()]


def _keys(frame: pd.DataFrame, mask: np.ndarray) -> set[int]:
    return set(frame.loc[mask, "article_id"].astype(int))


def test_three_months_of_growing_data_compare_fairly_and_keep_every_promise(
    pg, azurite, table, tmp_path
):
    suffix = uuid.uuid4().hex[:12]
    settings = Settings.from_environ(
        {
            "TRAINING_DB_URL": pg.reader_url,
            "ARTIFACT_CONNECTION_STRING": azurite.connection_string,
            "ARTIFACT_CONTAINER": f"months-models-{suffix}",
            "RUNS_CONTAINER": f"months-runs-{suffix}",
            "RETRAIN_HOME": str(tmp_path),
        }
    )
    specs = [
        dataclasses.replace(
            klasse_roh.SPEC,
            query=klasse_roh.SPEC.query.replace("panel_articles", table),
            estimator=lambda: xgboost_hist(n_estimators=30, max_depth=3),
        ),
        dataclasses.replace(
            klasse_core.SPEC, query=klasse_core.SPEC.query.replace("panel_articles", table)
        ),
    ]
    targets = {s.name: s.target for s in specs}
    now = [datetime(2026, 6, 30, 12, 0, tzinfo=UTC)]
    svc = bootstrap.build(settings, registry=Registry(specs), notifier=RecordingNotifier())
    svc.clock = lambda: now[0]
    app_services.override(svc, settings)
    first_test: dict[str, set[int]] = {}
    try:
        for i, month in enumerate(MONTHS):
            if i:  # the month that just ended: new rows, and some of last month's again
                previous = MONTHS[i - 1]
                new = _month_of_rows(previous, 100 + i, 1_000_000 * (i + 1))
                again = _read(pg, table).tail(REDELIVERED)
                _write(pg, table, pd.concat([new, again], ignore_index=True), "append")
                now[0] = datetime(previous.year, previous.month, 28, 3, 0, tzinfo=UTC)
                decay = Out()
                function("champion_decay")(TimerRequest(), decay)
                assert decay.value == []  # retrain_on_decay is off: nothing queued

            now[0] = datetime(month.year, month.month, 1, 3, 0, tzinfo=UTC)
            msgs = Out()
            function("monthly_retraining")(TimerRequest(), msgs)
            assert len(msgs.value) == len(specs)
            deliver(msgs.value)
            frame = _read(pg, table)

            for spec in specs:
                run_id = f"{month:%Y%m%d}T000000Z-{spec.name}-monthly"
                record = svc.runs.get(run_id)
                assert record.status == "succeeded", record.error
                assert record.version == i + 1
                card = svc.models.card(spec.name, record.version)
                assert card["data_window"]["since"] == f"{month.year - 3}-{month.month:02d}-01"
                rule = Rule.from_card(card)
                assert rule is not None and rule.by_key
                rows = _loaded(frame, card, targets[spec.name])
                in_test = rule.test_mask(rows)
                assert in_test.sum() == card["rows"]["test"]  # a row delivered twice counts twice
                test = _keys(rows, in_test)
                # a row keeps its part: last month's test rows still in the window are test
                kept = first_test.get(spec.name, set()) & set(rows["article_id"].astype(int))
                assert kept <= test
                first_test[spec.name] = test
                served, _ = http(
                    "get_version", route={"name": spec.name, "version": str(record.version)}
                )
                assert served.status == 200  # parsed by a parser that refuses NaN
                if not i:
                    continue

                champion = svc.models.card(spec.name, record.version - 1)
                champion_rows = _loaded(frame, champion, targets[spec.name])
                champion_rule = Rule.from_card(champion)
                trained = _keys(champion_rows, ~champion_rule.test_mask(champion_rows))
                comparison = card["gate"]["comparison"]
                assert comparison["caveat"] is None
                assert "recorded holdout rule" in comparison["basis"]
                # the rows compared: the candidate's test rows the champion never trained on
                assert not (test & trained)
                assert comparison["rows"] == card["rows"]["test"]
                assert record.summary["comparison"]["rows"] == comparison["rows"]
                assert card["gate"]["champion_version"] == record.version - 1

            if i:  # one decay point per champion per month, on the rows since it trained
                for spec in specs:
                    stored = points(svc, spec.name)
                    assert len(stored) == i
                    assert stored[-1]["rows"] >= NEW_ROWS * 0.95

        stats, _ = http("training_statistics", params={"days": "365"})
        overall = stats.json["overall"]
        assert overall["runs"] == len(MONTHS) * len(specs)
        assert overall["success_rate"] == 1.0
        slack = svc.notifier
        assert len(slack.decay_checks) == len(MONTHS) - 1
    finally:
        app_services.override(None)
        from azure.storage.blob import BlobServiceClient

        blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
        for container in (settings.artifact_container, settings.runs_container):
            with contextlib.suppress(Exception):  # never created
                blobs.delete_container(container)
