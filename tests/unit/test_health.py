"""A model's health (service/health.py): each status from the facts a models-list row holds,
the order of the rules, dry runs ignored, and the list built from real runs and decay
checks on fakes (sorted: failing, decaying, drifting first)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from retrain.domain.runs import Outcome, RunRecord, RunStatus, Stage
from retrain.domain.specs import Registry
from retrain.service import health, overview, queries
from retrain.service.decay import check
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.fakes import FakeSource, toy_frame, toy_spec

LIMIT, FLOOR = 0.02, 0.6
DRIFT = {"rule": "feature_shift", "severity": "warning", "column": "size", "message": "size"}
CHECK = {"rule": "duplicate_rows", "severity": "warning", "column": None, "message": "dups"}


def record(
    n: int,
    status: str = "succeeded",
    outcome: str | None = "promoted",
    *,
    dry_run: bool = False,
    version: int | None = None,
    findings: tuple[dict[str, Any], ...] = (),
    judged: tuple[int, float] | None = None,
) -> RunRecord:
    """Run number ``n`` of TOY (run ids sort by ``n``), finished on day ``n`` of May."""
    at = datetime(2026, 5, n, 9, tzinfo=UTC)
    summary: dict[str, Any] = {"findings": list(findings)}
    if judged:
        summary.update(champion_version=judged[0], champion_score=judged[1])
    failed = status == "failed"
    return RunRecord(
        run_id=f"{at:%Y%m%dT%H%M%SZ}-TOY-r{n:03d}",
        model="TOY",
        status=RunStatus(status),
        stage=Stage.LOAD if failed else Stage.DONE,
        dry_run=dry_run,
        created_at=at.isoformat(),
        finished_at=f"2026-05-{n:02d}T09:05:00.000Z",
        outcome=Outcome("failed" if failed else outcome) if (failed or outcome) else None,
        version=version,
        summary=summary,
        error={"stage": "load", "type": "BackendError", "message": "db down"} if failed else None,
    )


def point(day: int, status: str, score: float | None, version: int = 1) -> dict[str, Any]:
    at = f"2026-05-{day:02d}T00:00:00.000Z"
    data = {
        "checked_at": at,
        "status": status,
        "version": version,
        "score": score,
        "card_score": 0.8588,
    }
    return health.decay_of(f"TOY/decay/202605{day:02d}T000000Z-scheduled.json", data)


def row(champion: int | None = 1, run: RunRecord | None = None, decay=None, **more) -> dict:
    return {
        "champion_version": champion,
        "champion_score": 0.8588 if champion else None,
        "last_finished": health.finished_of(run) if run else None,
        "decay": decay,
        **more,
    }


def derive(r: dict) -> dict[str, Any]:
    return health.derive(r, LIMIT, FLOOR)


# each status -----------------------------------------------------------------------------
def test_a_promoted_run_and_no_news_is_healthy():
    got = derive(row(run=record(1, version=1)))
    assert got == {
        "status": "healthy",
        "reasons": [],
        "drift_findings": 0,
        "last_failure": None,
        "champion_new_score": None,
    }


def test_no_champion_and_no_runs_is_new():
    got = derive(row(champion=None))
    assert (got["status"], got["reasons"], got["drift_findings"]) == (
        "new",
        ["no champion yet"],
        None,
    )


def test_the_newest_finished_run_failed_is_failing_with_its_failure():
    got = derive(row(run=record(2, "failed")))
    assert got["status"] == "failing"
    assert got["last_failure"] == {
        "run_id": "20260502T090000Z-TOY-r002",
        "finished_at": "2026-05-02T09:05:00.000Z",
        "stage": "load",
        "message": "db down",
    }
    assert got["reasons"] == ["run 20260502T090000Z-TOY-r002 failed in load: db down"]
    assert derive(row(champion=None, run=record(2, "failed")))["status"] == "failing"


def test_the_kept_champion_far_below_its_card_on_the_new_holdout_is_decaying():
    """The issue's KLASSE_CORE: 0.86 on its card, 0.63 on the new holdout."""
    kept = record(3, outcome="kept_champion", version=2, judged=(1, 0.63))
    got = derive(row(run=kept))
    assert got["status"] == "decaying"
    assert got["champion_new_score"] == {
        "score": 0.63,
        "source": "holdout",
        "at": "2026-05-03T09:05:00.000Z",
        "version": 1,
        "card_score": 0.8588,
        "run_id": kept.run_id,
    }
    assert got["reasons"] == [
        f"champion v1 scores 0.6300 on run {kept.run_id}'s holdout, 0.8588 on its card"
    ]
    within = record(3, outcome="kept_champion", version=2, judged=(1, 0.8400))
    assert derive(row(run=within))["status"] == "healthy"
    assert derive(row(run=within))["champion_new_score"]["score"] == 0.84
    under = record(3, outcome="rejected", version=2, judged=(1, 0.55))
    assert "below the floor 0.6" in derive(row(run=under))["reasons"][0]


