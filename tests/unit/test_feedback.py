"""Corrections (issue 27) on fakes: records checked against the spec, batches stored once and
create-only, resends, and runs that train with them (override, append, ignore)."""

from __future__ import annotations

import dataclasses
import gzip
import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from retrain.domain import feedback as records
from retrain.domain.errors import ConfigError
from retrain.domain.feedback import BatchConflictError, FeedbackError
from retrain.domain.runs import RunStatus
from retrain.domain.specs import Registry
from retrain.entrypoints.cli.card_view import card_text
from retrain.entrypoints.cli.diff_view import diff_text
from retrain.service import feedback
from retrain.service.compare import compare
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.fakes import toy_frame, toy_spec

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def keyed(svc, corrections="override", **overrides):
    """TOY with a row key (``row_id`` r0..r999) and ``corrections`` set."""
    spec = toy_spec(key_column="row_id", corrections=corrections, **overrides)
    frame = toy_frame()
    frame["row_id"] = [f"r{i}" for i in range(len(frame))]
    svc.registry = Registry([spec])
    svc.source.frames["TOY"] = frame
    return spec, frame


def record(key="r1", true_label="large", **extra):
    return {
        "key": key,
        "predicted": "small",
        "true_label": true_label,
        "who": "planner.anna",
        "when": "2026-11-20T08:15:00Z",
        **extra,
    }


def train(svc):
    started = start_runs(svc, ["TOY"], trigger="test")
    return execute_run(svc, started.runs[0].run_id)


def feedback_keys(svc):
    return [k for k in svc.models.store.objects if k.startswith("feedback/")]


# records ------------------------------------------------------------------------------


