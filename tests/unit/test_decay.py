"""Champion decay on fakes (service/decay.py): each champion scored on the rows that arrived
after its card's training window, the verdict, the stored points, retraining and the
notifier. The clock is pinned; the toy rows are hourly from 2026-01-01 to 2026-02-11."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd
import pytest

from retrain.domain.decay import DecayResult, DecayStatus
from retrain.domain.specs import Registry
from retrain.service.decay import NO_TIME_COLUMN, check, point_key, points
from retrain.service.report import decay_line
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.fakes import RecordingNotifier, toy_frame, toy_spec

TODAY = datetime(2026, 11, 22, tzinfo=UTC)  # the occurrence of a scheduled check
FLIP = {"small": "large", "medium": "small", "large": "medium"}  # every label wrong


def _train(svc) -> None:
    started = start_runs(svc, svc.registry.names(), trigger="test")
    for record in started.runs:
        assert execute_run(svc, record.run_id).outcome == "promoted"


def _arrive(svc, rows: int = 600, flipped: float = 0.0, seed: int = 3, model: str = "TOY"):
    """Append ``rows`` new rows from 2026-03-01 (after the champion's window), the first
    ``flipped`` share of them with a wrong label."""
    new = toy_frame(rows, seed=seed)
    new["created_at"] = pd.date_range("2026-03-01", periods=rows, freq="h")
    wrong = int(rows * flipped)
    new.loc[: wrong - 1, "label"] = new.loc[: wrong - 1, "label"].map(FLIP)
    frames = svc.source.frames
    frames[model] = pd.concat([frames[model], new], ignore_index=True)


def _with(svc, **spec_changes):
    svc.registry = Registry([toy_spec(**spec_changes)])
    return svc


@pytest.fixture
def trained(svc):
    """The toy model with a champion (v1) trained on every row there is."""
    _train(svc)
    return svc


def test_a_champion_on_rows_like_its_own_is_ok_and_the_point_is_stored(trained):
    _arrive(trained)
    (result,) = check(trained).results
    card = trained.models.card("TOY", 1)
    assert result.status is DecayStatus.OK, decay_line(result)
    assert (result.version, result.metric, result.rows) == (1, "accuracy", 600)
    assert result.card_score == card["metrics"]["accuracy"]
    assert abs(result.score - result.card_score) <= 0.02  # the toy spec's tolerance
    assert result.window == {
        "column": "created_at",
        "after": card["data_window"]["last"],  # 2026-02-11 15:00:00: the newest trained row
        "first": "2026-03-01 00:00:00",
        "last": "2026-03-25 23:00:00",
        "unlabelled": 0,
    }
    assert result.note is None
    (point,) = points(trained, "TOY")
    assert point["status"] == "ok" and point["score"] == result.score
    assert trained.notifier.decay_checks == [[result]]  # told; quiet about it is its business


def test_flipped_labels_in_the_new_month_are_decay(trained):
    _arrive(trained, flipped=0.3)  # ~0.65 accuracy: far below the card, above the 0.6 floor
    (result,) = check(trained).results
    assert result.status is DecayStatus.DECAYING
    assert 0.6 <= result.score < result.card_score - 0.2
    assert result.delta == round(result.score - result.card_score, 6)
    line = decay_line(result)
    assert line.startswith("TOY v1: accuracy 0.")
    assert " on 600 rows since 2026-02-11, card 0.9" in line
    assert line.endswith(", tolerance 0.02)")
    assert trained.runs.list(model="TOY")[0].trigger == "test"  # no retrain_on_decay: no run


def test_decay_tolerance_overrides_the_gate_tolerance(trained):
    _arrive(trained, flipped=0.3)
    _with(trained, decay_tolerance=0.5)
    (result,) = check(trained).results
    assert (result.status, result.tolerance) == (DecayStatus.OK, 0.5)


def test_all_labels_wrong_is_below_the_floor(trained):
    _arrive(trained, flipped=1.0)
    (result,) = check(trained).results
    assert result.status is DecayStatus.BELOW_FLOOR and result.score < 0.6
    assert decay_line(result).endswith(", floor 0.6)")


def test_fewer_than_30_labelled_new_rows_give_no_verdict(trained):
    _arrive(trained, rows=40, flipped=1.0)
    frame = trained.source.frames["TOY"]
    frame.loc[frame.index[-15:], "label"] = None  # 25 of the 40 have a label
    (result,) = check(trained).results
    assert result.status is DecayStatus.NOT_ENOUGH_ROWS and result.score is None
    assert (result.rows, result.window["unlabelled"]) == (25, 15)
    assert "25 labelled new rows; at least 30" in result.message
    assert trained.notifier.decay_checks == [[result]]  # no alarm: Slack stays quiet


def test_a_model_without_a_time_column_is_scored_on_all_rows_and_says_so(svc):
    _with(svc, time_column=None, query="SELECT * FROM toy")
    _train(svc)
    (result,) = check(svc).results
    assert result.status is DecayStatus.OK
    assert result.rows == 1000 and result.note == NO_TIME_COLUMN
    assert result.window["column"] is None and result.window["after"] is None
    assert "on 1,000 rows (all rows: no time column)" in decay_line(result)
    assert svc.source.loads[-1] == ("TOY", None)


def test_no_champion_and_a_broken_artifact_are_reported_not_raised(svc):
    svc.registry = Registry([toy_spec(), toy_spec("OTHER")])
    svc.source.frames["OTHER"] = toy_frame()
    _train(svc)
    store = svc.models.store
    store.delete("TOY/champion.json")
    store.tamper("OTHER/versions/1/model.skops")
    other, toy = check(svc).results  # in name order
    assert toy.status is DecayStatus.NO_CHAMPION
    assert other.status is DecayStatus.ERROR and "ArtifactIntegrityError" in other.message
    assert store.list("TOY/decay/") == []  # nothing to chart without a champion
    assert len(store.list("OTHER/decay/")) == 1


def test_retrain_on_decay_starts_one_run_and_a_second_check_starts_none(trained):
    _with(trained, retrain_on_decay=True)
    _arrive(trained, flipped=1.0)
    first = check(trained, occurrence=TODAY)
    (run,) = first.runs
    assert (run.run_id, run.trigger) == ("20261122T000000Z-TOY-decay", "decay")
    assert run.reason.startswith("decay: TOY v1: accuracy ")
    assert first.results[0].retrain == {"run_id": run.run_id}
    assert trained.runs.active("TOY") == run.run_id

    again = check(trained, occurrence=TODAY)  # the timer fired twice today
    assert (again.results, again.runs, again.done_before) == ([], [], ["TOY"])
    now = check(trained)  # an operator's check while the run is still queued
    assert now.runs == []
    assert now.results[0].retrain == {
        "run_id": run.run_id,
        "skipped": f"run {run.run_id} is active",
    }
    assert "not retrained: run 20261122T000000Z-TOY-decay is active" in decay_line(now.results[0])
    assert [r.run_id for r in trained.runs.list(model="TOY") if r.trigger == "decay"] == [
        run.run_id
    ]
    assert len(trained.notifier.decay_checks) == 2  # the duplicate firing told no one


def test_a_failing_notifier_does_not_fail_the_check(trained):
    trained.notifier = RecordingNotifier(fail=True)
    _with(trained, retrain_on_decay=True)
    _arrive(trained, flipped=1.0)
    checked = check(trained, occurrence=TODAY)
    assert checked.results[0].status is DecayStatus.BELOW_FLOOR and len(checked.runs) == 1
    assert [p["status"] for p in points(trained, "TOY")] == ["below_floor"]


def test_points_are_create_only_listed_oldest_first_and_unreadable_ones_named(trained):
    clock = trained.clock
    _arrive(trained)
    trained.clock = lambda: datetime(2026, 12, 28, 3, tzinfo=UTC)
    scheduled = check(trained, occurrence=datetime(2026, 12, 28, tzinfo=UTC)).results[0]
    trained.clock = clock
    adhoc = check(trained).results[0]  # 2026-11-22 09:00: sorts first
    store = trained.models.store
    keys = store.list("TOY/decay/")
    assert keys[1] == point_key("TOY", datetime(2026, 12, 28, tzinfo=UTC), "scheduled")
    assert keys[1] == "TOY/decay/20261228T000000Z-scheduled.json"
    assert keys[0].startswith("TOY/decay/20261122T090000Z-")
    listed = points(trained, "TOY")
    assert [p["key"] for p in listed] == keys
    assert [p["checked_at"] for p in listed] == [adhoc.checked_at, scheduled.checked_at]
    assert DecayResult.from_dict(json.loads(store.get(keys[1]).data)) == scheduled
    before = store.get(keys[1])
    check(trained, occurrence=datetime(2026, 12, 28, tzinfo=UTC))  # finds it, rewrites nothing
    assert store.get(keys[1]) == before
    store.create("TOY/decay/20261229T000000Z-x.json", b"{not json")
    store.create(
        "TOY/decay/20261230T000000Z-y.json", json.dumps(listed[0] | {"model": "X"}).encode()
    )
    *_, broken, alien = points(trained, "TOY")
    assert broken["key"].endswith("-x.json") and "not valid JSON" in broken["error"]
    assert "names model 'X'" in alien["error"]
    assert [p["key"] for p in points(trained, "TOY", limit=2)] == [broken["key"], alien["key"]]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"decay_tolerance": -0.1}, "decay_tolerance must be a number from 0"),
        ({"decay_tolerance": 1.0}, "decay_tolerance must be a number from 0"),
        ({"decay_tolerance": float("nan")}, "decay_tolerance must be a number from 0"),
        ({"decay_tolerance": True}, "decay_tolerance must be a number from 0"),
        ({"retrain_on_decay": "yes"}, "retrain_on_decay must be True or False"),
    ],
)
def test_decay_fields_are_checked_like_the_others(changes, problem):
    with pytest.raises(ValueError, match=problem):
        toy_spec(**changes)
    spec = toy_spec(decay_tolerance=0.05, retrain_on_decay=True)
    assert (spec.decay_limit, replace(spec, decay_tolerance=None).decay_limit) == (0.05, 0.02)