@pytest.mark.parametrize("status", ["decaying", "below_floor"])
def test_the_newest_decay_point_decaying_or_below_the_floor_is_decaying(status):
    got = derive(row(run=record(1, version=1), decay=point(5, status, 0.63)))
    assert got["status"] == "decaying"
    assert got["champion_new_score"]["source"] == "decay_check"
    assert got["champion_new_score"]["at"] == "2026-05-05T00:00:00.000Z"
    assert got["reasons"] == [
        "champion v1 scores 0.6300 on new rows (decay check 2026-05-05), 0.8588 on its card"
    ]


def test_a_champion_promoted_by_hand_below_the_floor_is_decaying_until_new_data_says_more():
    """promote accepts a version the gate rejected below metric_floor; the list said
    healthy at 0.3797 against a floor of 0.45."""
    low = row(champion_score=FLOOR - 0.07)
    got = derive(low)
    assert got["status"] == "decaying"
    assert got["reasons"] == [
        f"champion v1 scores {FLOOR - 0.07:.4f} on its card, below the floor {FLOOR:g}"
    ]
    fine = {**point(5, "ok", FLOOR + 0.2), "card_score": FLOOR - 0.07}
    assert derive({**low, "decay": fine})["status"] == "healthy"  # newer evidence wins


def test_a_decay_check_of_the_champion_that_failed_is_failing():
    """Its artifact gone (say), the champion cannot serve: the list said healthy."""
    failed = {**point(5, "error", None), "message": "NotFoundError: artifact missing"}
    got = derive(row(decay=failed))
    assert got["status"] == "failing" and got["champion_new_score"] is None
    assert got["reasons"] == [
        "champion v1's decay check 2026-05-05 failed: NotFoundError: artifact missing"
    ]
    assert derive(row(champion=2, decay=failed))["status"] == "healthy"  # of another champion


def test_a_decay_point_that_could_not_score_or_of_another_champion_says_nothing():
    assert derive(row(decay=point(5, "not_enough_rows", None)))["status"] == "healthy"
    old = derive(row(champion=2, decay=point(5, "decaying", 0.63, version=1)))
    assert (old["status"], old["champion_new_score"]) == ("healthy", None)
    promoted_since = record(6, version=2, judged=(1, 0.63))  # the gate judged v1, now gone
    assert derive(row(champion=2, run=promoted_since))["status"] == "healthy"


def test_the_newer_of_decay_point_and_holdout_is_the_champions_new_score():
    kept_fine = record(6, outcome="kept_champion", version=2, judged=(1, 0.85))
    newer_run = derive(row(run=kept_fine, decay=point(5, "decaying", 0.63)))
    assert newer_run["status"] == "healthy"
    assert newer_run["champion_new_score"]["source"] == "holdout"
    newer_point = derive(row(run=kept_fine, decay=point(7, "decaying", 0.63)))
    assert newer_point["status"] == "decaying"
    assert newer_point["champion_new_score"]["source"] == "decay_check"


def test_drift_findings_of_a_run_whose_version_did_not_become_champion_are_drifting():
    kept = record(3, outcome="kept_champion", version=2, findings=(DRIFT, DRIFT, CHECK))
    got = derive(row(run=kept))
    assert (got["status"], got["drift_findings"]) == ("drifting", 2)
    assert got["reasons"] == [f"2 drift findings in run {kept.run_id}"]
    promoted = record(3, version=1, findings=(DRIFT,))  # the champion learnt the new rows
    assert derive(row(run=promoted))["status"] == "healthy"
    assert derive(row(run=promoted))["drift_findings"] == 1
    assert derive(row(run=record(3, version=1, findings=(CHECK,))))["drift_findings"] == 0


def test_the_rules_in_order_and_every_reason_listed():
    everything = record(4, "failed", findings=(DRIFT,))
    got = derive(row(run=everything, decay=point(3, "decaying", 0.63)))
    assert got["status"] == "failing"
    assert [r.split()[0] for r in got["reasons"]] == ["run", "champion", "1"]
    kept = record(4, outcome="kept_champion", version=2, findings=(DRIFT,), judged=(1, 0.6))
    got = derive(row(run=kept))
    assert got["status"] == "decaying" and len(got["reasons"]) == 2
    unreadable = derive({**row(champion=None), "error": {"code": "x", "message": "y"}})
    assert (unreadable["status"], unreadable["reasons"]) == (
        "unknown",
        ["its champion alias could not be read"],
    )


