"""Training statistics over the last ``days``, per registered model and overall: runs by
outcome, success rate, median and p95 duration, last success, promotions and rollbacks.

It keeps no object of its own. Per model it reads one listing of the model's run index and
the records whose run ids fall in the window (a run id starts with the UTC time its run was
started, so older records are never read), and the alias history from the model's summary
(service/version_summary.py); the models side by side, the records side by side.

What counts (docs/functions.md says the same):

- a run is in the window when its run id's time is at or after ``since`` (now - ``days``);
- dry runs count nowhere (they publish nothing): ``dry_runs_excluded`` says how many;
- outcomes: ``promoted``, ``kept_champion``, ``rejected`` (the run succeeded), ``failed``,
  ``unfinished`` (queued or running);
- success rate: succeeded / finished runs; null without a finished run;
- duration: of succeeded runs, ``finished_at - started_at`` of the attempt that finished
  (the stage timings' sum where those are missing); the median, and p95 by nearest rank;
- last success: the succeeded run in the window that finished last;
- promotions and rollbacks: alias moves at or after ``since`` to a newer version (or to a
  first champion) and to an older one.

An unreadable run record or history entry is named in ``unreadable`` and counts nowhere."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from retrain.domain.errors import CorruptStateError
from retrain.domain.runs import RunRecord, RunStatus, iso
from retrain.service.context import Services
from retrain.service.feedback import received_since
from retrain.service.parallel import read_all

MIN_DAYS, DEFAULT_DAYS, MAX_DAYS = 1, 90, 3650
# awaiting_approval: the run succeeded and its version waits for a person (it was left out
# of every column, and of the console's panel, as an extra key)
OUTCOMES = ("promoted", "awaiting_approval", "kept_champion", "rejected", "failed", "unfinished")


def nearest_rank(values: list[float], percent: float) -> float:
    """The ``percent`` percentile by nearest rank: the smallest value with at least
    ``percent`` % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


def run_duration(record: RunRecord) -> float | None:
    """Seconds from the finishing attempt's start to the end, else the stage timings' sum."""
    if record.duration_s is not None:
        return record.duration_s
    timings = [v for v in record.timings.values() if isinstance(v, int | float)]
    return round(sum(timings), 3) if timings else None


@dataclass
class Tally:
    outcomes: Counter[str] = field(default_factory=Counter)
    durations: list[float] = field(default_factory=list)
    last_success: RunRecord | None = None
    promotions: int = 0
    rollbacks: int = 0
    dry_runs: int = 0

    def add_run(self, record: RunRecord) -> None:
        if record.dry_run:
            self.dry_runs += 1
        elif not record.status.finished:
            self.outcomes["unfinished"] += 1
        elif record.status is RunStatus.FAILED:
            self.outcomes["failed"] += 1
        else:
            self.outcomes[str(record.outcome or "succeeded")] += 1
            if (seconds := run_duration(record)) is not None:
                self.durations.append(seconds)
            if self.last_success is None or _finished(record) > _finished(self.last_success):
                self.last_success = record

    def add_move(self, version: int, previous: int | None) -> None:
        if previous is None or version > previous:
            self.promotions += 1
        elif version < previous:
            self.rollbacks += 1

    def merge(self, other: Tally) -> None:
        self.outcomes += other.outcomes
        self.durations += other.durations
        self.promotions += other.promotions
        self.rollbacks += other.rollbacks
        self.dry_runs += other.dry_runs
        if other.last_success is not None and (
            self.last_success is None
            or _finished(other.last_success) > _finished(self.last_success)
        ):
            self.last_success = other.last_success

    def to_json(self) -> dict[str, Any]:
        outcomes = {name: self.outcomes[name] for name in OUTCOMES} | dict(self.outcomes)
        finished = sum(outcomes.values()) - outcomes["unfinished"]
        succeeded = finished - outcomes["failed"]
        last = self.last_success
        return {
            "runs": sum(outcomes.values()),
            "outcomes": outcomes,
            "success_rate": round(succeeded / finished, 4) if finished else None,
            "duration_s": {
                "median": round(median(self.durations), 3) if self.durations else None,
                "p95": nearest_rank(self.durations, 95) if self.durations else None,
                "measured": len(self.durations),
            },
            "last_success": None
            if last is None
            else {
                "run_id": last.run_id,
                "model": last.model,
                "outcome": str(last.outcome) if last.outcome else None,
                "version": last.version,
                "finished_at": last.finished_at,
            },
            "promotions": self.promotions,
            "rollbacks": self.rollbacks,
            "dry_runs_excluded": self.dry_runs,
        }


def _finished(record: RunRecord) -> tuple[str, str]:
    return record.finished_at or "", record.run_id


def compute(svc: Services, days: int = DEFAULT_DAYS) -> dict[str, Any]:
    """The statistics of the last ``days`` (MIN_DAYS..MAX_DAYS; the edges check it)."""
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise ValueError(f"days must be from {MIN_DAYS} to {MAX_DAYS}")
    now = svc.clock()
    since = now - timedelta(days=days)
    names = svc.registry.names()
    tallies = {name: Tally() for name in names}
    unreadable: list[str] = []
    first = f"{since:%Y%m%dT%H%M%SZ}"  # run ids sort by their time, as text
    ids = [i for found in read_all(svc.runs.ids_of, names) for i in found if i >= first]
    for item in read_all(svc.runs.read_or_error, ids):
        if isinstance(item, CorruptStateError):
            unreadable.append(item.key)
        elif item is not None and item.model in tallies:  # None: removed (never started)
            tallies[item.model].add_run(item)
    for name, history in zip(names, read_all(svc.models.history, names), strict=True):
        for entry in history:
            move = _move(entry)
            if move is None:
                unreadable.append(entry.get("key") or f"an alias history entry of {name}")
            elif move[0] >= since:
                tallies[name].add_move(move[1], move[2])
    overall = Tally()
    for tally in tallies.values():
        overall.merge(tally)
    corrections = read_all(lambda n: received_since(svc, svc.registry.get(n), since), names)
    body: dict[str, Any] = {
        "days": days,
        "since": iso(since),
        "until": iso(now),
        "models": [
            {"model": name, **tallies[name].to_json(), "corrections": c}
            for name, c in zip(names, corrections, strict=True)
        ],
        "overall": {**overall.to_json(), "corrections": _all_corrections(corrections)},
    }
    if unreadable:
        body["unreadable"] = sorted(unreadable)
    return body


def _all_corrections(per_model: list[dict[str, Any]]) -> dict[str, Any]:
    """People's corrections over every model (service/feedback.py ``received_since``)."""
    received = sum(c["received"] for c in per_model)
    agreed = sum(c["agreed"] for c in per_model)
    share = round(agreed / received, 4) if received else None
    return {"received": received, "agreed": agreed, "agreement": share}


def _move(entry: dict[str, Any]) -> tuple[datetime, int, int | None] | None:
    """(moved at, to version, from version) of an alias history entry; None if unreadable."""
    at, version, previous = (
        entry.get("moved_at"),
        entry.get("version"),
        entry.get("previous_version"),
    )
    if "error" in entry or not isinstance(at, str) or isinstance(version, bool):
        return None
    if not isinstance(version, int) or isinstance(previous, bool):
        return None
    if not (previous is None or isinstance(previous, int)):
        return None
    try:
        moved = datetime.fromisoformat(at)
    except ValueError:
        return None
    return (moved, version, previous) if moved.tzinfo is not None else None
