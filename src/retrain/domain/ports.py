"""The ports the service layer depends on. Adapters implement them; tests fake them."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

    from retrain.domain.decay import DecayResult
    from retrain.domain.runs import RunRecord
    from retrain.domain.specs import ModelSpec


class TrainingSource(Protocol):
    """Read-only access to training rows."""

    def load(
        self,
        spec: ModelSpec,
        since: date | None,
        max_rows: int | None = None,
        on_chunk: Callable[[pd.DataFrame], None] | None = None,
    ) -> pd.DataFrame:
        """Rows of ``spec.query`` for the window starting at ``since`` (None: the spec has no
        time column, all rows). With ``max_rows``, the rows with the largest
        ``spec.newest_by``; without such a column, at most ``max_rows + 1`` rows, so the
        caller sees that the limit would cut. Columns typed after ``spec.features`` where
        no value is lost; values that do not fit their kind are left for validation.
        ``on_chunk``, where the source reads in parts, sees each part before the next is
        read; what it raises stops the load (the memory guard, ``training/memory.py``)."""
        ...

    def count_before(self, spec: ModelSpec, since: date) -> tuple[int, str | None]:
        """How many rows the query holds before ``since``, and the newest of their times."""
        ...

    def ping(self) -> None:
        """Raise BackendError if the database does not answer."""
        ...


class LoadedRows(Protocol):
    """A run's training rows, wherever they are (one frame, or partitions on a cluster)."""

    @property
    def count(self) -> int: ...

    def window(self, spec: ModelSpec, since: date | None) -> dict[str, str | None]:
        """The data window: ``spec.time_column``, ``since`` and the first and last time in
        the rows (all None when the spec trains on every row)."""
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

    @property
    def rule(self) -> Any:
        """The ``training.holdout.Rule`` that chose the test rows (recorded in the card)."""
        ...

    def evaluate(self, model: Any) -> dict[str, Any]:
        """``training.evaluate`` metrics of ``model`` on the holdout."""
        ...

    def texts_read_once(self, *models: Any) -> AbstractContextManager[None]:
        """While open, ``evaluate`` and ``triples`` of ``models`` (None ones left out)
        tokenise the test rows' texts once for all of them (``training.evaluate.
        texts_read_once``); the same results. An engine may do nothing ahead."""
        ...

    def triples(self, candidate: Any, champion: Any, sight: Any) -> Any:
        """``training.evaluate.triples``: both models' predictions on the test rows, counted,
        and which of them the champion (``sight``: what its card says) did not train on."""
        ...

    def feature_importance(
        self, model: Any, metric: str, random_state: int
    ) -> dict[str, Any] | None:
        """Permutation importance on (a sample of) the holdout, for the card; None where
        the engine does not compute it."""
        ...


class TrainingEngine(Protocol):
    """Where the data-bound steps of a run happen: in the process (local) or on a cluster.
    The runner calls them in order; what comes back is engine-neutral (the fitted model is
    the same pipeline type either way, stored and loaded the same way)."""

    name: str  # "local", "dask": written to the run record and the model card

    def refuses(self, spec: ModelSpec) -> str | None:
        """Why this engine cannot train ``spec`` (the run then trains in-process), or None."""
        ...

    def load(self, spec: ModelSpec, since: date | None, max_rows: int | None) -> LoadedRows: ...

    def validate(
        self,
        rows: Any,
        spec: ModelSpec,
        champion_profile: dict[str, Any] | None,
        window: Any = None,
    ) -> CheckedRows:
        """Stop with DataValidationError on unusable rows (see training/validate.py);
        ``window`` (validate.Window) words a stop for too few rows in the data window."""
        ...

    def split(self, checked: Any, spec: ModelSpec, now: Any = None) -> Holdout:
        """The holdout by the spec's rule; ``now``: the run's time, for ``test_months``."""
        ...

    def fit(
        self,
        spec: ModelSpec,
        holdout: Any,
        on_round: Callable[[int, int], None] | None = None,
    ) -> Any:
        """The fitted pipeline (features + EncodedLabelClassifier). ``on_round(done, total)``
        reports boosting rounds where the engine can (progress on a terminal)."""
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
    container implement it; everything about versions, champions and runs is built on it.

    A conditional write that is refused although the object already holds exactly the bytes
    being written succeeds (with that object's ETag): over a network the first try may have
    landed and only its answer been lost. Every writer puts something unique in what it
    writes (a run id, an attempt id, a time), so equal bytes mean the same write."""

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

    # Optional (TaggableStore): ``set_tags(key, tags)``. A store that has it labels objects
    # for the storage account's lifecycle policy (service/lifecycle.py); one without it
    # (the local folder has it as a no-op) simply keeps every object.


@runtime_checkable
class TaggableStore(Protocol):
    """An ObjectStore that can label an object with blob index tags, which a lifecycle policy
    filters on. Tags are not content: setting them changes neither the bytes nor the ETag."""

    def set_tags(self, key: str, tags: dict[str, str]) -> None:
        """Replace ``key``'s tags with ``tags``; BackendError if ``key`` is missing or the
        store refuses."""
        ...


class Notifier(Protocol):
    """Tells people what happened. The service catches what it raises; a notifier failure
    never changes a run. ``batch`` is the state ``batch_started`` returned (for example a
    Slack thread), stored with the batch so any instance can continue it."""

    def batch_started(self, batch_id: str, records: list[RunRecord]) -> dict | None: ...

    def run_finished(self, record: RunRecord, batch: dict | None) -> dict | None:
        """Post the run; where its message is when it can be changed later (Slack's bot
        token: channel and ts), else None."""
        ...

    def approval_decided(self, record: RunRecord) -> None:
        """The version ``record`` published was approved or rejected outside the run's own
        message (the CLI, the console): ``summary["approval"]`` says how, and
        ``summary["message"]`` is where ``run_finished`` posted it (if anywhere)."""
        ...

    def batch_finished(
        self, batch_id: str, records: list[RunRecord], batch: dict | None
    ) -> None: ...

    def decay_checked(self, results: list[DecayResult]) -> None:
        """A champion-decay check ended (service/decay.py): one result per model checked.
        Say so when any of them is an alarm or a failed check (``status.told``); stay quiet
        otherwise."""
        ...


class Progress(Protocol):
    """What long work tells a person watching it. The runner reports stages and rows, the fit
    its boosting rounds; an entry point decides whether and how to show it. Implementations
    return quickly and never raise."""

    def stage(self, model: str, stage: str) -> None:
        """``model``'s run entered ``stage`` (load, validate, split, fit, evaluate, ...)."""
        ...

    def rows(self, model: str, count: int) -> None:
        """``count`` training rows were loaded."""
        ...

    def rounds(self, model: str, done: int, total: int) -> None:
        """The fit finished round ``done`` of at most ``total`` (early stopping may end it
        sooner)."""
        ...


class NoProgress:
    """The default: tells no one (Functions, tests, a CLI that is not on a terminal)."""

    def stage(self, model: str, stage: str) -> None:
        pass

    def rows(self, model: str, count: int) -> None:
        pass

    def rounds(self, model: str, done: int, total: int) -> None:
        pass
