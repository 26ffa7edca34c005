"""Runs chosen by model, status, trigger, time and batch: the run list's filters (HTTP
``GET /api/training/runs``, ``retrain runs``, the console).

A run's time is its run id's: the UTC second it was started (a timer's or decay check's
occurrence), the same rule as service/statistics.py. ``since`` is inclusive, ``until``
exclusive. A batch's runs share its time and tag (``<time>-<tag>`` names the batch,
``<time>-<MODEL>-<tag>`` each run), so time, tag and batch pick run ids from the per-model
indexes before any record is read; status, trigger and the record's own ``batch_id`` are
checked on the records, read newest first, a chunk at a time, until ``limit`` match."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from retrain.domain.errors import CorruptStateError
from retrain.domain.runs import RunRecord
from retrain.service.context import Services
from retrain.service.parallel import WORKERS, read_all

TRIGGERS = ("cli", "decay", "http", "timer")  # who starts runs (service/start.py callers)
BATCH_ID = re.compile(r"^(?P<ts>\d{8}T\d{6}Z)-(?P<tag>[a-z0-9]{1,32})$")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})")


def parse_time(raw: str, name: str) -> datetime:
    """A date (``2026-11-01``: its start, UTC) or a date and time with its offset
    (``2026-11-01T06:00:00Z``, ``2026-11-01T07:00+01:00``); ValueError saying what to fix."""
    text = raw.strip()
    try:
        if _DATE.fullmatch(text):
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        if _INSTANT.fullmatch(text):
            return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError):
        pass  # e.g. 2026-02-30, or 9999-12-31T23:59-14:00 (past year 9999 in UTC)
    raise ValueError(
        f"{name} must be a date (2026-11-01) or a date and time with its offset "
        f"(2026-11-01T06:00:00Z), not {raw[:40]!r}"
    )


def parse_trigger(raw: str) -> str:
    if raw not in TRIGGERS:
        raise ValueError(f"trigger must be one of {', '.join(TRIGGERS)}, not {raw[:40]!r}")
    return raw


def parse_batch(raw: str) -> str:
    if not BATCH_ID.match(raw):
        raise ValueError(
            f"batch must be a batch id such as 20261201T000000Z-monthly, not {raw[:60]!r}"
        )
    return raw


@dataclass(frozen=True)
class RunFilter:
    model: str | None = None
    status: str | None = None
    trigger: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    batch: str | None = None

    @property
    def narrow(self) -> bool:
        """Whether more than model and status is asked (the lists' fast paths know those)."""
        return any(x is not None for x in (self.trigger, self.since, self.until, self.batch))

    def keeps_id(self, run_id: str) -> bool:
        stamp = run_id[:16]  # %Y%m%dT%H%M%SZ: run ids sort by it, as text
        if self.since is not None and stamp < f"{self.since:%Y%m%dT%H%M%SZ}":
            return False
        if self.until is not None and stamp >= f"{self.until:%Y%m%dT%H%M%SZ}":
            return False
        if self.batch is not None:
            match = BATCH_ID.match(self.batch)
            if match is None or not (
                run_id.startswith(f"{match['ts']}-") and run_id.endswith(f"-{match['tag']}")
            ):
                return False
        return True

    def keeps(self, record: RunRecord) -> bool:
        return (
            (self.status is None or record.status == self.status)
            and (self.trigger is None or record.trigger == self.trigger)
            and (self.batch is None or record.batch_id == self.batch)
        )


def scan(svc: Services, chosen: RunFilter, limit: int) -> tuple[list[RunRecord], list[str]]:
    """Newest first, the first ``limit`` runs ``chosen`` keeps, of its model or of every
    registered model; and the keys of unreadable records met on the way."""
    names = [svc.registry.get(chosen.model).name] if chosen.model else svc.registry.names()
    ids = sorted(
        (i for found in read_all(svc.runs.ids_of, names) for i in found if chosen.keeps_id(i)),
        reverse=True,
    )
    out: list[RunRecord] = []
    unreadable: list[str] = []
    chunk = max(limit, WORKERS)
    for start in range(0, len(ids), chunk):
        for item in read_all(svc.runs.read_or_error, ids[start : start + chunk]):
            if isinstance(item, CorruptStateError):
                unreadable.append(item.key)
            elif item is not None and chosen.keeps(item):
                out.append(item)
                if len(out) >= limit:
                    return out, unreadable
    return out, unreadable


def batch(svc: Services, batch_id: str) -> dict[str, Any]:
    """What the batch record holds beyond its runs: where the notifier announced it (the
    Slack thread's channel, message ts and permalink when it recorded them), or null."""
    try:
        stored = svc.runs.batch(batch_id)
    except CorruptStateError as exc:
        return {"batch_id": batch_id, "slack": None, "error": str(exc)}
    slack = None
    if stored and isinstance(stored.get("channel"), str) and isinstance(stored.get("ts"), str):
        link = stored.get("permalink")
        slack = {
            "channel": stored["channel"],
            "ts": stored["ts"],
            "permalink": link if isinstance(link, str) and link.startswith("https://") else None,
        }
    return {"batch_id": batch_id, "recorded": stored is not None, "slack": slack}
