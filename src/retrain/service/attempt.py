"""One attempt at a run, claimed atomically on the run record.

The queue delivers at least once, and timers can overlap: the run record decides who
trains. An attempt claims the run with a compare-and-swap (status ``running``, a fresh
``attempt_id``); every later save is a compare-and-swap against the ETag it last wrote, so
an attempt that another one took over finds out at its next save and stops without
writing anything. While it holds the run, a heartbeat thread saves ``heartbeat_at`` every
``heartbeat_s``; a running record whose heartbeat is older than ``lease_s`` belongs to an
attempt that died, and the next delivery takes it over."""

from __future__ import annotations

import contextvars
import secrets
import threading
from datetime import datetime
from types import TracebackType

from loguru import logger

from retrain.domain.errors import AttemptSupersededError
from retrain.domain.ports import PreconditionFailed
from retrain.domain.runs import RunRecord, RunStatus, iso
from retrain.service.context import Services


def held_elsewhere(svc: Services, record: RunRecord) -> bool:
    """Whether a live attempt holds ``record`` (running, heartbeat within the lease)."""
    if record.status is not RunStatus.RUNNING:
        return False
    last = record.heartbeat_at or record.updated_at
    if last is None:
        return False
    try:
        age = (svc.clock() - datetime.fromisoformat(last)).total_seconds()
    except (ValueError, TypeError):
        return False
    return age < svc.lease_s


def claim(svc: Services, record: RunRecord) -> Attempt | None:
    """Take ``record`` (queued, or running under a dead attempt) for a new attempt; None if
    another writer changed it first."""
    record.status = RunStatus.RUNNING
    record.attempts += 1
    record.attempt_id = secrets.token_hex(6)
    record.started_at = iso(svc.clock())
    record.heartbeat_at = record.started_at
    try:
        svc.runs.save(record)
    except PreconditionFailed:
        return None
    return Attempt(svc, record)


class Attempt:
    def __init__(self, svc: Services, record: RunRecord) -> None:
        self.svc = svc
        self.record = record
        self.lost = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beater: threading.Thread | None = None

    def save(self) -> None:
        """Save the record if this attempt still holds it; else AttemptSupersededError.

        The stored record names its holder: a compare-and-swap that fails on a record this
        attempt still holds means an earlier save of ours landed although its answer was
        lost. Then the save is made again over it."""
        with self._lock:
            for _ in range(3):
                if self.lost:
                    raise AttemptSupersededError(self.record.run_id)
                self.record.heartbeat_at = iso(self.svc.clock())
                try:
                    self.svc.runs.save(self.record)
                    return
                except PreconditionFailed:
                    stored = self.svc.runs.get(self.record.run_id)
                    if stored.attempt_id == self.record.attempt_id and not stored.status.finished:
                        self.record.etag = stored.etag
                        continue
                    self.lost = True
            raise AttemptSupersededError(self.record.run_id)

    def check(self) -> None:
        if self.lost:
            raise AttemptSupersededError(self.record.run_id)

    def __enter__(self) -> Attempt:
        if self.svc.heartbeat_s > 0:
            context = contextvars.copy_context()  # the log lines keep the run id and model
            self._beater = threading.Thread(
                target=context.run, args=(self._beat,), name="run-heartbeat", daemon=True
            )
            self._beater.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._beater is not None:
            self._beater.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.svc.heartbeat_s):
            try:
                self.save()
            except AttemptSupersededError:
                return
            except Exception as exc:  # the main thread's next save will tell
                logger.warning("heartbeat not saved ({}); retrying", type(exc).__name__)
