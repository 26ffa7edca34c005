"""Run records, the one-active-run-per-model mark and batches, on any ObjectStore.

<run_id>.json            run record: created create-only, then every save is a
                         compare-and-swap against the ETag it was read with
by-model/<MODEL>/<run_id> empty index entry, written before the record
by-caller/<caller>/<run_id> the same, per start request of an HTTP caller: its first run
active/<MODEL>.json      mark of the model's queued or running run, create-only
batches/<batch_id>.json  runs started together and their notifier state (e.g. Slack thread)
"""

from __future__ import annotations

import builtins
import contextlib
import secrets
from datetime import datetime, timedelta

from loguru import logger

from retrain.domain.errors import CorruptStateError, NotFoundError, RunAlreadyActiveError
from retrain.domain.ports import AlreadyExists, ObjectStore, PreconditionFailed
from retrain.domain.runs import RUN_ID, Outcome, RunRecord, RunStatus, iso, utcnow
from retrain.service import stored
from retrain.service.parallel import WORKERS, read_all

# A queued or running run that has not saved progress for this long is abandoned (its
# message was never sent, or every attempt died with its instance): it no longer blocks.
STALE_AFTER = timedelta(hours=6)
INDEX = "by-model"  # by-model/<MODEL>/<run_id>: empty markers, one short listing per model
CALLERS = "by-caller"  # by-caller/<caller>/<run_id>: start requests, for the rate limit
INDEXED = f"{INDEX}/_indexed"  # records older than the index have been indexed
_REPAIR_RECORD = "delete it or replace it with a valid record"


