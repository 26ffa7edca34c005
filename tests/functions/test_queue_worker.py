"""The queue worker: one run per message, retries, poison handling, bad messages."""

from __future__ import annotations

import json

import pytest

from retrain.domain.errors import BackendError
from retrain.service.start import start_runs
from tests.fakes import FakeSource
from tests.functions.conftest import deliver


class FlakySource(FakeSource):
    """The training database that times out on every attempt."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_with = BackendError("training database did not answer")


def queued(svc, model: str = "KLASSE_ROH") -> tuple[str, list[str]]:
    run_id = start_runs(svc, [model], trigger="http").runs[0].run_id
    return run_id, [json.dumps({"run_id": run_id})]


def test_a_transient_error_retries_then_fails_the_run_once_on_the_last_attempt(quick_app):
    run_id, message = queued(quick_app)
    quick_app.source = FlakySource()
    for attempt in (1, 2):
        with pytest.raises(BackendError):  # propagates: the host makes the message visible
            deliver(message, dequeue_count=attempt)
        record = quick_app.runs.get(run_id)
        assert (record.status, record.attempts) == ("queued", attempt)  # handed back
        assert quick_app.notifier.runs == []
    deliver(message, dequeue_count=3)  # host.json maxDequeueCount: acknowledged, no raise
    record = quick_app.runs.get(run_id)
    assert (record.status, record.attempts, record.stage) == ("failed", 3, "load")
    assert record.error["type"] == "BackendError"
    assert "did not answer" in record.error["message"]
    deliver(message, dequeue_count=4)  # a stray redelivery changes nothing
    assert [r.run_id for r in quick_app.notifier.runs] == [run_id]
    assert quick_app.runs.get(run_id).attempts == 3
    assert quick_app.runs.active("KLASSE_ROH") is None  # the model can be trained again


def test_a_message_the_host_gave_up_on_fails_its_run_once(quick_app):
    """Every attempt died (instance lost, functionTimeout): the host moved the message to
    the poison queue without a final attempt that could record why."""
    run_id, message = queued(quick_app)
    deliver(message, name="training_gave_up")
    deliver(message, name="training_gave_up")
    record = quick_app.runs.get(run_id)
    assert (record.status, record.outcome, record.error["type"]) == ("failed", "failed", "GaveUp")
    assert "poison queue" in record.error["message"]
    # nothing recorded why: it says so and where to look, without guessing a timeout
    assert "no attempt recorded an error" in record.error["message"]
    assert f"the function's log has it: run {run_id}" in record.error["message"]
    assert [r.run_id for r in quick_app.notifier.runs] == [run_id]
    assert quick_app.runs.active("KLASSE_ROH") is None


def test_a_poison_message_of_a_finished_run_changes_nothing(quick_app):
    run_id, message = queued(quick_app, "KLASSE_CORE")
    deliver(message)
    assert quick_app.runs.get(run_id).status == "succeeded"
    deliver(message, name="training_gave_up")
    assert quick_app.runs.get(run_id).status == "succeeded"
    assert len(quick_app.notifier.runs) == 1


@pytest.mark.parametrize("name", ["train_model", "training_gave_up"])
def test_malformed_and_unknown_messages_are_acknowledged_and_change_nothing(quick_app, name):
    deliver(
        [
            "not json",
            "[1]",
            json.dumps({"run": 1}),
            json.dumps({"run_id": 5}),
            json.dumps({"run_id": "../../etc/passwd"}),
            json.dumps({"run_id": "20261201T000000Z-KLASSE_ROH-gone"}),
        ],
        name=name,
    )
    assert quick_app.runs.list() == []
    assert quick_app.notifier.runs == []
