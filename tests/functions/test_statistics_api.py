"""GET /api/training/statistics in-process: runs trained through the queue, a dry run and
champion moves counted; the window checked like every other query value."""

from __future__ import annotations

import pytest

from tests.functions.conftest import NOW, deliver, http


def start(models, **extra):
    return http("start_training", "POST", "training", {"models": models, **extra})


def stats(**params):
    return http("training_statistics", params=params)[0]


def test_trained_runs_a_dry_run_and_champion_moves_are_counted(quick_app):
    for _ in range(2):
        _, msgs = start(["KLASSE_ROH"])
        deliver(msgs.value)
    _, msgs = start(["KLASSE_CORE"], dry_run=True)
    deliver(msgs.value)
    for version in (2, 1):  # v2 champion (promoted by its run, or now), then back to v1
        body = {"version": version, "reason": "statistics test"}
        moved, _ = http("set_champion", "POST", route={"name": "KLASSE_ROH"}, body=body)
        assert moved.status == 200

    response = stats()
    assert response.status == 200
    body = response.json
    assert body["days"] == 90 and body["until"].startswith(f"{NOW:%Y-%m-%dT%H:%M}")
    models = {m["model"]: m for m in body["models"]}
    assert list(models) == ["ARTFAM_ROH", "KLASSE_CORE", "KLASSE_ROH"]
    klasse = models["KLASSE_ROH"]
    assert klasse["runs"] == 2 and klasse["success_rate"] == 1.0
    assert klasse["outcomes"]["failed"] == klasse["outcomes"]["unfinished"] == 0
    durations = klasse["duration_s"]
    assert durations["measured"] == 2 and 0 < durations["median"] <= durations["p95"]
    runs = http("list_runs", params={"model": "KLASSE_ROH"})[0].json["runs"]
    # the run that finished last (both may start within one second of the pinned clock, so
    # their ids, which the list sorts by, need not tell which)
    last = max(runs, key=lambda run: run["finished_at"])
    assert klasse["last_success"]["run_id"] == last["run_id"]
    assert (klasse["promotions"], klasse["rollbacks"]) == (2, 1)  # v1, v2; back to v1
    core = models["KLASSE_CORE"]
    assert (core["runs"], core["dry_runs_excluded"], core["success_rate"]) == (0, 1, None)
    assert models["ARTFAM_ROH"]["runs"] == 0
    assert body["overall"]["runs"] == 2 and body["overall"]["dry_runs_excluded"] == 1
    assert body["overall"]["last_success"] == klasse["last_success"]


def test_days_sets_the_window(quick_app):
    body = stats(days="7").json
    assert body["days"] == 7 and body["since"].startswith("2026-11-15T09:0")
    assert stats(days="").json["days"] == 90  # empty: the default, as limit= on runs
    assert stats(days="3650").status == 200


@pytest.mark.parametrize("days", ["0", "3651", "-1", "7.5", "x", "٣", "²", "9" * 5000, " 7"])
def test_a_bad_window_is_a_400_that_says_what_to_fix(quick_app, days):
    response = stats(days=days)
    assert response.status == 400 and response.json["error"]["code"] == "bad_request"
    assert "days must be a whole number from 1 to 3650" in response.json["error"]["message"]