class RunRepository:
    def __init__(self, store: ObjectStore, stale_after: timedelta = STALE_AFTER) -> None:
        self.store = store
        self.stale_after = stale_after
        self._indexed = False

    # records ------------------------------------------------------------------------
    def create(self, record: RunRecord) -> bool:
        """Write a new record only if its run id is free; False if it is taken. Its index
        entry is written first: an entry without a record is skipped by every reader."""
        self._ensure_index(writing=True)
        self._index(record.run_id)
        record.updated_at = record.created_at  # the same bytes if asked again (start.py)
        try:
            record.etag = self.store.create(f"{record.run_id}.json", _encode(record))
        except AlreadyExists:
            return False
        return True

    def save(self, record: RunRecord) -> RunRecord:
        """Compare-and-swap against the ETag the record was read or last saved with
        (``None``: only if no record exists). PreconditionFailed: someone else wrote it."""
        record.updated_at = iso(utcnow())
        record.etag = self.store.replace(f"{record.run_id}.json", _encode(record), record.etag)
        return record

    def get(self, run_id: str) -> RunRecord:
        key = f"{run_id}.json"
        obj = self.store.get(key) if RUN_ID.match(run_id) else None
        if obj is None:
            raise NotFoundError(f"no run {run_id[:120]!r}")
        record = stored.parse(obj, "run record", key, RunRecord.from_dict, _REPAIR_RECORD)
        if record.run_id != run_id:
            raise CorruptStateError("run record", key, "it names another run", _REPAIR_RECORD)
        record.etag = obj.etag
        return record

    def find(self, run_id: str) -> RunRecord | None:
        try:
            return self.get(run_id)
        except NotFoundError:
            return None

    def list(
        self,
        model: str | None = None,
        status: str | None = None,
        limit: int = 50,
        models: builtins.list[str] | None = None,
    ) -> builtins.list[RunRecord]:
        return self.scan(model, status, limit, models)[0]

    def scan(
        self,
        model: str | None = None,
        status: str | None = None,
        limit: int = 50,
        models: builtins.list[str] | None = None,
    ) -> tuple[builtins.list[RunRecord], builtins.list[str]]:
        """Newest first: ``model``'s runs, else those of ``models`` (else every run), and
        the keys of unreadable records met on the way (skipped, so one corrupt record never
        hides the others). Reads the per-model index, not the whole container, and the
        records side by side."""
        if model is not None:
            ids = self.ids_of(model)
        elif models is not None:
            ids = [i for found in read_all(self.ids_of, models) for i in found]
        else:
            ids = self._all_ids()
        out: builtins.list[RunRecord] = []
        unreadable: builtins.list[str] = []
        ordered = sorted(ids, reverse=True)
        chunk = max(limit, WORKERS)
        for start in range(0, len(ordered), chunk):
            for item in read_all(self.read_or_error, ordered[start : start + chunk]):
                if isinstance(item, CorruptStateError):
                    unreadable.append(item.key)
                elif item and (status is None or item.status == status):
                    out.append(item)
                    if len(out) >= limit:
                        return out, unreadable
        return out, unreadable

    def read_or_error(self, run_id: str) -> RunRecord | CorruptStateError | None:
        """The record, None if there is none, or the error that names it if unreadable."""
        try:
            return self.find(run_id)
        except CorruptStateError as exc:
            logger.warning("{}", exc)
            return exc

    def ids_of(self, model: str) -> builtins.list[str]:
        """``model``'s run ids, oldest first, from its index (one short listing)."""
        self._ensure_index()
        prefix = f"{INDEX}/{model}/"
        return [k[len(prefix) :] for k in self.store.list(prefix) if RUN_ID.match(k[len(prefix) :])]

    def note_caller(self, caller: str, run_id: str) -> None:
        """``caller`` made a start request; ``run_id`` is its first run (rate_limit.py)."""
        self.store.create(f"{CALLERS}/{caller}/{run_id}", b"")

    def ids_of_caller(self, caller: str) -> builtins.list[str]:
        """The first run id of each start request ``caller`` made, oldest first."""
        prefix = f"{CALLERS}/{caller}/"
        return [k[len(prefix) :] for k in self.store.list(prefix) if RUN_ID.match(k[len(prefix) :])]

    def active_ids(self) -> dict[str, str]:
        """Every model's active run id: one listing, then the few marks there are."""
        keys = [k for k in self.store.list("active/") if k.endswith(".json")]
        models = [k[len("active/") : -len(".json")] for k in keys]
        return {m: r for m, r in zip(models, read_all(self.active, models), strict=True) if r}

    def _all_ids(self) -> builtins.list[str]:
        return [
            key[: -len(".json")]
            for key in self.store.list("")
            if key.endswith(".json") and "/" not in key and RUN_ID.match(key[: -len(".json")])
        ]

    def _ensure_index(self, writing: bool = False) -> None:
        """Index the records written before the index existed, once per store. A read of
        an empty store writes nothing (it creates no folder); the first record does."""
        if self._indexed or self.store.get(INDEXED) is not None:
            self._indexed = True
            return
        existing = self._all_ids()
        for run_id in existing:
            self._index(run_id)
        if existing or writing:
            self.store.create(INDEXED, b"1")
            self._indexed = True

    def _index(self, run_id: str) -> None:
        match = RUN_ID.match(run_id)
        if match:  # empty and create-only: equal bytes, so a repeat is a no-op
            self.store.create(f"{INDEX}/{match['model']}/{run_id}", b"")

    def discard(self, record: RunRecord) -> None:
        """Remove a record that never started (its model was busy), if still unchanged."""
        with contextlib.suppress(PreconditionFailed):
            self.store.delete(f"{record.run_id}.json", record.etag)

    # one active run per model -------------------------------------------------------
    def claim(self, model: str, run_id: str) -> None:
        """Mark ``run_id`` as the model's active run, atomically. If another run holds the
        mark and is still queued or running -> RunAlreadyActiveError; a stale mark (its run
        finished, vanished or is unreadable) is taken over with a compare-and-swap."""
        key = f"active/{model}.json"
        data = stored.dumps({"run_id": run_id})
        for _ in range(5):
            try:
                self.store.create(key, data)
                return
            except AlreadyExists:
                obj = self.store.get(key)
                if obj is None:
                    continue
                holder = _holder(obj.data)
                if holder == run_id:
                    return
                if holder is not None and self._blocks(holder):
                    raise RunAlreadyActiveError(model, holder) from None
                try:
                    self.store.replace(key, data, obj.etag)
                    return
                except PreconditionFailed:
                    continue
        raise RunAlreadyActiveError(model, self.active(model) or "unknown")

    def _blocks(self, holder: str) -> bool:
        """Whether the mark's run still holds its model; an abandoned one is failed."""
        try:
            record = self.find(holder)
        except CorruptStateError as exc:
            logger.warning("{}; its model's active mark is taken over", exc)
            return False
        if record is None or record.status.finished:
            return False
        last = record.heartbeat_at or record.updated_at or record.created_at
        if utcnow() - datetime.fromisoformat(last) <= self.stale_after:
            return True
        record.status = RunStatus.FAILED
        record.outcome = Outcome.FAILED
        record.finished_at = iso(utcnow())
        record.error = {
            "stage": str(record.stage),
            "type": "Abandoned",
            "message": f"no progress for {self.stale_after}; superseded by a new run",
        }
        try:
            self.save(record)
        except PreconditionFailed:  # it moved after all: look again
            return True
        return False

    def active(self, model: str) -> str | None:
        obj = self.store.get(f"active/{model}.json")
        return _holder(obj.data) if obj else None

    def release(self, model: str, run_id: str) -> None:
        obj = self.store.get(f"active/{model}.json")
        if obj is not None and _holder(obj.data) == run_id:
            with contextlib.suppress(PreconditionFailed):  # another run took it over
                self.store.delete(f"active/{model}.json", obj.etag)

    # batches (several runs started together, reported together) ----------------------
    def claim_batch(self, batch_id: str, run_ids: builtins.list[str]) -> bool:
        """Create the batch; True only for its creator. Another caller's run ids are merged
        in (overlapping timer firings each start part of the same batch)."""
        claim = {"batch_id": batch_id, "run_ids": run_ids, "claimed_by": secrets.token_hex(8)}
        try:
            self.store.create(f"batches/{batch_id}.json", stored.dumps(claim))
            return True
        except AlreadyExists:
            self.update_batch(batch_id, {"run_ids": run_ids})
            return False

    def batch(self, batch_id: str) -> dict | None:
        key = f"batches/{batch_id}.json"
        obj = self.store.get(key)
        return None if obj is None else stored.parse(obj, "batch record", key, _batch)

    def update_batch(self, batch_id: str, state: dict) -> None:
        """Merge ``state`` into the batch (run ids are united) with compare-and-swap."""
        key = f"batches/{batch_id}.json"
        for _ in range(10):
            obj = self.store.get(key)
            current = stored.parse(obj, "batch record", key, _batch) if obj else {}
            merged = {"batch_id": batch_id, **current, **state}
            merged["run_ids"] = sorted(
                set(current.get("run_ids", [])) | set(state.get("run_ids", []))
            )
            try:
                self.store.replace(key, stored.dumps(merged), obj.etag if obj else None)
                return
            except PreconditionFailed:
                continue
        logger.warning("batch {} not updated: it kept changing", batch_id)

    def claim_batch_report(self, batch_id: str) -> bool:
        """True exactly once per batch: whoever finishes the last run reports the batch."""
        try:  # unique bytes: two reporters never both count as its writer
            self.store.create(f"batches/{batch_id}.reported", secrets.token_hex(8).encode())
            return True
        except AlreadyExists:
            return False


def _encode(record: RunRecord) -> bytes:
    return stored.dumps(record.to_dict())


def _holder(data: bytes) -> str | None:
    """The run id an active mark names; None if the mark is unreadable."""
    try:
        decoded = stored.decode(data, "active mark", "active")
    except CorruptStateError:
        return None
    holder = decoded.get("run_id") if isinstance(decoded, dict) else None
    return holder if isinstance(holder, str) and RUN_ID.match(holder) else None


def _batch(data: object) -> dict:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    run_ids = data.get("run_ids", [])
    if not isinstance(run_ids, builtins.list) or not all(isinstance(r, str) for r in run_ids):
        raise ValueError("'run_ids' is not a list of run ids")
    return data
