"""The runner tells a Progress what it does; the fit reports XGBoost's rounds and leaves no
trace of the reporter in the artifact or the card."""

from __future__ import annotations

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
