"""A training run's record: what was asked, where it got to, how it ended."""

from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED)


class Stage(StrEnum):
    QUEUED = "queued"
    LOAD = "load"
    VALIDATE = "validate"
    SPLIT = "split"
    FIT = "fit"
    EVALUATE = "evaluate"
    PUBLISH = "publish"
    PROMOTE = "promote"
    DONE = "done"


# The share of a typical run each stage takes (the fit most of it): a status reader's
# progress bar, not a time estimate. A dry run ends after validation, at 1.0.
_SPANS = {
    Stage.QUEUED: (0.0, 0.0),
    Stage.LOAD: (0.0, 0.15),
    Stage.VALIDATE: (0.15, 0.2),
    Stage.SPLIT: (0.2, 0.25),
    Stage.FIT: (0.25, 0.85),
    Stage.EVALUATE: (0.85, 0.93),
    Stage.PUBLISH: (0.93, 0.97),
    Stage.PROMOTE: (0.97, 1.0),
    Stage.DONE: (1.0, 1.0),
}


def progress(stage: Stage, done: int | None = None, planned: int | None = None) -> dict[str, Any]:
    """Where a run is: its stage, the fraction of the run done (0-1) and, in the fit, the
    boosting rounds done of those planned (early stopping may end the fit sooner)."""
    low, high = _SPANS[stage]
    out: dict[str, Any] = {"stage": str(stage), "fraction": low}
    if done is not None and planned:
        share = min(max(done / planned, 0.0), 1.0)
        out.update(fraction=round(low + (high - low) * share, 4), rounds_done=done)
        out["rounds_planned"] = planned
    return out


class Outcome(StrEnum):
    PROMOTED = "promoted"  # new version became champion
    KEPT_CHAMPION = "kept_champion"  # stored, but worse than the champion beyond tolerance
    REJECTED = "rejected"  # stored, but below the spec's absolute floor
    AWAITING_APPROVAL = "awaiting_approval"  # passed the gate; a person must approve it
    VALIDATED = "validated"  # dry run: loaded and validated, nothing published
    FAILED = "failed"


RUN_ID = re.compile(
    r"^(?P<ts>\d{8}T\d{6}Z)-(?P<model>[A-Z][A-Z0-9_]{1,62})-(?P<tag>[a-z0-9]{1,32})$"
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id(model: str, at: datetime, tag: str | None = None) -> str:
    """``<UTC timestamp>-<MODEL>-<tag>``: sorts by time, names its model, unique by tag."""
    return f"{at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{model}-{tag or secrets.token_hex(4)}"


def model_of_run(run_id: str) -> str | None:
    match = RUN_ID.match(run_id)
    return match["model"] if match else None


@dataclass
class RunRecord:
    run_id: str
    model: str
    status: RunStatus = RunStatus.QUEUED
    stage: Stage = Stage.QUEUED
    trigger: str = "cli"
    reason: str = ""
    batch_id: str | None = None
    dry_run: bool = False
    created_at: str = field(default_factory=lambda: iso(utcnow()))
    started_at: str | None = None
    updated_at: str | None = None
    finished_at: str | None = None
    attempts: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    outcome: Outcome | None = None
    version: int | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    error: dict[str, str] | None = None
    notified: bool = False
    notified_by: str | None = None  # who claimed the announcement (a token)
    # the start call that created the record (unique: see the ObjectStore port), and the
    # attempt that holds the run while it is running, and when it last said so
    created_by: str | None = None
    attempt_id: str | None = None
    caller: str | None = None  # who started it over HTTP: a hash of the key (rate_limit.py)
    # where the run got to: stage, fraction done (0-1), boosting rounds during the fit
    progress: dict[str, Any] = field(default_factory=dict)
    heartbeat_at: str | None = None
    # where the record was read from (ETag): every save is a compare-and-swap against it
    etag: str | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("etag")
        data["status"] = str(self.status)
        data["stage"] = str(self.stage)
        data["outcome"] = str(self.outcome) if self.outcome else None
        return data

    @classmethod
    def from_dict(cls, data: Any) -> RunRecord:
        """Parse a stored record; ValueError says what is wrong with a malformed one."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        for name in ("run_id", "model"):
            if not isinstance(data.get(name), str):
                raise ValueError(f"{name!r} is missing or not text")
        if not RUN_ID.match(data["run_id"]):
            raise ValueError("'run_id' is not a run id")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "etag"}
        try:
            record = cls(**known)
            record.status = RunStatus(record.status)
            record.stage = Stage(record.stage)
            record.outcome = Outcome(record.outcome) if record.outcome else None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"unexpected field value ({type(exc).__name__})") from None
        for name, kind in _TYPES.items():
            value = getattr(record, name)
            if value is not None and not isinstance(value, kind):
                raise ValueError(f"{name!r} is not {kind.__name__}")
        return record

    @property
    def duration_s(self) -> float | None:
        if not (self.started_at and self.finished_at):
            return None
        try:
            start = datetime.fromisoformat(self.started_at)
            end = datetime.fromisoformat(self.finished_at)
        except ValueError:
            return None
        return round((end - start).total_seconds(), 3)


_TYPES: dict[str, type] = {
    "trigger": str,
    "reason": str,
    "batch_id": str,
    "dry_run": bool,
    "created_at": str,
    "started_at": str,
    "updated_at": str,
    "finished_at": str,
    "attempts": int,
    "timings": dict,
    "version": int,
    "summary": dict,
    "error": dict,
    "notified": bool,
    "notified_by": str,
    "created_by": str,
    "attempt_id": str,
    "caller": str,
    "progress": dict,
    "heartbeat_at": str,
}
