"""The monthly timer: every classifier once per calendar month, whatever the host fires."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from azure.functions.timer import TimerRequest

from retrain.entrypoints.timer import month_start
from tests.functions.conftest import Out, deliver, function

MODELS = ["ARTFAM_ROH", "KLASSE_CORE", "KLASSE_ROH"]


def fire(past_due: bool = False) -> list[str]:
    msgs = Out()
    function("monthly_retraining")(TimerRequest(past_due=past_due), msgs)
    return msgs.value


def run_ids(messages: list[str]) -> list[str]:
    return sorted(json.loads(m)["run_id"] for m in messages)


def test_month_start_is_the_first_instant_of_the_utc_month():
    late_evening_in_utc_minus_5 = datetime.fromisoformat("2026-11-30T22:00:00-05:00")
    assert month_start(late_evening_in_utc_minus_5) == datetime(2026, 12, 1, tzinfo=UTC)


def test_duplicate_and_past_due_firings_train_each_model_once_per_month(quick_app):
    quick_app.clock = lambda: datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    first = fire()
    assert run_ids(first) == [f"20261201T000000Z-{m}-monthly" for m in MODELS]
    assert fire(past_due=True) == []  # the host fires again for the same occurrence
    deliver(first)
    deliver(first)  # and the queue redelivers every message
    quick_app.clock = lambda: datetime(2026, 12, 20, tzinfo=UTC)
    assert fire() == []  # a schedule that fires more often still trains once a month
    for name in MODELS:
        assert quick_app.models.versions(name) == [1]
        (record,) = quick_app.runs.list(model=name)
        assert (record.trigger, record.status, record.attempts) == ("timer", "succeeded", 1)
    assert sorted(r.model for r in quick_app.notifier.runs) == MODELS
    assert (
        quick_app.notifier.batches_started
        == quick_app.notifier.batches_finished
        == ["20261201T000000Z-monthly"]
    )
    quick_app.clock = lambda: datetime(2027, 1, 1, 3, 0, tzinfo=UTC)
    assert run_ids(fire()) == [f"20270101T000000Z-{m}-monthly" for m in MODELS]


def test_a_model_busy_with_an_http_run_is_skipped_for_the_month(quick_app):
    from tests.functions.conftest import http

    busy, _ = http("start_training", "POST", "training", {"models": ["KLASSE_ROH"]})
    assert busy.status == 202
    quick_app.clock = lambda: datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    queued = run_ids(fire())
    assert queued == [
        "20261201T000000Z-ARTFAM_ROH-monthly",
        "20261201T000000Z-KLASSE_CORE-monthly",
    ]
    assert quick_app.runs.active("KLASSE_ROH") == busy.json["runs"][0]["run_id"]


def test_day_start_is_the_first_instant_of_the_utc_day():
    from retrain.entrypoints.timer import day_start

    late_evening_in_utc_minus_5 = datetime.fromisoformat("2026-11-27T22:00:00-05:00")
    assert day_start(late_evening_in_utc_minus_5) == datetime(2026, 11, 28, tzinfo=UTC)


def test_the_decay_timer_raises_for_a_retry_when_every_check_fails(quick_app):
    """Every champion alias unreadable: nothing was checked, so the retry policy fires
    again; the failed checks are stored under keys of their own, so the retry checks them
    again instead of finding them done."""
    import pytest

    from retrain.domain.errors import BackendError

    store = quick_app.models.store
    for name in MODELS:
        store.create(f"{name}/champion.json", b"{not json")
    for _ in range(2):
        with pytest.raises(BackendError, match="champion decay: every check failed"):
            function("champion_decay")(TimerRequest(), Out())
    for name in MODELS:
        keys = store.list(f"{name}/decay/")
        assert len(keys) == 2 and all("-error-" in k for k in keys)
    assert [len(c) for c in quick_app.notifier.decay_checks] == [3, 3]