def test_dry_and_unfinished_runs_are_no_facts():
    assert health.finished_of(record(5, "failed", dry_run=True)) is None
    assert health.finished_of(record(5, outcome="validated", dry_run=True)) is None
    running = record(5)
    running.status = RunStatus.RUNNING
    assert health.finished_of(running) is None


def test_failing_decaying_drifting_sort_first_then_the_rest_by_name():
    statuses = {
        "A": "healthy",
        "B": "drifting",
        "C": "new",
        "D": "failing",
        "E": "decaying",
        "F": "failing",
        "G": "unknown",
    }
    order = sorted(statuses, key=lambda n: health.sort_key(n, statuses[n]))
    assert order == ["D", "F", "E", "B", "A", "C", "G"]


# the list, from real runs and checks --------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=5)  # run ids sort by their time
        return self.now


@pytest.fixture
def three(svc):
    svc.registry = Registry([toy_spec(name) for name in ("ALPHA", "BRAVO", "CHARLIE")])
    svc.source = FakeSource(
        {name: toy_frame(seed=i) for i, name in enumerate(svc.registry.names())}
    )
    svc.clock = Clock()
    return svc


def run(svc, name, *, dry_run=False, rows=None):
    if rows is not None:
        svc.source.frames[name] = toy_frame(rows=rows)
    (started,) = start_runs(svc, [name], trigger="test", dry_run=dry_run).runs
    return execute_run(svc, started.run_id)


def listed(svc) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in queries.list_models(svc)}


def from_sources(svc) -> dict[str, dict[str, Any]]:
    """Each row's health as read again from the run records and decay points."""
    out = {}
    for spec in svc.registry:
        fresh = overview.model_row(svc, spec)[0]
        out[spec.name] = health.derive(fresh, spec.decay_limit, spec.metric_floor)
    return out


def test_the_list_shows_each_models_health_sorted_and_as_its_sources_say(three):
    for name in ("ALPHA", "BRAVO", "CHARLIE"):
        assert run(three, name).outcome == "promoted"
    assert [m["status"] for m in queries.list_models(three)] == ["healthy"] * 3

    # BRAVO: a run fails after its last success; a dry run since changes nothing
    failed = run(three, "BRAVO", rows=10)
    assert failed.status == "failed"
    run(three, "BRAVO", dry_run=True, rows=10)  # fails too, but a dry run is no fact
    three.source.frames["BRAVO"] = toy_frame(seed=1)
    run(three, "ALPHA", dry_run=True)  # succeeds: no fact either
    # CHARLIE: the new month's labels are a third wrong
    new = toy_frame(600, seed=3)
    new["created_at"] = pd.date_range("2026-03-01", periods=600, freq="h")
    flip = {"small": "large", "medium": "small", "large": "medium"}
    new.loc[:179, "label"] = new.loc[:179, "label"].map(flip)
    frames = three.source.frames
    frames["CHARLIE"] = pd.concat([frames["CHARLIE"], new], ignore_index=True)
    check(three, ["CHARLIE"])

    models = queries.list_models(three)
    assert [(m["name"], m["status"]) for m in models] == [
        ("BRAVO", "failing"),
        ("CHARLIE", "decaying"),
        ("ALPHA", "healthy"),
    ]
    bravo, charlie = models[0], models[1]
    assert bravo["last_failure"]["run_id"] == failed.run_id
    assert bravo["last_failure"]["stage"] == "validate"
    assert "needs at least 200 (min_rows)" in bravo["last_failure"]["message"]
    assert bravo["reasons"][0].startswith(f"run {failed.run_id} failed in validate: 0 usable")
    assert charlie["champion_new_score"]["source"] == "decay_check"
    assert charlie["champion_new_score"]["score"] < charlie["champion_score"] - 0.02
    health_keys = ("status", "reasons", "drift_findings", "last_failure", "champion_new_score")
    shown = {m["name"]: {k: m[k] for k in health_keys} for m in models}
    assert shown == from_sources(three)  # the overview's facts are the sources' facts

    # a success after the failure: healthy again, the failure no longer shown
    run(three, "BRAVO")
    assert listed(three)["BRAVO"]["status"] == "healthy"
    assert listed(three)["BRAVO"]["last_failure"] is None


def test_a_row_written_before_health_is_read_again_quietly(three):
    run(three, "ALPHA")
    run(three, "ALPHA", rows=10)
    queries.list_models(three)

    def old(o):
        for r in o.models.values():
            del r["last_finished"], r["decay"]

    overview.patch(three, old)
    got = listed(three)
    assert got["ALPHA"]["status"] == "failing" and "mended" not in got["ALPHA"]
    assert overview.load(three).models["ALPHA"]["last_finished"]["status"] == "failed"
