"""Starts per model and per caller within a sliding window.

The HTTP API starts work that takes minutes to hours; one-run-per-model (409) stops a
second concurrent run, not a script that starts a run again the moment the last one ends.
Counts come from the run index the records keep (``by-model/<MODEL>/``, and
``by-caller/<caller>/`` with the first run of each start request; run ids begin with their
UTC second), so every instance of the app sees the same counts. Starts that never got a
record (a 409) do not count. Two requests at the same moment may both pass the last free
place: the limit is a guard against runaway callers, not an exact quota."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from retrain.domain.errors import RateLimitedError
from retrain.domain.runs import RUN_ID
from retrain.service.parallel import read_all
from retrain.service.run_repository import RunRepository


@dataclass(frozen=True)
class StartLimits:
    per_model: int = 0  # starts of one model in the window; 0: no limit
    per_caller: int = 0  # start requests of one caller key in the window; 0: no limit
    window_s: int = 3600

    @property
    def active(self) -> bool:
        return bool(self.per_model or self.per_caller)


def caller_id(key: str | None, principal: str | None = None) -> str | None:
    """A stable, non-secret name for who calls: a hash of the function key (never the key),
    else of the signed-in principal; None when the request names neither."""
    for kind, value in (("key", key), ("user", principal)):
        if value and value.strip():
            return f"{kind}-{hashlib.sha256(value.strip().encode()).hexdigest()[:16]}"
    return None


def check_caller(
    runs: RunRepository, limits: StartLimits, caller: str | None, now: datetime
) -> None:
    """RateLimitedError if ``caller`` made ``per_caller`` start requests within the window
    (a request for many models, ``"all"`` included, is one)."""
    if not (limits.per_caller and caller):
        return
    started = _recent(runs, runs.ids_of_caller(caller), limits.per_caller, limits, now)
    if len(started) < limits.per_caller:
        return
    free_at = _free_at(started, len(started) + 1 - limits.per_caller, limits)
    raise RateLimitedError(
        f"this caller made {len(started)} start request(s) in the last {_window(limits)} "
        f"(limit {limits.per_caller}); retry after {_seconds(free_at, now)} s",
        _seconds(free_at, now),
    )


def check_model(runs: RunRepository, limits: StartLimits, model: str, now: datetime) -> None:
    """RateLimitedError if ``model`` was started ``per_model`` times within the window."""
    if not limits.per_model:
        return
    started = _recent(runs, runs.ids_of(model), limits.per_model, limits, now)
    if len(started) < limits.per_model:
        return
    free_at = _free_at(started, len(started) + 1 - limits.per_model, limits)
    raise RateLimitedError(
        f"model {model} was started {len(started)} time(s) in the last {_window(limits)} "
        f"(limit {limits.per_model}); retry after {_seconds(free_at, now)} s",
        _seconds(free_at, now),
        model,
    )


def _recent(
    runs: RunRepository, ids: list[str], limit: int, limits: StartLimits, now: datetime
) -> list[datetime]:
    """Start times of the runs in ``ids`` within the window, oldest first. The index alone
    answers below ``limit``; at or over it, each record is read, because the index entry of
    a start that was refused (409) stays behind without a record, and it must not count."""
    since = now - timedelta(seconds=limits.window_s)
    recent = [(at, run_id) for run_id in ids if (at := _started(run_id)) and at > since]
    if len(recent) >= limit:
        exists = read_all(runs.find, [run_id for _, run_id in recent])
        recent = [pair for pair, record in zip(recent, exists, strict=True) if record]
    return sorted(at for at, _ in recent)


def _started(run_id: str) -> datetime | None:
    match = RUN_ID.match(run_id)
    if not match:
        return None
    return datetime.strptime(match["ts"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _free_at(started: list[datetime], over: int, limits: StartLimits) -> datetime:
    """When ``over`` of the counted starts will have left the window."""
    return started[over - 1] + timedelta(seconds=limits.window_s)


def _seconds(at: datetime, now: datetime) -> int:
    return max(1, math.ceil((at - now).total_seconds()))


def _window(limits: StartLimits) -> str:
    s = limits.window_s
    if s == 3600:
        return "hour"
    return f"{s // 3600} hours" if s % 3600 == 0 else f"{s} s"
