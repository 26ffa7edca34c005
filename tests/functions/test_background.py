"""The monthly timer and the queue worker: once per month, retries, poison handling."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from azure.functions.timer import TimerRequest

from retrain.domain.errors import BackendError
from retrain.entrypoints import app_services
from tests.fakes import FakeSource
from tests.functions.conftest import Out, build_services, deliver, function


def fire_timer(past_due: bool = False) -> Out:
    msgs = Out()
    function("monthly_retraining").get_user_function()(TimerRequest(past_due=past_due), msgs)
    return msgs


def test_duplicate_timer_firing_trains_each_model_once_per_month(app):
    app.clock = lambda: datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    first = fire_timer()
    assert sorted(json.loads(m)["run_id"] for m in first.value) == [
        "20261201T000000Z-ARTFAM_ROH-monthly",
        "20261201T000000Z-KLASSE_CORE-monthly",
        "20261201T000000Z-KLASSE_ROH-monthly",
    ]
    again = fire_timer(past_due=True)  # the host fires again for the same occurrence
    assert again.value == []
    deliver(first.value)
    deliver(first.value)  # and the queue redelivers every message
    app.clock = lambda: datetime(2026, 12, 20, tzinfo=UTC)
    assert fire_timer().value == []
    for name in ("ARTFAM_ROH", "KLASSE_CORE", "KLASSE_ROH"):
        assert app.models.versions(name) == [1]
    assert len(app.notifier.runs) == 3
    assert (
        app.notifier.batches_started
        == app.notifier.batches_finished
        == ["20261201T000000Z-monthly"]
    )
    app.clock = lambda: datetime(2027, 1, 1, 3, 0, tzinfo=UTC)
    assert len(fire_timer().value) == 3  # a new month, new runs


def test_poison_message_fails_its_run_exactly_once(tmp_path):
    svc, settings = build_services(tmp_path)
    app_services.override(svc, settings)
    try:
        started = svc.runs
        from retrain.service.start import start_runs

        run_id = start_runs(svc, ["KLASSE_ROH"], trigger="http").runs[0].run_id
        source = FakeSource()
        source.fail_with = BackendError("training database did not answer")
        svc.source = source
        message = [json.dumps({"run_id": run_id})]
        for attempt in (1, 2):
            try:
                deliver(message, dequeue_count=attempt)
            except BackendError:
                pass
            else:
                raise AssertionError("a transient failure must propagate for the queue to retry")
            assert started.get(run_id).status == "running"
        deliver(message, dequeue_count=settings.max_attempts)
        record = started.get(run_id)
        assert record.status == "failed" and record.attempts == 3
        assert record.error["type"] == "BackendError"
        deliver(message, dequeue_count=settings.max_attempts + 1)  # nothing more happens
        assert [r.run_id for r in svc.notifier.runs] == [run_id]
        assert svc.runs.active("KLASSE_ROH") is None
    finally:
        app_services.override(None)


def test_malformed_and_unknown_messages_are_dropped(app):
    deliver(
        [
            "not json",
            json.dumps({"run": 1}),
            json.dumps({"run_id": 5}),
            json.dumps({"run_id": "20261201T000000Z-KLASSE_ROH-gone"}),
        ]
    )
    assert app.runs.list() == []
