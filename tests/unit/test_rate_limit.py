"""Starts per model and per caller within a window (issue 20.3): counted from the run
index, refused before anything is written, with the seconds until one more fits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from retrain.domain.errors import RateLimitedError
from retrain.domain.runs import RunStatus
from retrain.domain.specs import Registry
from retrain.service.rate_limit import StartLimits, caller_id
from retrain.service.start import start_runs
from tests.fakes import FakeSource, toy_frame, toy_spec

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def finish(svc, started):
    """Finish the started runs, so one-run-per-model (409) does not hide the limit."""
    for record in started.runs:
        record = svc.runs.get(record.run_id)
        record.status = RunStatus.SUCCEEDED
        svc.runs.save(record)
        svc.runs.release(record.model, record.run_id)


LIMITS = StartLimits(per_model=2, per_caller=3)


def start(svc, names, at, caller="key-a", limits=LIMITS):
    svc.clock = lambda: at
    return start_runs(svc, names, trigger="http", caller=caller, limits=limits, at=at)


def test_a_model_started_too_often_gets_no_run_and_the_seconds_until_one_fits(svc):
    for minute in (0, 10):
        finish(svc, start(svc, ["TOY"], T0 + timedelta(minutes=minute)))
    third = start(svc, ["TOY"], T0 + timedelta(minutes=20))
    assert third.runs == [] and len(third.limited) == 1
    refused = third.limited[0]
    assert refused.model == "TOY"
    assert refused.retry_after_s == 40 * 60  # the 09:00 start leaves the hour at 10:00
    assert "started 2 time(s) in the last hour (limit 2)" in str(refused)
    assert len(svc.runs.ids_of("TOY")) == 2  # nothing was written for the refused start
    later = start(svc, ["TOY"], T0 + timedelta(minutes=60, seconds=1))
    assert len(later.runs) == 1


def test_a_refused_409_start_does_not_count_against_the_model(svc):
    first = start(svc, ["TOY"], T0)  # stays queued: later starts are 409s
    for minute in (1, 2, 3):
        assert start(svc, ["TOY"], T0 + timedelta(minutes=minute)).conflicts
    finish(svc, first)
    assert len(start(svc, ["TOY"], T0 + timedelta(minutes=4)).runs) == 1


def test_a_caller_over_its_limit_is_refused_before_anything_is_written(svc):
    a, b, c = "AA", "BB", "CC"
    svc.registry = Registry([toy_spec(a), toy_spec(b), toy_spec(c)])
    svc.source = FakeSource({name: toy_frame() for name in (a, b, c)})
    limits = StartLimits(per_caller=2)
    finish(svc, start(svc, [a, b, c], T0, limits=limits))  # "all": one request
    assert start(svc, [a], T0 + timedelta(minutes=10), limits=limits).conflicts == []
    with pytest.raises(RateLimitedError) as refused:
        start(svc, [c], T0 + timedelta(minutes=30), limits=limits)
    assert refused.value.model is None and refused.value.retry_after_s == 30 * 60
    assert "this caller made 2 start request(s) in the last hour (limit 2)" in str(refused.value)
    assert len(svc.runs.ids_of(c)) == 1  # the refused request wrote nothing
    # another caller, and a start without limits (the timer, the CLI), are not affected
    assert len(start(svc, [c], T0 + timedelta(minutes=31), caller="key-b", limits=limits).runs)
    assert len(start(svc, [b], T0 + timedelta(minutes=32), limits=None).runs) == 1
    # a request whose every model was busy (409) counts nothing
    busy = start(svc, [b], T0 + timedelta(minutes=33), caller="key-c", limits=limits)
    assert busy.conflicts and svc.runs.ids_of_caller("key-c") == []
    after = start(svc, [c], T0 + timedelta(hours=1, seconds=1), limits=limits)
    assert after.conflicts  # c is still busy with key-b's run, but the caller may start again


def test_no_limits_and_no_caller_mean_no_check(svc):
    for minute in range(5):
        at = T0 + timedelta(minutes=minute)
        started = start(svc, ["TOY"], at, caller=None, limits=StartLimits(per_caller=1))
        assert len(started.runs) == 1
        finish(svc, started)
        unlimited = start(svc, ["TOY"], T0 + timedelta(minutes=minute, seconds=30), limits=None)
        assert len(unlimited.runs) == 1
        finish(svc, unlimited)


def test_the_caller_is_a_hash_of_the_key_never_the_key():
    key = "s3cr3t-function-key-value"
    named = caller_id(key)
    assert named and named.startswith("key-") and key not in named
    assert caller_id(key) == named and caller_id("another") != named
    assert caller_id(None, "ops@example.com").startswith("user-")
    assert caller_id(None, None) is None and caller_id("  ") is None
