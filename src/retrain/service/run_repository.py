"""Run records, the one-active-run-per-model mark and batches, on any ObjectStore.

<run_id>.json            run record: created create-only, then every save is a
                         compare-and-swap against the ETag it was read with
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

# A queued or running run that has not saved progress for this long is abandoned (its
# message was never sent, or every attempt died with its instance): it no longer blocks.
STALE_AFTER = timedelta(hours=6)
_REPAIR_RECORD = "delete it or replace it with a valid record"


class RunRepository:
    def __init__(self, store: ObjectStore, stale_after: timedelta = STALE_AFTER) -> None:
        self.store = store
        self.stale_after = stale_after

    # records ------------------------------------------------------------------------
    def create(self, record: RunRecord) -> bool:
        """Write a new record only if its run id is free; False if it is taken."""
        record.updated_at = iso(utcnow())
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
        self, model: str | None = None, status: str | None = None, limit: int = 50
    ) -> builtins.list[RunRecord]:
        return self.scan(model, status, limit)[0]

    def scan(
        self, model: str | None = None, status: str | None = None, limit: int = 50
    ) -> tuple[builtins.list[RunRecord], builtins.list[str]]:
        """Newest first, and the keys of unreadable records met on the way (skipped, so one
        corrupt record never hides the others). Run ids start with their UTC time and name
        their model, so the filter by model and the order need no reads."""
        ids = []
        for key in self.store.list(""):
            if not key.endswith(".json") or "/" in key:
                continue
            match = RUN_ID.match(key[: -len(".json")])
            if match and (model is None or match["model"] == model):
                ids.append(key[: -len(".json")])
        out: builtins.list[RunRecord] = []
        unreadable: builtins.list[str] = []
        for run_id in sorted(ids, reverse=True):
            try:
                record = self.find(run_id)
            except CorruptStateError as exc:
                logger.warning("{}", exc)
                unreadable.append(exc.key)
                continue
            if record and (status is None or record.status == status):
                out.append(record)
                if len(out) >= limit:
                    break
        return out, unreadable

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
