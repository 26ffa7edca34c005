"""A batch names the models that got no run: one with a run still queued or running (a
monthly firing while last month's run hangs), one over its start limit, one whose start
failed. The batch's summary listed only the runs, so such a model vanished from it."""

from __future__ import annotations

from retrain.adapters.slack_messages import batch_message
from retrain.domain.specs import Registry
from retrain.service.notify import announce
from retrain.service.report import skipped_text
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.fakes import toy_frame, toy_spec


def test_a_model_with_a_run_still_active_is_named_in_the_batchs_summary(svc):
    svc.registry = Registry([toy_spec("ALPHA"), toy_spec("BETA")])
    svc.source.frames["BETA"] = toy_frame()
    hanging = start_runs(svc, ["ALPHA"], trigger="cli").runs[0]  # queued, never run
    started = start_runs(svc, ["ALPHA", "BETA"], trigger="timer", tag="monthly")
    assert [r.model for r in started.runs] == ["BETA"] and started.batch_id
    batch = svc.runs.batch(started.batch_id)
    assert batch["skipped"] == [
        {"model": "ALPHA", "reason": f"run {hanging.run_id} was queued or running"}
    ]
    done = announce(svc, execute_run(svc, started.runs[0].run_id))
    said = skipped_text(svc.runs.batch(started.batch_id))
    assert said == f"; not started: ALPHA (run {hanging.run_id} was queued or running)"
    payload = batch_message(started.batch_id, [done], final=True, skipped=said)
    assert payload["text"].endswith(said)
    assert any("not started: ALPHA" in str(block) for block in payload["blocks"])


def test_a_batch_without_skipped_models_says_nothing_more():
    assert skipped_text({"run_ids": ["r1"]}) == "" and skipped_text(None) == ""
