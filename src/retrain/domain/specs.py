"""What a classifier is (ModelSpec) and where classifiers are looked up (Registry)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from retrain.domain.errors import UnknownModelError

MODEL_NAME = re.compile(r"^[A-Z][A-Z0-9_]{1,62}$")
COLUMN_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
METRICS = ("accuracy", "balanced_accuracy", "macro_f1")


@dataclass(frozen=True)
class Features:
    """Feature columns by kind. Numeric and boolean go in as numbers, categorical as codes."""

    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    boolean: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.numeric + self.categorical + self.boolean


@dataclass(frozen=True)
class ModelSpec:
    """Everything the runner needs to train one classifier.

    ``query`` is SQL with one bound parameter ``:since`` (the start of the data window);
    it must return the feature columns, the target column and ``created_at``.
    ``estimator`` builds a fresh, unfitted scikit-learn compatible classifier that takes
    the encoded feature matrix (numbers, categories as integer codes, NaN for missing).
    """

    name: str
    description: str
    query: str
    target: str
    features: Features
    estimator: Callable[[], Any]
    min_rows: int = 500
    primary_metric: str = "balanced_accuracy"
    metric_floor: float = 0.5
    tolerance: float = 0.01
    window_months: int = 36
    test_size: float = 0.2
    min_class_rows: int = 10
    max_null_rate: float = 0.6
    random_state: int = 42
    tags: dict[str, str] = field(default_factory=dict)
    # A unique row key the query returns: partitions and the hash holdout of the Dask engine
    key_column: str | None = None

    def __post_init__(self) -> None:
        problems = []
        if not MODEL_NAME.match(self.name):
            problems.append(f"name {self.name!r} must match {MODEL_NAME.pattern}")
        if self.primary_metric not in METRICS:
            problems.append(f"primary_metric must be one of {', '.join(METRICS)}")
        if ":since" not in self.query:
            problems.append("query must use the bound parameter :since for its data window")
        if not self.features.all:
            problems.append("at least one feature column is required")
        if self.target in self.features.all:
            problems.append(f"target {self.target!r} is also listed as a feature")
        if len(set(self.features.all)) != len(self.features.all):
            problems.append("a feature column is listed twice")
        if not 0 < self.test_size < 1:
            problems.append("test_size must be between 0 and 1")
        if self.min_class_rows < 2:
            problems.append("min_class_rows must be at least 2 (stratified split)")
        if self.key_column is not None and (
            not COLUMN_NAME.match(self.key_column) or self.key_column in self.columns
        ):
            problems.append(
                f"key_column {self.key_column!r} must be a lowercase column name "
                "that is neither a feature nor the target"
            )
        if problems:
            raise ValueError(f"invalid ModelSpec {self.name!r}: " + "; ".join(problems))

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.features.all, self.target)


class Registry:
    """Registered classifiers by name."""

    def __init__(self, specs: list[ModelSpec] | None = None) -> None:
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs or []:
            self.register(spec)

    def register(self, spec: ModelSpec) -> ModelSpec:
        if spec.name in self._specs:
            raise ValueError(f"model {spec.name!r} is registered twice")
        self._specs[spec.name] = spec
        return spec

    def get(self, name: str) -> ModelSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownModelError(name, self._specs) from None

    def names(self) -> list[str]:
        return sorted(self._specs)

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._specs[name] for name in self.names())

    def __contains__(self, name: object) -> bool:
        return name in self._specs
