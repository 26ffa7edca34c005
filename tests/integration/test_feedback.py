"""Corrections on real PostgreSQL (the SELECT-only role) and Azurite (issue 27): a mixed
batch, a resend, an unknown class and a row that no longer exists through the HTTP function;
concurrent posts; and the next version trained with the corrections."""

from __future__ import annotations

import dataclasses
import gzip
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from retrain import bootstrap
from retrain.config import Settings
from retrain.domain.specs import Registry
from retrain.entrypoints import feedback_api
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.fakes import RecordingNotifier
from tests.functions.conftest import http, quick_registry, use  # noqa: F401 (fixture)

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # the rows end on 2026-11-01


@pytest.fixture
def world(pg, azurite, tmp_path, use, monkeypatch):  # noqa: F811
    """The app on PostgreSQL and fresh Azurite containers; KLASSE_CORE overrides labels."""
    monkeypatch.setattr(feedback_api, "RATE", feedback_api.CallerRate())
    name = f"f{uuid.uuid4().hex[:12]}"
    settings = Settings.from_environ(
        {
            "TRAINING_DB_URL": pg.reader_url,
            "ARTIFACT_CONNECTION_STRING": azurite.connection_string,
            "ARTIFACT_CONTAINER": name,
            "RUNS_CONTAINER": name + "r",
            "RETRAIN_HOME": str(tmp_path),
            "LOG_LEVEL": "WARNING",
        }
    )
    registry = Registry(
        [
            dataclasses.replace(s, corrections="override") if s.name == "KLASSE_CORE" else s
            for s in quick_registry()
        ]
    )
    svc = dataclasses.replace(
        bootstrap.build(settings, registry=registry, notifier=RecordingNotifier()),
        clock=lambda: NOW,
    )
    use(svc, settings)
    return svc


def correction(key, true_label, **extra):
    return {
        "key": key,
        "predicted": "STANDARD",
        "true_label": true_label,
        "who": "planner.anna",
        "when": "2026-11-20T08:15:00Z",
        **extra,
    }


def post(body, model="KLASSE_CORE"):
    response, _ = http(
        "post_feedback", "POST", f"models/{model}/feedback", body, route={"name": model}
    )
    return response


def train(svc, model="KLASSE_CORE"):
    record = execute_run(svc, start_runs(svc, [model], trigger="test").runs[0].run_id)
    assert record.status == "succeeded", record.error
    return record


def stored_batches(svc):
    return {k: svc.models.store.get(k).data for k in svc.models.store.list("feedback/")}


def test_a_batch_is_stored_once_and_the_next_version_trains_with_it(world):
    train(world)  # v1: the champion whose classes flag an unknown one
    records = [correction(n, "CORE_NEW") for n in range(1, 31)]  # a class no row has
    records += [
        correction(31, "FINE"),
        correction(32, "FINE", who=""),  # refused: no one says so
        correction(40_000, "FINE"),  # an article the table does not hold (deleted)
        correction(33, "DENSE", features={"thickness_mm": "thick"}),  # refused: not a number
    ]
    first = post({"batch_id": "plant-2-week-47", "records": records})
    assert first.status == 201, first.text
    assert (first.json["accepted"], first.json["unknown_class"]) == (32, 30)
    assert [r["index"] for r in first.json["refused"]] == [31, 33]
    again = post({"batch_id": "plant-2-week-47", "records": records})
    assert (again.status, again.json) == (201, first.json)
    (key, data), *others = stored_batches(world).items()
    assert not others and key == "feedback/KLASSE_CORE/2026/11/plant-2-week-47.jsonl.gz"
    lines = [json.loads(line) for line in gzip.decompress(data).decode().splitlines()]
    assert len(lines) == 1 + 32 and lines[0]["refused"] == first.json["refused"]

    train(world)  # v2 fits with the corrected labels
    card = world.models.card("KLASSE_CORE", 2)
    assert "CORE_NEW" in card["classes"] and card["class_distribution"]["CORE_NEW"] == 30
    used = card["corrections"]
    assert (used["mode"], used["received"], used["used"], used["unmatched"]) == (
        "override",
        32,
        31,
        1,
    )
    assert (used["refused"], used["unknown_class"]) == (2, 30)
    assert world.models.card("KLASSE_CORE", 1)["corrections"]["received"] == 0


def test_concurrent_posts_store_each_batch_once(world):
    same = {"batch_id": "same", "records": [correction(5, "FINE")]}
    clash = [
        {"batch_id": "clash", "records": [correction(6, label)]} for label in ("FINE", "DENSE")
    ]
    bodies = (
        [same] * 4
        + clash
        + [{"batch_id": f"own-{n}", "records": [correction(n, "FINE")]} for n in range(4)]
    )
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, bodies))
    assert all(a.status == 201 for a in answers[:4]), [a.text for a in answers[:4]]
    assert len({json.dumps(a.json, sort_keys=True) for a in answers[:4]}) == 1
    assert sorted(a.status for a in answers[4:6]) == [201, 409]
    assert all(a.status == 201 for a in answers[6:])
    keys = sorted(k.rsplit("/", 1)[1] for k in stored_batches(world))
    assert keys == sorted(
        ["same.jsonl.gz", "clash.jsonl.gz", *(f"own-{n}.jsonl.gz" for n in range(4))]
    )
