"""The ports the service layer depends on. Adapters implement them; tests fake them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from retrain.domain.runs import RunRecord
    from retrain.domain.specs import ModelSpec


class TrainingSource(Protocol):
    """Read-only access to training rows."""

    def load(
        self, spec: ModelSpec, since: date | None, max_rows: int | None = None
    ) -> pd.DataFrame:
        """Rows of ``spec.query`` for the window starting at ``since`` (None: the spec has no
        time column, all rows). With ``max_rows``, the rows with the largest
        ``spec.newest_by``; without such a column, at most ``max_rows + 1`` rows, so the
        caller sees that the limit would cut. Columns typed after ``spec.features`` where
        no value is lost; values that do not fit their kind are left for validation."""
        ...

    def count_before(self, spec: ModelSpec, since: date) -> tuple[int, str | None]:
        """How many rows the query holds before ``since``, and the newest of their times."""
        ...

    def ping(self) -> None:
        """Raise BackendError if the database does not answer."""
        ...


class AlreadyExists(Exception):
    """A create-only write found the key taken."""


class PreconditionFailed(Exception):
    """A compare-and-swap write found a different ETag than expected."""


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    etag: str


class ObjectStore(Protocol):
    """A flat key -> bytes store with the two primitives the product's safety rests on:
    create-only writes and ETag compare-and-swap. A local folder and an Azure Blob
    container implement it; everything about versions, champions and runs is built on it."""

    def get(self, key: str) -> StoredObject | None: ...

    def create(self, key: str, data: bytes) -> str:
        """Write ``key`` only if it does not exist (else AlreadyExists); return its ETag.
        Readers never see a half-written object."""
        ...

    def replace(self, key: str, data: bytes, etag: str | None) -> str:
        """Write ``key`` only if its ETag is ``etag`` (``None``: only if it does not exist);
        else PreconditionFailed. Return the new ETag."""
        ...

    def delete(self, key: str, etag: str | None = None) -> None:
        """Delete ``key`` (if ``etag`` is given, only if unchanged). Missing is not an error."""
        ...

    def list(self, prefix: str = "") -> list[str]:
        """Keys starting with ``prefix``, sorted."""
        ...

    def uri(self, key: str) -> str:
        """Where an operator finds ``key`` (a path or a URL without credentials)."""
        ...

    def ping(self) -> None: ...


class Notifier(Protocol):
    """Tells people what happened. The service catches what it raises; a notifier failure
    never changes a run. ``batch`` is the state ``batch_started`` returned (for example a
    Slack thread), stored with the batch so any instance can continue it."""

    def batch_started(self, batch_id: str, records: list[RunRecord]) -> dict | None: ...

    def run_finished(self, record: RunRecord, batch: dict | None) -> None: ...

    def batch_finished(
        self, batch_id: str, records: list[RunRecord], batch: dict | None
    ) -> None: ...
