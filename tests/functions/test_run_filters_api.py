"""GET /api/training/runs filtered by model, status, trigger, time and batch (issue 25.4),
and the champion's decay points in GET /api/models/{name}/history (issue 20.2), in-process;
every bad filter value a 400 that says what to fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from retrain.domain.decay import DecayResult, DecayStatus
from retrain.service import stored
from retrain.service.decay_points import point_key
from tests.console.seed import batch_runs
from tests.functions.conftest import NOW, http

OCT = datetime(2026, 10, 1, tzinfo=UTC)
NOV = datetime(2026, 11, 1, tzinfo=UTC)
SLACK = {"channel": "C0FAKE", "ts": "1790000000.000001", "permalink": "https://x.slack.com/p1"}


def runs(**params):
    return http("list_runs", params=params)[0]


def ids(response) -> list[str]:
    assert response.status == 200, response.text
    return [r["run_id"] for r in response.json["runs"]]


@pytest.fixture
def batches(quick_app):
    three = {
        "ARTFAM_ROH": ("promoted", 0.81, 0.8),
        "KLASSE_CORE": ("kept_champion", 0.7, 0.75),
        "KLASSE_ROH": ("failed", None, None),
    }
    october = batch_runs(quick_app, OCT, "monthly", "timer", three)
    november = batch_runs(quick_app, NOV, "monthly", "timer", three, slack=SLACK)
    by_hand = batch_runs(quick_app, NOV + timedelta(days=3), "a1b2c3d4", "http", three)
    return october, november, by_hand


def test_each_filter_narrows_the_list(batches):
    november = batches[1]
    every = ids(runs())
    assert len(every) == 9
    timer = ids(runs(trigger="timer"))
    assert len(timer) == 6 and all(i.endswith("-monthly") for i in timer)
    assert ids(runs(trigger="http")) == [i for i in every if i.endswith("-a1b2c3d4")]
    assert ids(runs(trigger="cli")) == []
    assert ids(runs(since="2026-11-01")) == [i for i in every if i >= "20261101"]
    assert ids(runs(until="2026-11-01T00:00:00Z")) == [i for i in every if i < "20261101"]
    # an offset is an instant: 01:00 at +01:00 is midnight UTC
    assert ids(runs(since="2026-11-01T01:00+01:00", until="2026-11-02")) == ids(
        runs(batch=november)
    )
    assert ids(runs(status="failed", trigger="timer")) == [
        "20261101T000000Z-KLASSE_ROH-monthly",
        "20261001T000000Z-KLASSE_ROH-monthly",
    ]
    assert ids(runs(model="KLASSE_CORE", trigger="timer", limit="1")) == [
        "20261101T000000Z-KLASSE_CORE-monthly"
    ]


def test_a_batch_answers_its_runs_and_its_slack_thread(batches):
    october, november, _ = batches
    body = runs(batch=november).json
    assert [r["model"] for r in body["runs"]] == ["KLASSE_ROH", "KLASSE_CORE", "ARTFAM_ROH"]
    assert {r["batch_id"] for r in body["runs"]} == {november}
    assert body["batch"] == {"batch_id": november, "recorded": True, "slack": SLACK}
    core = next(r for r in body["runs"] if r["model"] == "KLASSE_CORE")
    assert core["summary"]["delta"] == pytest.approx(-0.05)
    assert core["duration_s"] == 41.0
    assert runs(batch=october).json["batch"]["slack"] is None  # nothing recorded
    gone = runs(batch="20250101T000000Z-monthly").json
    assert gone == {"runs": [], "batch": {"batch_id": "20250101T000000Z-monthly",
                                          "recorded": False, "slack": None}}  # fmt: skip


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"trigger": "slack"}, "trigger must be one of cli, decay, http, timer"),
        ({"since": "yesterday"}, "since must be a date (2026-11-01)"),
        ({"since": "2026-02-30"}, "since must be a date"),
        ({"since": "9999-12-31T23:59:59-14:00"}, "since must be a date"),  # a 500 before
        ({"until": "2026-11-01T10:00"}, "until must be a date (2026-11-01) or a date and time"),
        ({"since": "2026-11-02", "until": "2026-11-01"}, "until must be later than since"),
        ({"batch": "monthly"}, "batch must be a batch id such as 20261201T000000Z-monthly"),
        ({"batch": "20261101T000000Z-../x"}, "batch must be a batch id"),
        ({"limit": "٣"}, "limit must be a whole number from 1 to 500"),
        ({"status": "done"}, "status must be one of"),
    ],
)
def test_a_bad_filter_is_a_400_that_says_what_to_fix(quick_app, params, message):
    response = runs(**params)
    assert response.status == 400 and response.json["error"]["code"] == "bad_request"
    assert message in response.json["error"]["message"]


def test_an_unknown_model_lists_the_known_ones(quick_app):
    response = runs(model="NOPE", trigger="timer")
    assert response.status == 404 and "KLASSE_ROH" in response.json["error"]["message"]


def test_the_history_carries_the_decay_points_oldest_first(quick_app):
    svc = quick_app
    for days, score in ((40, 0.8), (10, 0.6)):
        at = NOW - timedelta(days=days)
        point = DecayResult(
            model="KLASSE_ROH",
            status=DecayStatus.OK if score > 0.7 else DecayStatus.DECAYING,
            checked_at=at.isoformat(),
            version=1,
            metric="f1_macro",
            card_score=0.85,
            score=score,
            rows=100,
        )
        svc.models.store.create(point_key("KLASSE_ROH", at, "t"), stored.dumps(point.to_dict()))
    body = http("champion_history", route={"name": "KLASSE_ROH"})[0].json
    assert [(p["score"], p["status"], p["delta"]) for p in body["decay"]] == [
        (0.8, "ok", pytest.approx(-0.05)),
        (0.6, "decaying", pytest.approx(-0.25)),
    ]
    empty = http("champion_history", route={"name": "KLASSE_CORE"})[0].json
    assert empty["decay"] == [] and empty["history"] == []
