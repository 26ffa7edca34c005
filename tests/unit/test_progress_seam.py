"""The runner tells a Progress what it does; the fit reports XGBoost's rounds and leaves no
trace of the reporter in the artifact or the card."""

from __future__ import annotations

import time

from retrain.classifiers.estimators import xgboost_hist
from retrain.domain.specs import Registry
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.fakes import FakeSource, toy_frame, toy_spec


class RecordingProgress:
    def __init__(self) -> None:
        self.stages: list[str] = []
        self.row_counts: list[int] = []
        self.round_calls: list[tuple[int, int]] = []

    def stage(self, model: str, stage: str) -> None:
        self.stages.append(stage)

    def rows(self, model: str, count: int) -> None:
        self.row_counts.append(count)

    def rounds(self, model: str, done: int, total: int) -> None:
        self.round_calls.append((done, total))


def _run(svc, progress):
    svc.progress = progress
    started = start_runs(svc, [svc.registry.names()[0]], trigger="test")
    return execute_run(svc, started.runs[0].run_id)


def test_stages_rows_and_boosting_rounds_are_reported(svc):
    spec = toy_spec("BOOST", estimator=lambda: xgboost_hist(n_estimators=15, max_depth=2))
    svc.registry = Registry([spec])
    svc.source = FakeSource({"BOOST": toy_frame()})
    progress = RecordingProgress()
    record = _run(svc, progress)
    assert record.status == "succeeded", record.error
    assert progress.stages == ["load", "validate", "split", "fit", "evaluate", "publish", "promote"]
    assert progress.row_counts == [1000]
    done = [d for d, _ in progress.round_calls]
    assert done == list(range(1, len(done) + 1)) and 1 <= len(done) <= 15
    assert {total for _, total in progress.round_calls} == {15}
    card = svc.models.card("BOOST", record.version)
    assert card["estimator"]["params"]["callbacks"] is None
    pipeline, _ = svc.models.load("BOOST", record.version)  # trusted types only: no reporter
    assert pipeline.named_steps["classifier"].estimator.get_params()["callbacks"] is None


def test_an_estimator_without_rounds_reports_stages_only(svc):
    progress = RecordingProgress()
    record = _run(svc, progress)
    assert record.status == "succeeded"
    assert "fit" in progress.stages and progress.round_calls == []


class WaitsForTheStoredProgress(RecordingProgress):
    """At round 5, waits until the run record in storage says so (the heartbeat saves it):
    what GET /api/training/runs/{id} shows while the fit runs."""

    def __init__(self, svc) -> None:
        super().__init__()
        self.svc = svc
        self.seen: list[dict] = []

    def stage(self, model: str, stage: str) -> None:
        super().stage(model, stage)
        (run_id,) = self.svc.runs.ids_of(model)
        self.seen.append(self.svc.runs.get(run_id).progress)

    def rounds(self, model: str, done: int, total: int) -> None:
        super().rounds(model, done, total)
        if done != 5:
            return
        (run_id,) = self.svc.runs.ids_of(model)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            stored = self.svc.runs.get(run_id).progress
            if stored.get("rounds_done") == 5:
                self.seen.append(stored)
                return
            time.sleep(0.01)
        raise AssertionError(f"the stored record never showed round 5: {stored}")


def test_the_run_record_carries_stage_fraction_and_rounds_while_it_runs(svc):
    spec = toy_spec("BOOST", estimator=lambda: xgboost_hist(n_estimators=40, max_depth=2))
    svc.registry = Registry([spec])
    svc.source = FakeSource({"BOOST": toy_frame()})
    svc.heartbeat_s = 0.02
    progress = WaitsForTheStoredProgress(svc)
    record = _run(svc, progress)
    assert record.status == "succeeded", record.error
    by_stage = {p["stage"]: p for p in progress.seen if "rounds_done" not in p}
    assert by_stage["load"] == {"stage": "load", "fraction": 0.0}
    assert by_stage["fit"] == {"stage": "fit", "fraction": 0.25}
    assert by_stage["evaluate"] == {"stage": "evaluate", "fraction": 0.85}
    (in_fit,) = [p for p in progress.seen if "rounds_done" in p]
    assert in_fit == {
        "stage": "fit",
        "fraction": round(0.25 + 0.6 * 5 / 40, 4),
        "rounds_done": 5,
        "rounds_planned": 40,
    }
    fractions = [p["fraction"] for p in progress.seen]
    assert fractions == sorted(fractions)
    assert svc.runs.get(record.run_id).progress == {"stage": "done", "fraction": 1.0}
