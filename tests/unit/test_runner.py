"""The runner end to end on fakes: versions, champion, failures, gate outcomes."""

from __future__ import annotations

import json

import pytest

from retrain.domain.errors import ArtifactIntegrityError, BackendError, NotFoundError
from retrain.domain.runs import Outcome, RunStatus
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.fakes import toy_frame


def train(svc, name="TOY", **kwargs):
    started = start_runs(svc, [name], trigger="test", **kwargs)
    assert started.runs, started.conflicts
    return execute_run(svc, started.runs[0].run_id)


def test_first_run_publishes_version_1_and_promotes_it(svc):
    record = train(svc)
    assert record.status is RunStatus.SUCCEEDED
    assert record.outcome is Outcome.PROMOTED
    assert record.version == 1
    assert svc.models.champion("TOY").version == 1
    card = svc.models.card("TOY", 1)
    assert card["run_id"] == record.run_id
    assert card["rows"]["train"] + card["rows"]["test"] == 1000
    assert set(card["metrics"]) >= {
        "accuracy",
        "balanced_accuracy",
        "macro_f1",
        "per_class",
        "confusion_matrix",
    }
    assert card["artifact"]["size_bytes"] > 0 and len(card["artifact"]["sha256"]) == 64
    assert card["data_fingerprint"]["rows_sha256"]
    assert card["feature_schema"]["categorical"] == ["colour"]
    assert "scikit-learn" in card["library_versions"]
    assert svc.runs.active("TOY") is None  # the active mark is released
    assert [r.run_id for r in svc.notifier.runs] == [record.run_id]


def test_second_run_adds_version_2_and_leaves_version_1_untouched(svc):
    train(svc)
    v1_objects = {k: v.data for k, v in svc.models.store.objects.items() if "/versions/1/" in k}
    record = train(svc)
    assert record.version == 2
    assert svc.models.versions("TOY") == [1, 2]
    assert {
        k: v.data for k, v in svc.models.store.objects.items() if "/versions/1/" in k
    } == v1_objects


def test_same_data_and_seed_give_the_same_metrics(svc):
    first, second = train(svc), train(svc)
    card1, card2 = svc.models.card("TOY", 1), svc.models.card("TOY", 2)
    assert card1["metrics"] == card2["metrics"]
    assert first.summary["score"] == second.summary["score"]


def test_failed_run_leaves_the_champion_alone(svc):
    train(svc)
    before = svc.models.store.get("TOY/champion.json")
    svc.source.frames["TOY"] = toy_frame(rows=50)  # too few rows
    record = train(svc)
    assert record.status is RunStatus.FAILED
    assert record.stage == "validate"
    assert "at least 200" in record.error["message"]
    assert svc.models.store.get("TOY/champion.json") == before
    assert svc.models.versions("TOY") == [1]
    assert svc.runs.active("TOY") is None


def test_a_redelivered_finished_run_trains_nothing(svc):
    record = train(svc)
    again = execute_run(svc, record.run_id)
    assert again.to_dict() == svc.runs.get(record.run_id).to_dict()
    assert svc.models.versions("TOY") == [1]
    assert len(svc.notifier.runs) == 1


def test_transient_error_is_retried_until_the_final_attempt(svc):
    started = start_runs(svc, ["TOY"], trigger="test")
    run_id = started.runs[0].run_id
    svc.source.fail_with = BackendError("database restarting")
    with pytest.raises(BackendError):
        execute_run(svc, run_id, final_attempt=False)
    handed_back = svc.runs.get(run_id)  # free for the queue's next delivery, error kept
    assert handed_back.status is RunStatus.QUEUED and handed_back.error["type"] == "BackendError"
    assert svc.notifier.runs == []
    final = execute_run(svc, run_id, final_attempt=True)
    assert final.status is RunStatus.FAILED and final.attempts == 2
    assert final.error == {
        "stage": "load",
        "type": "BackendError",
        "message": "database restarting",
    }
    assert [r.run_id for r in svc.notifier.runs] == [run_id]  # reported once


def test_notifier_failure_does_not_fail_the_run(svc):
    svc.notifier.fail = True
    record = train(svc)
    assert record.status is RunStatus.SUCCEEDED and record.notified
    assert svc.models.champion("TOY").version == 1


def test_corrupted_artifact_is_refused(svc):
    train(svc)
    svc.models.store.tamper("TOY/versions/1/model.skops")
    with pytest.raises(ArtifactIntegrityError, match="sha256"):
        svc.models.load("TOY")


def test_load_model_returns_a_pipeline_with_original_labels(svc):
    train(svc)
    pipeline, card = svc.models.load("TOY")
    frame = toy_frame(rows=20, seed=5)
    predictions = pipeline.predict(frame[["size", "colour", "coated"]])
    assert set(predictions) <= {"small", "medium", "large"}
    assert list(pipeline.classes_) == card["classes"]
    assert pipeline.predict_proba(frame[["size", "colour", "coated"]]).shape == (20, 3)


def test_no_champion_yet_is_a_clear_error(svc):
    with pytest.raises(NotFoundError, match="no champion"):
        svc.models.load("TOY")


def test_run_record_round_trips_through_json(svc):
    record = train(svc)
    stored = json.loads(svc.runs.store.get(f"{record.run_id}.json").data)
    assert stored["status"] == "succeeded" and stored["version"] == 1
    assert stored["timings"].keys() >= {"load", "validate", "fit", "evaluate", "publish"}


def test_max_rows_keeps_a_sample_and_says_so_in_the_card(svc):
    svc.max_rows = 600
    record = train(svc)
    card = svc.models.card("TOY", record.version)
    assert card["rows"]["loaded"] == 600
    assert card["validation_findings"][0]["rule"] == "max_rows"


def test_a_publish_cut_between_card_and_artifact_is_completed_by_the_retry(svc):
    """Storage fails right after the card claimed the version: the retry of the same run
    completes that version instead of leaving a card without an artifact for good."""
    store = svc.models.store
    create = store.create
    cut: list[str] = []

    def failing_create(key, data):
        if key.endswith("/model.skops") and not cut:
            cut.append(key)
            raise BackendError("storage went away")
        return create(key, data)

    store.create = failing_create
    run_id = start_runs(svc, ["TOY"], trigger="test").runs[0].run_id
    with pytest.raises(BackendError):
        execute_run(svc, run_id, final_attempt=False)
    assert cut == ["TOY/versions/1/model.skops"]
    assert store.get("TOY/versions/1/card.json") is not None  # the half-publish
    assert svc.models.versions("TOY") == []  # not a version: no artifact

    retried = execute_run(svc, run_id, final_attempt=True)
    assert retried.status is RunStatus.SUCCEEDED and retried.version == 1
    assert svc.models.versions("TOY") == [1]
    assert svc.models.card("TOY", 1)["run_id"] == run_id
    assert not [k for k in store.list("TOY/versions/") if k.startswith("TOY/versions/2/")]
    svc.models.load("TOY", 1)  # card, artifact and identity agree

    other = train(svc)  # another run never takes over a complete version
    assert other.version == 2 and svc.models.versions("TOY") == [1, 2]
