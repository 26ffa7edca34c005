"""Promise 2 on fakes: a run trains at most once, publishes at most one version and is
announced once, whatever the deliveries do; each attempt is claimed on the run record."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from retrain.domain.errors import BackendError
from retrain.domain.runs import Outcome, RunStatus
from retrain.service.runner import execute_run, give_up
from retrain.service.start import start_runs
from tests.fakes import FakeSource, toy_spec


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Crash(BaseException):
    """A worker that dies: not an Exception, so no handler in the runner sees it."""


class Gate(FakeSource):
    """A training database whose load waits for ``release`` (or dies with ``crash``)."""

    def __init__(self, frames) -> None:
        super().__init__(frames)
        self.entered = threading.Event()
        self.release = threading.Event()
        self.crash = False
        self.fits = 0

    def load(self, spec, since, max_rows=None, on_chunk=None):
        self.fits += 1
        self.entered.set()
        if self.crash:
            raise Crash
        assert self.release.wait(30)
        return super().load(spec, since, max_rows)


@pytest.fixture
def clock(svc) -> Clock:
    clock = Clock()
    svc.clock = clock
    svc.heartbeat_s = 0  # heartbeats are driven by the test's clock, not a thread
    svc.lease_s = 120
    return clock


def slow(svc) -> Gate:
    svc.registry.register(toy_spec("SLOW"))
    svc.source = Gate({"SLOW": svc.source.frames["TOY"], "TOY": svc.source.frames["TOY"]})
    return svc.source


def queued(svc) -> str:
    return start_runs(svc, ["TOY"], trigger="test").runs[0].run_id


def versions_of(svc, run_id: str) -> list[int]:
    return [v for v in svc.models.versions("TOY") if svc.models.card("TOY", v)["run_id"] == run_id]


def test_concurrent_duplicate_deliveries_train_once(svc, clock):
    run_id = queued(svc)
    barrier = threading.Barrier(6)
    results = []

    def deliver() -> None:
        barrier.wait()
        results.append(execute_run(svc, run_id))

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    record = svc.runs.get(run_id)
    assert record.status is RunStatus.SUCCEEDED and record.attempts == 1
    assert versions_of(svc, run_id) == [1]
    assert [r.run_id for r in svc.notifier.runs] == [run_id]


def test_a_duplicate_while_the_run_trains_does_nothing(svc, clock):
    gate = slow(svc)
    run_id = start_runs(svc, ["SLOW"], trigger="test").runs[0].run_id
    first = threading.Thread(target=execute_run, args=(svc, run_id))
    first.start()
    assert gate.entered.wait(30)
    duplicate = execute_run(svc, run_id)  # the live attempt holds it: acknowledged, untouched
    assert duplicate.status is RunStatus.RUNNING and duplicate.attempts == 1
    gate.release.set()
    first.join()
    assert gate.fits == 1 and svc.runs.get(run_id).status is RunStatus.SUCCEEDED


def test_an_attempt_that_died_is_taken_over_once_its_lease_runs_out(svc, clock):
    gate = slow(svc)
    gate.crash = True
    run_id = start_runs(svc, ["SLOW"], trigger="test").runs[0].run_id
    with pytest.raises(Crash):
        execute_run(svc, run_id)
    assert svc.runs.get(run_id).status is RunStatus.RUNNING  # the dead worker's last word
    clock.advance(60)
    assert execute_run(svc, run_id).attempts == 1  # still within its lease: left alone
    clock.advance(61)
    gate.crash = False
    gate.release.set()
    record = execute_run(svc, run_id)
    assert record.status is RunStatus.SUCCEEDED and record.attempts == 2
    assert len(svc.models.versions("SLOW")) == 1


def test_a_superseded_attempt_stops_without_publishing(svc, clock):
    gate = slow(svc)
    run_id = start_runs(svc, ["SLOW"], trigger="test").runs[0].run_id
    stalled: list = []
    first = threading.Thread(target=lambda: stalled.append(execute_run(svc, run_id)))
    first.start()
    assert gate.entered.wait(30)
    clock.advance(500)  # its heartbeat is long overdue: another delivery takes over
    gate.entered.clear()
    taken: list = []
    taker = threading.Thread(target=lambda: taken.append(execute_run(svc, run_id)))
    taker.start()
    assert gate.entered.wait(30)  # the second delivery holds the run (it claims, then loads)
    gate.release.set()  # ...and the stalled one wakes up at the same time
    taker.join()
    first.join()
    (second,) = taken
    final = svc.runs.get(run_id)
    assert final.status is RunStatus.SUCCEEDED and final.attempts == 2
    assert second.version == final.version
    assert len(svc.models.versions("SLOW")) == 1  # the superseded attempt published nothing
    assert [r.run_id for r in svc.notifier.runs] == [run_id]


def test_a_version_published_before_the_worker_died_is_adopted_not_trained_again(svc, clock):
    run_id = queued(svc)
    original = svc.runs.save

    def die_after_publish(record):
        if record.stage == "promote":
            raise Crash
        return original(record)

    svc.runs.save = die_after_publish
    with pytest.raises(Crash):
        execute_run(svc, run_id)
    svc.runs.save = original
    assert svc.models.versions("TOY") == [1] and svc.models.champion("TOY") is None
    clock.advance(200)
    record = execute_run(svc, run_id)
    assert record.status is RunStatus.SUCCEEDED and record.attempts == 2
    assert record.version == 1 and record.outcome is Outcome.PROMOTED
    assert svc.models.versions("TOY") == [1]  # adopted, not published again
    assert svc.models.champion("TOY").version == 1
    assert len(svc.models.history("TOY")) == 1


def test_a_finished_run_whose_announcement_was_lost_is_announced_once(svc, clock):
    run_id = queued(svc)
    svc.notifier.fail = False
    original = svc.runs.save

    def lose_announcement(record):
        if record.notified:
            raise Crash
        return original(record)

    svc.runs.save = lose_announcement
    with pytest.raises(Crash):
        execute_run(svc, run_id)
    svc.runs.save = original
    assert svc.runs.get(run_id).status is RunStatus.SUCCEEDED and svc.notifier.runs == []
    execute_run(svc, run_id)
    execute_run(svc, run_id)
    assert [r.run_id for r in svc.notifier.runs] == [run_id]


def test_the_poison_handler_reports_the_last_real_error(svc, clock):
    run_id = queued(svc)
    svc.source.fail_with = BackendError("training database did not answer")
    for _ in range(2):
        with pytest.raises(BackendError):
            execute_run(svc, run_id, final_attempt=False)
    record = give_up(svc, run_id, "no attempt of 3 completed")
    assert record.status is RunStatus.FAILED and record.error["type"] == "GaveUp"
    assert (
        "last error in load: BackendError: training database did not answer"
        in (record.error["message"])
    )
    assert svc.runs.active("TOY") is None


def test_overlapping_starts_of_the_same_runs_queue_each_once(svc, clock):
    svc.registry.register(toy_spec("OTHER"))
    barrier = threading.Barrier(4)
    results = []

    def fire() -> None:
        barrier.wait()
        results.append(
            start_runs(svc, ["TOY", "OTHER"], trigger="timer", at=clock.now, tag="monthly")
        )

    threads = [threading.Thread(target=fire) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    messages = [r.run_id for started in results for r in started.runs]
    assert sorted(messages) == sorted(set(messages)) and len(messages) == 2
    stored = {r.run_id for r in svc.runs.list()}
    assert stored == set(messages)  # nothing queued without its message
    batch = svc.runs.batch(results[0].batch_id)
    assert sorted(batch["run_ids"]) == sorted(messages)


class LandsThenFails:
    """A store whose run-record writes land but answer with an error ``failures`` times."""

    def __init__(self, store, failures: int) -> None:
        self.store, self.failures = store, failures

    def __getattr__(self, name):
        return getattr(self.store, name)

    def create(self, key, data):
        etag = self.store.create(key, data)  # the same bytes again count as ours
        if key.endswith(".json") and "/" not in key and self.failures > 0:
            self.failures -= 1
            raise BackendError(f"blob storage create failed on {key}: HTTP 500")
        return etag


@pytest.mark.parametrize("failures", [1, 2, 3, 9])
def test_a_start_whose_record_landed_unanswered_queues_it_once_or_leaves_nothing(
    svc, clock, failures
):
    svc.runs.store = LandsThenFails(svc.runs.store, failures)
    started = start_runs(svc, ["TOY"], trigger="http")
    stored = [r.run_id for r in svc.runs.list()]
    if failures < 3:  # asked again: the record is ours, one message
        assert [r.run_id for r in started.runs] == stored and len(stored) == 1
    else:  # storage kept failing: reported, and the record that landed is removed
        assert started.runs == [] and [m for m, _ in started.failed] == ["TOY"], started
        assert stored == []
        assert svc.runs.active("TOY") is None


class ClaimLandsThenFails(LandsThenFails):
    """The announcement's claim reaches storage, but its answer is lost."""

    def replace(self, key, data, etag):
        new_etag = self.store.replace(key, data, etag)
        if b'"notified": true' in data and self.failures > 0:
            self.failures -= 1
            raise BackendError(f"blob storage replace failed on {key}: timeout")
        return new_etag


def test_an_announcement_whose_claim_landed_unanswered_is_posted_once(svc, clock):
    run_id = queued(svc)
    svc.runs.store = ClaimLandsThenFails(svc.runs.store, failures=1)
    execute_run(svc, run_id)
    execute_run(svc, run_id)  # a redelivery finds the run announced
    assert [r.run_id for r in svc.notifier.runs] == [run_id]


class ClaimNeverLands(LandsThenFails):
    """Storage refuses every write of the announcement's claim; reads work."""

    def replace(self, key, data, etag):
        if b'"notified": true' in data:
            raise BackendError(f"blob storage replace failed on {key}: HTTP 503")
        return self.store.replace(key, data, etag)


def test_an_announcement_storage_keeps_refusing_is_retried_not_dropped(svc, clock):
    run_id = queued(svc)
    store = svc.runs.store
    svc.runs.store = ClaimNeverLands(store, failures=0)
    with pytest.raises(BackendError):
        execute_run(svc, run_id)  # the queue delivers it again
    assert svc.notifier.runs == []
    svc.runs.store = store
    execute_run(svc, run_id)
    assert [r.run_id for r in svc.notifier.runs] == [run_id]
