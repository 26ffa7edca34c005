"""The promotion gate with crafted data: better, worse, below the floor, dry run, rollback."""

from __future__ import annotations

import pytest

from retrain.domain.errors import BackendError, PromotionRefusedError
from retrain.domain.runs import Outcome, RunStatus
from retrain.domain.specs import Features, Registry
from retrain.service.promote import promote
from retrain.service.report import run_line
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from retrain.training.gate import Comparison, decide
from tests.fakes import toy_frame, toy_spec, tree


def train(svc, **kwargs):
    return execute_run(svc, start_runs(svc, ["TOY"], trigger="test", **kwargs).runs[0].run_id)


def stump():
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(max_depth=1, random_state=0)


def use_estimator(svc, estimator, **overrides):
    svc.registry = Registry([toy_spec(estimator=estimator, **overrides)])


def test_candidate_that_beats_the_champion_is_promoted(svc):
    use_estimator(svc, stump, metric_floor=0.5)  # a weak champion
    assert train(svc).outcome is Outcome.PROMOTED
    use_estimator(svc, tree, metric_floor=0.5)
    record = train(svc)
    assert record.outcome is Outcome.PROMOTED and record.version == 2
    assert record.summary["score"] > record.summary["champion_score"]
    assert svc.models.champion("TOY").version == 2


def test_candidate_worse_beyond_tolerance_is_stored_but_the_champion_stays(svc):
    use_estimator(svc, tree, metric_floor=0.5)
    train(svc)
    use_estimator(svc, stump, metric_floor=0.5)  # a change that made the model worse
    record = train(svc)
    assert record.outcome is Outcome.KEPT_CHAMPION
    assert svc.models.champion("TOY").version == 1
    card = svc.models.card("TOY", 2)
    assert card["status"] == "kept_champion"
    gate = card["gate"]
    assert gate["champion"] is not None and gate["candidate"] < gate["champion"] - 0.02
    assert gate["champion_version"] == 1


def test_candidate_below_the_floor_is_rejected(svc):
    svc.source.frames["TOY"] = toy_frame(noise=0.95)  # labels are nearly random
    record = train(svc)
    assert record.outcome is Outcome.REJECTED
    assert "below the floor" in record.summary["gate_reason"]
    assert "below the floor" in run_line(record)  # the console's notification says why
    assert svc.models.champion("TOY") is None
    assert svc.models.card("TOY", 1)["status"] == "rejected"


def test_champion_that_cannot_score_the_holdout_is_reported(svc):
    train(svc)
    svc.models.store.tamper("TOY/versions/1/model.skops")
    record = train(svc)
    assert record.outcome is Outcome.PROMOTED
    assert "could not score" in record.summary["gate_reason"]
    assert "champion v1 could not score" in run_line(record)


@pytest.mark.parametrize("final_attempt", [False, True])
def test_a_storage_error_reading_the_champion_fails_the_attempt_and_keeps_it(
    svc, monkeypatch, final_attempt
):
    """A timeout says nothing about the champion: the attempt fails (the queue retries it),
    and a worse candidate is not promoted because the champion could not be read."""
    use_estimator(svc, tree, metric_floor=0.5)
    train(svc)
    use_estimator(svc, stump, metric_floor=0.5)
    real_get = svc.models.store.get

    def flaky(key):
        if key.endswith("versions/1/model.skops"):
            raise BackendError(f"storage timed out reading {key}")
        return real_get(key)

    monkeypatch.setattr(svc.models.store, "get", flaky)
    run_id = start_runs(svc, ["TOY"], trigger="test").runs[0].run_id
    if final_attempt:
        record = execute_run(svc, run_id, final_attempt=True)
        assert record.status is RunStatus.FAILED and record.error["type"] == "BackendError"
    else:
        with pytest.raises(BackendError):
            execute_run(svc, run_id, final_attempt=False)
        assert svc.runs.get(run_id).status is RunStatus.QUEUED  # handed back for a retry
    assert svc.models.champion("TOY").version == 1
    assert svc.models.versions("TOY") == [1]


def test_a_champion_reads_its_own_columns_after_the_spec_dropped_one(svc):
    """The spec no longer reads ``size`` but the query still returns it: the champion is
    scored on its own columns, and a much worse candidate does not replace it."""
    both = Features(numeric=("size",), categorical=("colour",), boolean=("coated",))
    use_estimator(svc, tree, metric_floor=0.4, features=both)
    train(svc)
    fewer = Features(categorical=("colour",), boolean=("coated",))
    use_estimator(svc, tree, metric_floor=0.4, features=fewer)
    record = train(svc)
    assert record.outcome is Outcome.KEPT_CHAMPION, record.summary["gate_reason"]
    assert record.summary["champion_score"] > record.summary["score"] + 0.2
    assert svc.models.champion("TOY").version == 1


