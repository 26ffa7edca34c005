"""Run records and the one-active-run-per-model marker, on any ObjectStore.

<run_id>.json            run record (runs container)
active/<MODEL>.json      marker of the model's queued or running run, create-only
"""

from __future__ import annotations

import builtins
import contextlib
import json
from datetime import datetime, timedelta

from retrain.domain.errors import NotFoundError, RunAlreadyActiveError
from retrain.domain.ports import AlreadyExists, ObjectStore, PreconditionFailed
from retrain.domain.runs import RUN_ID, Outcome, RunRecord, RunStatus, iso, utcnow
from retrain.service.parallel import WORKERS, read_all

# A queued or running run that has not saved progress for this long is abandoned (its
# message was never sent, or every attempt died with its instance): it no longer blocks.
STALE_AFTER = timedelta(hours=6)


class RunRepository:
    def __init__(self, store: ObjectStore, stale_after: timedelta = STALE_AFTER) -> None:
        self.store = store
        self.stale_after = stale_after

    def save(self, record: RunRecord) -> RunRecord:
        record.updated_at = iso(utcnow())
        data = json.dumps(record.to_dict(), indent=2, sort_keys=True).encode()
        obj = self.store.get(f"{record.run_id}.json")
        self.store.replace(f"{record.run_id}.json", data, obj.etag if obj else None)
        return record

    def get(self, run_id: str) -> RunRecord:
        obj = self.store.get(f"{run_id}.json") if RUN_ID.match(run_id) else None
        if obj is None:
            raise NotFoundError(f"no run {run_id!r}")
        return RunRecord.from_dict(json.loads(obj.data))

    def find(self, run_id: str) -> RunRecord | None:
        try:
            return self.get(run_id)
        except NotFoundError:
            return None

    def list(
        self, model: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[RunRecord]:
        """Newest first. Run ids start with their UTC time and name their model, so the
        filter by model and the order need no reads; status needs the record."""
        ids = []
        for key in self.store.list(""):
            if not key.endswith(".json") or "/" in key:
                continue
            match = RUN_ID.match(key[: -len(".json")])
            if match and (model is None or match["model"] == model):
                ids.append(key[: -len(".json")])
        out: list[RunRecord] = []
        ordered = sorted(ids, reverse=True)
        chunk = max(limit, WORKERS)  # read side by side, in order
        for start in range(0, len(ordered), chunk):
            for record in read_all(self.find, ordered[start : start + chunk]):
                if record and (status is None or record.status == status):
                    out.append(record)
                    if len(out) >= limit:
                        return out
        return out

    def newest_ids(self) -> dict[str, str]:
        """Each model's newest run id, from one listing (run ids sort by time)."""
        newest: dict[str, str] = {}
        for key in self.store.list(""):
            match = RUN_ID.match(key[: -len(".json")]) if key.endswith(".json") else None
            if match and "/" not in key and key[:-5] > newest.get(match["model"], ""):
                newest[match["model"]] = key[:-5]
        return newest

    def active_ids(self) -> dict[str, str]:
        """Every model's active run id: one listing, then the few marks there are."""
        keys = [k for k in self.store.list("active/") if k.endswith(".json")]
        models = [k[len("active/") : -len(".json")] for k in keys]
        return {m: r for m, r in zip(models, read_all(self.active, models), strict=True) if r}

    # one active run per model -------------------------------------------------------
    def claim(self, model: str, run_id: str) -> None:
        """Mark ``run_id`` as the model's active run, atomically. If another run holds the
        mark and is still queued or running -> RunAlreadyActiveError; a stale mark (its run
        finished or vanished) is taken over with a compare-and-swap."""
        key = f"active/{model}.json"
        data = json.dumps({"run_id": run_id}).encode()
        for _ in range(5):
            try:
                self.store.create(key, data)
                return
            except AlreadyExists:
                obj = self.store.get(key)
                if obj is None:
                    continue
                holder = json.loads(obj.data)["run_id"]
                if holder == run_id:
                    return
                record = self.find(holder)
                if record is not None and not record.status.finished:
                    if not self._abandoned(record):
                        raise RunAlreadyActiveError(model, holder) from None
                    self._fail_abandoned(record)
                try:
                    self.store.replace(key, data, obj.etag)
                    return
                except PreconditionFailed:
                    continue
        obj = self.store.get(key)
        holder = json.loads(obj.data)["run_id"] if obj else "unknown"
        raise RunAlreadyActiveError(model, holder)

    def _abandoned(self, record: RunRecord) -> bool:
        last = record.updated_at or record.created_at
        return utcnow() - datetime.fromisoformat(last) > self.stale_after

    def _fail_abandoned(self, record: RunRecord) -> None:
        record.status = RunStatus.FAILED
        record.outcome = Outcome.FAILED
        record.finished_at = iso(utcnow())
        record.error = {
            "stage": str(record.stage),
            "type": "Abandoned",
            "message": f"no progress for {self.stale_after}; superseded by a new run",
        }
        self.save(record)

    def active(self, model: str) -> str | None:
        obj = self.store.get(f"active/{model}.json")
        return json.loads(obj.data)["run_id"] if obj else None

    def release(self, model: str, run_id: str) -> None:
        obj = self.store.get(f"active/{model}.json")
        if obj is not None and json.loads(obj.data)["run_id"] == run_id:
            with contextlib.suppress(PreconditionFailed):  # another run took it over
                self.store.delete(f"active/{model}.json", obj.etag)

    # batches (several runs started together, reported together) ----------------------
    def claim_batch(self, batch_id: str, run_ids: builtins.list[str]) -> bool:
        """Create the batch once; False if it already exists."""
        data = json.dumps({"batch_id": batch_id, "run_ids": run_ids}).encode()
        try:
            self.store.create(f"batches/{batch_id}.json", data)
            return True
        except AlreadyExists:
            return False

    def batch(self, batch_id: str) -> dict | None:
        obj = self.store.get(f"batches/{batch_id}.json")
        return json.loads(obj.data) if obj else None

    def update_batch(self, batch_id: str, state: dict) -> None:
        for _ in range(5):
            obj = self.store.get(f"batches/{batch_id}.json")
            current = json.loads(obj.data) if obj else {"batch_id": batch_id}
            data = json.dumps({**current, **state}).encode()
            try:
                self.store.replace(f"batches/{batch_id}.json", data, obj.etag if obj else None)
                return
            except PreconditionFailed:
                continue

    def claim_batch_report(self, batch_id: str) -> bool:
        """True exactly once per batch: whoever finishes the last run reports the batch."""
        try:
            self.store.create(f"batches/{batch_id}.reported", b"1")
            return True
        except AlreadyExists:
            return False

    def discard(self, run_id: str) -> None:
        """Remove a record that never started (its model was busy)."""
        self.store.delete(f"{run_id}.json")
