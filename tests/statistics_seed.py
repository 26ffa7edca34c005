"""Run records and alias moves at pinned times, in the stores' own layout, for the training
statistics (service/statistics.py) on any store: what ``seed`` writes, ``check`` expects of
a 90-day window ending at ``NOW``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from retrain.domain.runs import Outcome, RunRecord, RunStatus, iso, new_run_id
from retrain.service.context import Services

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=90)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def add_run(
    svc: Services,
    model: str,
    at: datetime,
    status: str,
    outcome: str | None = None,
    seconds: float = 0.0,
    *,
    version: int | None = None,
    dry_run: bool = False,
    timings: dict[str, float] | None = None,
    started: bool = True,
) -> RunRecord:
    """A run started at ``at`` (its id's time) that ran ``seconds`` (if it finished)."""
    record = RunRecord(
        run_id=new_run_id(model, at), model=model, created_at=iso(at), dry_run=dry_run
    )
    assert svc.runs.create(record)
    record.status = RunStatus(status)
    record.outcome = Outcome(outcome) if outcome else None
    record.version = version
    record.timings = timings or {}
    begun = at + timedelta(seconds=1)
    if started and record.status is not RunStatus.QUEUED:
        record.started_at = iso(begun)
    if record.status.finished:
        record.finished_at = iso(begun + timedelta(seconds=seconds))
    return svc.runs.save(record)


def add_corrupt_run(svc: Services, model: str, at: datetime) -> str:
    """An indexed run whose record is not JSON; returns its key."""
    run_id = new_run_id(model, at)
    svc.runs.store.create(f"by-model/{model}/{run_id}", b"")
    svc.runs.store.create(f"{run_id}.json", b"{not json")
    return f"{run_id}.json"


def add_move(
    svc: Services, model: str, version: int, previous: int | None, at: datetime, raw: bytes = b""
) -> str:
    """An alias history entry (<MODEL>/history/<time>-<version>-<tag>.json); returns its key."""
    stamp = iso(at).replace(":", "").replace("-", "")
    key = f"{model}/history/{stamp}-{version:06d}-{previous or 0:06d}.json"
    entry = {
        "model": model,
        "version": version,
        "previous_version": previous,
        "reason": "seeded",
        "actor": "test",
        "run_id": None,
        "score": None,
        "moved_at": iso(at),
    }
    svc.models.store.create(key, raw or json.dumps(entry).encode())
    return key


def seed(svc: Services, a: str, b: str) -> list[str]:
    """``a``: every outcome, a dry run, runs at and just before the window's start, moves
    of every kind; ``b``: one failed run and unreadable objects. Returns the keys of the
    unreadable objects inside the window (one more, older, must never be read)."""
    add_run(svc, a, SINCE - timedelta(seconds=1), "succeeded", "promoted", 99, version=1)
    add_run(svc, a, SINCE, "failed", "failed", 5)  # at the start: counted
    add_run(svc, a, days_ago(60), "succeeded", "promoted", 10, version=2)
    add_run(svc, a, days_ago(30), "succeeded", "kept_champion", 30, version=3)
    rejected = {"load": 5.0, "fit": 15.0}  # no start recorded: the timings' sum
    add_run(
        svc, a, days_ago(20), "succeeded", "rejected", version=4, timings=rejected, started=False
    )
    add_run(svc, a, days_ago(10), "succeeded", "promoted", 40, version=5)
    add_run(svc, a, days_ago(5), "succeeded", "validated", 2, dry_run=True)
    add_run(svc, a, days_ago(1), "running")
    add_move(svc, a, 1, None, SINCE - timedelta(seconds=1))  # before the window
    add_move(svc, a, 2, 1, days_ago(60))  # promotion
    add_move(svc, a, 5, 2, days_ago(10))  # promotion
    add_move(svc, a, 2, 5, days_ago(3))  # rollback
    add_move(svc, a, 2, 2, days_ago(2))  # the same version again: neither
    add_run(svc, b, days_ago(40), "failed", "failed", started=False)
    add_corrupt_run(svc, b, days_ago(200))  # outside the window: never read
    return sorted(
        [
            add_corrupt_run(svc, b, days_ago(15)),
            add_move(svc, b, 1, None, days_ago(4), raw=b"{oops"),
        ]
    )


def check(body: dict[str, Any], a: str, b: str, c: str, unreadable: list[str]) -> None:
    """What ``seed`` gives over the last 90 days; ``c`` has nothing."""
    assert (body["days"], body["since"], body["until"]) == (90, iso(SINCE), iso(NOW))
    models = {m["model"]: m for m in body["models"]}
    assert list(models) == sorted([a, b, c])
    first = models[a]
    assert first["runs"] == 6 and first["dry_runs_excluded"] == 1
    assert first["outcomes"] == {
        "promoted": 2,
        "awaiting_approval": 0,
        "kept_champion": 1,
        "rejected": 1,
        "failed": 1,
        "unfinished": 1,
    }
    assert first["success_rate"] == 0.8  # 4 of 5 finished
    assert first["duration_s"] == {"median": 25.0, "p95": 40.0, "measured": 4}
    last = first["last_success"]
    assert (last["model"], last["outcome"], last["version"]) == (a, "promoted", 5)
    assert last["run_id"].startswith(f"{days_ago(10):%Y%m%dT%H%M%SZ}-{a}-")
    assert (first["promotions"], first["rollbacks"]) == (2, 1)
    second = models[b]
    assert (second["runs"], second["outcomes"]["failed"], second["success_rate"]) == (1, 1, 0.0)
    assert second["duration_s"] == {"median": None, "p95": None, "measured": 0}
    assert second["last_success"] is None and second["promotions"] == 0
    empty = models[c]
    assert empty["runs"] == 0 and set(empty["outcomes"].values()) == {0}
    assert empty["success_rate"] is None and empty["last_success"] is None
    assert (empty["promotions"], empty["rollbacks"], empty["dry_runs_excluded"]) == (0, 0, 0)
    overall = body["overall"]
    assert overall["runs"] == 7 and overall["outcomes"]["failed"] == 2
    assert overall["success_rate"] == round(4 / 6, 4)
    assert overall["duration_s"] == first["duration_s"]
    assert overall["last_success"] == last
    assert (overall["promotions"], overall["rollbacks"], overall["dry_runs_excluded"]) == (2, 1, 1)
    assert body["unreadable"] == unreadable