def test_a_champion_whose_column_is_gone_from_the_rows_is_replaced_and_the_reason_says_so(svc):
    use_estimator(svc, tree, metric_floor=0.4)
    train(svc)
    svc.source.frames["TOY"] = toy_frame().drop(columns=["size"])
    use_estimator(
        svc, tree, metric_floor=0.4, features=Features(categorical=("colour",), boolean=("coated",))
    )
    record = train(svc)
    assert record.outcome is Outcome.PROMOTED
    reason = record.summary["gate_reason"]
    assert "champion v1 could not score the holdout" in reason and "size" in reason


def test_shift_and_new_category_are_reported_against_the_champion(svc):
    train(svc)
    shifted = toy_frame(seed=3, colours=("red", "green", "blue", "violet"))
    shifted.loc[shifted.index[:500], "label"] = "large"
    svc.source.frames["TOY"] = shifted
    record = train(svc)
    rules = {f["rule"]: f for f in record.summary["findings"]}
    assert "violet" in rules["new_categories"]["message"]
    assert rules["label_shift"]["column"] == "label"
    assert svc.models.card("TOY", 2)["validation_findings"] == record.summary["findings"]


def test_dry_run_returns_the_profile_and_publishes_nothing(svc):
    record = train(svc, dry_run=True)
    assert record.outcome is Outcome.VALIDATED
    assert record.summary["profile"]["rows"] == 1000
    assert set(record.summary["profile"]["class_counts"]) == {"small", "medium", "large"}
    assert svc.models.versions("TOY") == []


def test_rollback_moves_the_alias_and_records_history(svc):
    train(svc)
    train(svc)
    assert svc.models.champion("TOY").version == 2
    promote(svc, "TOY", 1, reason="v2 misbehaves on line 3", actor="test:ops")
    assert svc.models.champion("TOY").version == 1
    last = svc.models.history("TOY")[-1]
    assert (last["previous_version"], last["version"]) == (2, 1)
    assert last["actor"] == "test:ops" and last["reason"] == "v2 misbehaves on line 3"


def test_rollback_to_a_tampered_version_is_refused(svc):
    train(svc)
    train(svc)
    svc.models.store.tamper("TOY/versions/1/model.skops")
    with pytest.raises(PromotionRefusedError, match="sha256"):
        promote(svc, "TOY", 1, reason="rollback", actor="test")
    assert svc.models.champion("TOY").version == 2


@pytest.mark.parametrize(
    ("candidate", "champion", "expected"),
    [
        (0.5, None, Outcome.REJECTED),
        (0.7, 0.9, Outcome.KEPT_CHAMPION),
        (0.89, 0.9, Outcome.PROMOTED),
        (0.95, 0.9, Outcome.PROMOTED),
    ],
)
def test_decision_rules(candidate, champion, expected):
    spec = toy_spec()
    compared = None
    if champion is not None:
        d = candidate - champion
        compared = Comparison(1000, candidate, champion, d - 0.01, d + 0.01, "its rule")
    assert decide(spec, candidate, compared, 1 if champion else None).outcome is expected


def test_a_model_with_an_active_run_gets_no_second_one(svc):
    first = start_runs(svc, ["TOY"], trigger="test")
    second = start_runs(svc, ["TOY"], trigger="test")
    assert second.runs == []
    assert second.conflicts[0].run_id == first.runs[0].run_id
    execute_run(svc, first.runs[0].run_id)
    assert start_runs(svc, ["TOY"], trigger="test").runs  # free again


def test_unknown_model_lists_the_known_ones(svc):
    svc.registry = Registry([toy_spec(), toy_spec("OTHER")])
    with pytest.raises(Exception, match="known models: OTHER, TOY"):
        start_runs(svc, ["NOPE"], trigger="test")
    assert svc.runs.list() == []


def test_an_abandoned_run_stops_blocking_its_model(svc):
    from datetime import timedelta

    stuck = start_runs(svc, ["TOY"], trigger="test").runs[0]  # its message never arrives
    svc.runs.stale_after = timedelta(0)
    fresh = start_runs(svc, ["TOY"], trigger="test")
    assert fresh.runs and not fresh.conflicts
    old = svc.runs.get(stuck.run_id)
    assert old.status == "failed" and old.error["type"] == "Abandoned"


def test_a_duplicate_start_with_the_same_ids_queues_nothing_new(svc):
    from datetime import UTC, datetime

    at = datetime(2026, 12, 1, tzinfo=UTC)
    first = start_runs(svc, ["TOY"], trigger="timer", at=at, tag="monthly")
    second = start_runs(svc, ["TOY"], trigger="timer", at=at, tag="monthly")
    assert [r.run_id for r in first.runs] == ["20261201T000000Z-TOY-monthly"]
    assert second.runs == [] and [r.run_id for r in second.existing] == [first.runs[0].run_id]
