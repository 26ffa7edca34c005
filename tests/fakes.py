"""Hand-written in-memory fakes of the ports. Tests assert on their state, not on calls."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from retrain.domain.errors import BackendError
from retrain.domain.ports import AlreadyExists, PreconditionFailed, StoredObject
from retrain.domain.runs import RunRecord
from retrain.domain.specs import Features, ModelSpec


class MemoryObjectStore:
    def __init__(self) -> None:
        self.objects: dict[str, StoredObject] = {}
        self._etags = itertools.count(1)

    def get(self, key: str) -> StoredObject | None:
        return self.objects.get(key)

    def create(self, key: str, data: bytes) -> str:
        if key in self.objects:
            if self.objects[key].data == data:  # the same write (see the ObjectStore port)
                return self.objects[key].etag
            raise AlreadyExists(key)
        return self._put(key, data)

    def replace(self, key: str, data: bytes, etag: str | None) -> str:
        current = self.objects.get(key)
        if (current.etag if current else None) != etag:
            if current is not None and current.data == data:
                return current.etag
            raise PreconditionFailed(key)
        return self._put(key, data)

    def delete(self, key: str, etag: str | None = None) -> None:
        current = self.objects.get(key)
        if current is not None and etag is not None and current.etag != etag:
            raise PreconditionFailed(key)
        self.objects.pop(key, None)

    def list(self, prefix: str = "") -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))

    def uri(self, key: str) -> str:
        return f"memory://{key}"

    def ping(self) -> None:
        pass

    def _put(self, key: str, data: bytes) -> str:
        etag = f'"{next(self._etags)}"'
        self.objects[key] = StoredObject(bytes(data), etag)
        return etag

    def tamper(self, key: str) -> None:
        """Flip one byte in the middle of a stored object."""
        data = bytearray(self.objects[key].data)
        data[len(data) // 2] ^= 0xFF
        self._put(key, bytes(data))


class FakeSource:
    """Returns the frame set for each model; ``fail_with`` makes the next loads raise."""

    def __init__(self, frames: dict[str, pd.DataFrame] | None = None) -> None:
        self.frames = frames or {}
        self.fail_with: Exception | None = None
        self.loads: list[tuple[str, date]] = []
        self.in_parts = True  # hands its rows to ``on_chunk`` (False: a source read whole)

    def load(
        self,
        spec: ModelSpec,
        since: date | None,
        max_rows: int | None = None,
        on_chunk: Callable[[pd.DataFrame], None] | None = None,
    ) -> pd.DataFrame:
        if self.fail_with is not None:
            raise self.fail_with
        self.loads.append((spec.name, since))
        frame = self.frames[spec.name].copy()
        if spec.time_column in frame and since is not None:
            frame = frame[frame[spec.time_column] >= pd.Timestamp(since)]
        if max_rows is not None:
            frame = (
                frame.head(max_rows + 1)
                if spec.newest_by is None
                else frame.sort_values(spec.newest_by, ascending=False).head(max_rows)
            )
        if on_chunk is not None and self.in_parts:  # one part: the whole frame
            on_chunk(frame)
        return frame

    def count_before(self, spec: ModelSpec, since: date) -> tuple[int, str | None]:
        times = self.frames[spec.name][spec.time_column]
        older = times[times < pd.Timestamp(since)]
        return len(older), (str(older.max()) if len(older) else None)

    def ping(self) -> None:
        if self.fail_with is not None:
            raise BackendError("fake source down")


class RecordingNotifier:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.runs: list[RunRecord] = []
        self.batches_started: list[str] = []
        self.batches_finished: list[str] = []
        self.decay_checks: list[list] = []  # each check's results (DecayResult)
        self.decided: list[RunRecord] = []  # approval_decided's runs

    def batch_started(self, batch_id: str, records: list[RunRecord]) -> dict | None:
        self.batches_started.append(batch_id)
        return {"thread": batch_id}

    def run_finished(self, record: RunRecord, batch: dict | None) -> dict | None:
        if self.fail:
            raise RuntimeError("notifier down")
        self.runs.append(record)
        return {"channel": "C0FAKE", "ts": f"{len(self.runs)}.000100"}

    def approval_decided(self, record: RunRecord) -> None:
        if self.fail:
            raise RuntimeError("notifier down")
        self.decided.append(record)

    def batch_finished(self, batch_id: str, records: list[RunRecord], batch: dict | None) -> None:
        self.batches_finished.append(batch_id)

    def decay_checked(self, results: list) -> None:
        if self.fail:
            raise RuntimeError("notifier down")
        self.decay_checks.append(list(results))


def tree() -> object:
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(max_depth=6, random_state=0)


def toy_spec(name: str = "TOY", **overrides: object) -> ModelSpec:
    values: dict = dict(
        name=name,
        description="toy",
        query="SELECT * FROM toy WHERE created_at >= :since",
        time_column="created_at",
        target="label",
        features=Features(numeric=("size",), categorical=("colour",), boolean=("coated",)),
        estimator=tree,
        min_rows=200,
        primary_metric="accuracy",
        metric_floor=0.6,
        tolerance=0.02,
        min_class_rows=10,
    )
    values.update(overrides)
    return ModelSpec(**values)


def toy_frame(
    rows: int = 1000,
    noise: float = 0.05,
    seed: int = 0,
    colours: tuple[str, ...] = ("red", "green", "blue"),
) -> pd.DataFrame:
    """``label`` follows ``size`` and ``colour``; ``noise`` of the labels are random."""
    rng = np.random.default_rng(seed)
    size = rng.uniform(0, 10, rows)
    colour = rng.choice(colours, rows)
    label = np.where(size < 4, "small", np.where(size < 7, "medium", "large")).astype(object)
    label[(colour == "red") & (size >= 7)] = "medium"
    flip = rng.random(rows) < noise
    label[flip] = rng.choice(["small", "medium", "large"], flip.sum())
    return pd.DataFrame(
        {
            "created_at": pd.date_range("2026-01-01", periods=rows, freq="h"),
            "size": size.astype("float32"),
            "colour": colour,
            "coated": rng.random(rows) < 0.5,
            "label": label,
        }
    )
