"""The ports the service layer depends on. Adapters implement them; tests fake them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from retrain.domain.runs import RunRecord
    from retrain.domain.specs import ModelSpec


class TrainingSource(Protocol):
    """Read-only access to training rows."""

    def load(self, spec: ModelSpec, since: date, max_rows: int | None = None) -> pd.DataFrame:
        """Rows of ``spec.query`` for the window starting at ``since``, newest first when
        ``max_rows`` cuts them; columns typed after ``spec.features``."""
        ...

    def ping(self) -> None:
        """Raise BackendError if the database does not answer."""
        ...


class LoadedRows(Protocol):
    """A run's training rows, wherever they are (one frame, or partitions on a cluster)."""

    @property
    def count(self) -> int: ...

    def window(self, since: date) -> dict[str, str | None]:
        """``since`` and the first and last ``created_at`` of the rows."""
        ...

    def fingerprint(self, spec: ModelSpec) -> dict[str, str]:
        """Hashes of the query text and of the rows."""
        ...


class CheckedRows(Protocol):
    """Validated rows: findings for the card and the data profile."""

    findings: list[dict[str, Any]]
    profile: dict[str, Any]


class Holdout(Protocol):
    """Training rows and the holdout they were split into."""

    @property
    def rows_train(self) -> int: ...

    @property
    def rows_test(self) -> int: ...

    def evaluate(self, model: Any) -> dict[str, Any]:
        """``training.evaluate`` metrics of ``model`` (candidate or champion) on the holdout."""
        ...


class TrainingEngine(Protocol):
    """Where the data-bound steps of a run happen: in the process (local) or on a cluster.
    The runner calls them in order; what comes back is engine-neutral (the fitted model is
    the same pipeline type either way, stored and loaded the same way)."""

    def load(self, spec: ModelSpec, since: date, max_rows: int | None) -> LoadedRows: ...

    def validate(
        self, rows: Any, spec: ModelSpec, champion_profile: dict[str, Any] | None
    ) -> CheckedRows:
        """Stop with DataValidationError on unusable rows (see training/validate.py)."""
        ...

    def split(self, checked: Any, spec: ModelSpec) -> Holdout: ...

    def fit(self, spec: ModelSpec, holdout: Any) -> Any:
        """The fitted pipeline (features + EncodedLabelClassifier)."""
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