def test_a_record_is_parsed_against_the_spec_and_an_unknown_class_is_flagged():
    spec = toy_spec(key_column="row_id")
    classes = frozenset({"small", "medium", "large"})
    good, errors = records.check(record(), spec, classes, NOW)
    assert errors == [] and good is not None
    assert (good.key, good.true_label, good.unknown_class) == ("r1", "large", False)
    new, _ = records.check(record(true_label="huge"), spec, classes, NOW)
    assert new is not None and new.unknown_class is True
    # feature values as a CSV file has them: text for numbers and booleans
    csv_like = {**record(key=None), "features": {"size": "7.5", "colour": "red", "coated": "t"}}
    parsed, errors = records.check(csv_like, spec, classes, NOW)
    assert errors == [] and parsed is not None
    assert parsed.features == {"size": 7.5, "colour": "red", "coated": True}
    assert parsed.when == "2026-11-20T08:15:00Z"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({**record(), "who": " "}, "who is required"),
        ({**record(), "when": "2026-11-20T08:15:00"}, "needs a time zone"),
        ({**record(), "when": "2026-12-24T08:15:00Z"}, "in the future"),
        ({**record(), "features": {"weight": 3}}, "not weight"),
        ({**record(key=None), "features": {"size": "heavy"}}, "feature 'size'"),
        ({**record(key=None), "features": {"size": float("nan")}}, "finite"),
        ({**record(key=None), "features": {"size": 10**400}}, "finite"),  # was a 500
        ({**record(key=None), "features": {"coated": "maybe"}}, "true/false/0/1"),
        ({**record(), "true_label": None}, "true_label is required"),
        ({**record(), "extra": 1}, "unknown field(s) extra"),
        (record(key=None), "name the row"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_a_bad_record_says_what_is_wrong(raw, says):
    found, errors = records.check(raw, toy_spec(key_column="row_id"), None, NOW)
    assert found is None
    assert any(says in e for e in errors), errors


@pytest.mark.parametrize("label", ["x" * 400, "two\nlines"])
def test_a_class_the_model_has_is_a_label_whatever_its_length_or_characters(label):
    """Training takes any label; a correction of such a class was refused (422)."""
    spec = toy_spec(key_column="row_id")
    ok, errors = records.check(record(true_label=label), spec, frozenset({label, "small"}), NOW)
    assert errors == [] and ok is not None and ok.true_label == label
    refused, errors = records.check(record(true_label=label), spec, frozenset({"small"}), NOW)
    assert refused is None and any("printable characters" in e for e in errors)


def test_a_key_for_a_model_without_key_column_is_refused():
    found, errors = records.check(record(), toy_spec(), None, NOW)
    assert found is None and "has no key_column" in errors[0]


def test_a_spec_with_override_needs_a_key_column():
    with pytest.raises(ValueError, match="needs a key_column"):
        toy_spec(corrections="override")
    with pytest.raises(ValueError, match="corrections must be"):
        toy_spec(corrections="replace")


# receiving and storing ----------------------------------------------------------------


def test_mixed_batch_keeps_the_good_records_and_names_the_bad(svc):
    keyed(svc)
    batch = [record("r1"), {**record("r2"), "who": ""}, record("r3", "huge")]
    answer = feedback.receive(svc, "TOY", "b-1", batch)
    assert answer["accepted"] == 2 and answer["unknown_class"] == 0  # no champion: no classes
    assert [r["index"] for r in answer["refused"]] == [1]
    assert "who is required" in answer["refused"][0]["errors"][0]
    assert answer["key"] == "feedback/TOY/2026/11/b-1.jsonl.gz" == feedback_keys(svc)[0]
    lines = gzip.decompress(svc.models.store.objects[answer["key"]].data).decode().splitlines()
    header, *stored = (json.loads(line) for line in lines)
    assert header["batch_id"] == "b-1" and header["refused"] == answer["refused"]
    assert [s["key"] for s in stored] == ["r1", "r3"]


def test_unknown_class_is_kept_and_flagged_against_the_champions_classes(svc):
    keyed(svc)
    assert train(svc).version == 1
    answer = feedback.receive(svc, "TOY", "b-2", [record("r1"), record("r2", "huge")])
    assert (answer["accepted"], answer["unknown_class"], answer["classes_from"]) == (2, 1, 1)


def test_a_resent_batch_answers_as_the_first_time_and_stores_nothing_more(svc):
    keyed(svc)
    batch = [record("r1"), {**record("r2"), "when": "yesterday"}]
    first = feedback.receive(svc, "TOY", "b-3", batch)
    stored = dict(svc.models.store.objects)
    svc.clock = lambda: datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # an hour later
    assert feedback.receive(svc, "TOY", "b-3", list(reversed(batch))[::-1]) == first
    assert svc.models.store.objects == stored
    with pytest.raises(BatchConflictError, match="a resend must repeat the same records"):
        feedback.receive(svc, "TOY", "b-3", [record("r1", "medium")])


def test_a_resend_in_the_next_month_is_still_the_same_batch(svc):
    keyed(svc)
    svc.clock = lambda: datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
    first = feedback.receive(svc, "TOY", "b-4", [record()])
    svc.clock = lambda: datetime(2026, 12, 1, 0, 1, tzinfo=UTC)
    assert feedback.receive(svc, "TOY", "b-4", [record()]) == first
    assert feedback_keys(svc) == ["feedback/TOY/2026/11/b-4.jsonl.gz"]


def test_a_batch_refused_as_a_whole_stores_nothing(svc):
    keyed(svc)
    with pytest.raises(FeedbackError) as refused:
        feedback.receive(svc, "TOY", "b-5", [{**record(), "who": ""}])
    assert refused.value.code == "no_valid_records" and refused.value.refused[0]["index"] == 0
    with pytest.raises(FeedbackError, match="the limit is 2") as large:
        feedback.receive(svc, "TOY", "b-6", [record()] * 3, max_records=2)
    assert large.value.code == "batch_too_large"
    with pytest.raises(FeedbackError, match="batch_id must be"):
        feedback.receive(svc, "TOY", "../x", [record()])
    dry = feedback.receive(svc, "TOY", "b-7", [record()], dry_run=True)
    assert dry["dry_run"] is True and dry["accepted"] == 1 and dry["key"] is None
    assert feedback_keys(svc) == []


def test_the_same_batch_gives_the_same_bytes(svc):
    keyed(svc)
    feedback.receive(svc, "TOY", "b-8", [record()])
    key = feedback_keys(svc)[0]
    first = svc.models.store.objects.pop(key).data
    feedback.receive(svc, "TOY", "b-8", [record()])
    assert svc.models.store.objects[key].data == first


# training with corrections -------------------------------------------------------------


def test_override_changes_the_labels_the_fit_sees(svc):
    keyed(svc)
    v1 = train(svc)
    assert v1.version == 1 and svc.models.card("TOY", 1)["corrections"]["received"] == 0
    # 40 rows become a class the rows never had: the next version knows it
    huge = [record(f"r{i}", "huge") for i in range(40)]
    feedback.receive(svc, "TOY", "b-huge", huge)
    feedback.receive(svc, "TOY", "b-gone", [record("r-deleted", "large")])  # no such row
    v2 = train(svc)
    assert v2.status is RunStatus.SUCCEEDED, v2.error
    card = svc.models.card("TOY", 2)
    assert "huge" in card["classes"] and "huge" not in svc.models.card("TOY", 1)["classes"]
    assert card["class_distribution"]["huge"] == 40
    used = card["corrections"]
    assert used["mode"] == "override" and used["batches"] == 2 and used["received"] == 41
    assert (used["used"], used["unmatched"], used["refused"]) == (40, 1, 0)
    assert used["changed"] == 40 and used["first"] == used["last"] == "2026-11-20T08:15:00Z"
    assert v2.summary["corrections"] == used
    # retrain diff and retrain card show it (the console's compare view holds the same data)
    diff = compare(svc.models.card("TOY", 1), card)
    assert diff["corrections"]["b"] == used and diff["corrections"]["a"]["used"] == 0
    assert "corrections v2  override: 40 used of 41 received, 0 refused, 1 without a row" in (
        diff_text(diff)
    )
    shown = " ".join(card_text(card, champion=True).split())  # lines wrapped to the terminal
    assert "corrections override: 40 used of 41 received, 0 refused, 1 without a row" in shown
    assert (
        card["data_fingerprint"]["rows_sha256"]
        != svc.models.card("TOY", 1)["data_fingerprint"]["rows_sha256"]
    )


def test_the_newest_correction_of_a_row_wins(svc):
    keyed(svc)
    feedback.receive(svc, "TOY", "b-a", [{**record("r5", "large"), "when": "2026-11-21T08:00:00Z"}])
    feedback.receive(svc, "TOY", "b-b", [{**record("r5", "small"), "when": "2026-11-20T08:00:00Z"}])
    train(svc)
    used = svc.models.card("TOY", 1)["corrections"]
    assert used["used"] == 1 and used["received"] == 2


def test_append_adds_rows_and_ignore_reads_nothing(svc):
    _, frame = keyed(svc, corrections="append")
    extra = [
        {**record(None, "large"), "features": {"size": 9.0, "colour": "red", "coated": False}},
        record("r7", "large"),  # the row's features, the corrected label
        record("r-gone", "large"),  # no features, no row to take them from
    ]
    feedback.receive(svc, "TOY", "b-app", extra)
    train(svc)
    card = svc.models.card("TOY", 1)
    assert card["rows"]["loaded"] == len(frame) + 2
    assert (card["corrections"]["used"], card["corrections"]["unmatched"]) == (2, 1)
    keyed(svc, corrections="ignore")
    train(svc)
    assert "corrections" not in svc.models.card("TOY", 2)
    assert svc.models.card("TOY", 2)["rows"]["loaded"] == len(frame)


def test_corrections_no_longer_valid_for_the_spec_are_refused_at_training(svc):
    spec, _ = keyed(svc)
    feedback.receive(
        svc, "TOY", "b-f", [{**record("r1"), "features": {"size": 3.0, "colour": "red"}}]
    )
    narrower = dataclasses.replace(
        spec, features=dataclasses.replace(spec.features, categorical=())
    )
    svc.registry = Registry([narrower])
    train(svc)
    used = svc.models.card("TOY", 1)["corrections"]
    assert (used["received"], used["used"], used["refused"]) == (1, 0, 1)


def test_an_engine_that_cannot_join_corrections_fails_the_run_clearly(svc):
    keyed(svc)
    feedback.receive(svc, "TOY", "b-d", [record()])

    class NoJoin:
        name = "dask"

    with pytest.raises(ConfigError, match="not supported by the dask engine"):
        feedback.join(svc, NoJoin(), svc.registry.get("TOY"), object(), None)


# the decay monitor ---------------------------------------------------------------------


def test_the_decay_check_takes_corrections_as_labels_known_since_the_champion(svc):
    from retrain.domain.decay import DecayStatus
    from retrain.service.decay import check

    keyed(svc, corrections="ignore")  # ignored by training, still ground truth for decay
    train(svc)
    new = toy_frame(300, seed=3)
    new["created_at"] = pd.date_range("2026-03-01", periods=300, freq="h")
    new["row_id"] = [f"n{i}" for i in range(300)]
    svc.source.frames["TOY"] = pd.concat([svc.source.frames["TOY"], new], ignore_index=True)
    (before,) = check(svc).results
    assert before.status is DecayStatus.OK and "corrections" not in before.window
    flip = {"small": "large", "medium": "small", "large": "medium"}
    wrong = [record(f"n{i}", flip[label]) for i, label in enumerate(new["label"][:150])]
    feedback.receive(svc, "TOY", "b-decay", wrong)
    svc.clock = lambda: datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the next day's check
    (after,) = check(svc).results
    assert after.window["corrections"] == 150
    assert after.score < before.score - 0.3 and after.status is not DecayStatus.OK


def test_the_statistics_count_corrections_received_in_the_window(svc):
    from retrain.service.statistics import compute

    keyed(svc)
    svc.clock = lambda: datetime(2026, 9, 1, 9, 0, tzinfo=UTC)  # before the window
    feedback.receive(svc, "TOY", "old", [{**record("r1"), "when": "2026-08-30T08:00:00Z"}])
    svc.clock = lambda: NOW
    right = [{**record(f"r{i}"), "true_label": "small"} for i in range(3)]  # predicted small
    feedback.receive(svc, "TOY", "new", [*right, record("r9")])
    stats = compute(svc, days=30)
    expected = {"received": 4, "agreed": 3, "agreement": 0.75}
    assert stats["models"][0]["corrections"] == expected == stats["overall"]["corrections"]
    assert compute(svc, days=90)["overall"]["corrections"]["received"] == 5


def test_a_resend_answers_as_stored_even_when_the_spec_now_refuses_its_records(svc):
    spec, _ = keyed(svc)
    batch = [{**record("r1"), "features": {"colour": "red"}}]
    first = feedback.receive(svc, "TOY", "b-s", batch)
    narrower = dataclasses.replace(
        spec, features=dataclasses.replace(spec.features, categorical=())
    )
    svc.registry = Registry([narrower])  # colour is no feature any more
    assert feedback.receive(svc, "TOY", "b-s", batch) == first
