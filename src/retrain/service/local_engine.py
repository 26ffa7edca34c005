"""The in-process engine: one frame in memory, fitted by scikit-learn / XGBoost here.

This is the runner's original path, step for step: ``TrainingSource.load``,
``validate.validate``, ``fit.split`` (the rule of ``training/holdout.py``), ``fit.fit``,
``evaluate.evaluate``.
pandas and scikit-learn are imported when a run uses them, not when the app starts."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from retrain.domain.feedback import Correction
from retrain.domain.ports import TrainingSource
from retrain.domain.specs import ModelSpec

if TYPE_CHECKING:
    import pandas as pd

    from retrain.training.evaluate import Triples
    from retrain.training.fit import Split
    from retrain.training.holdout import Rule, Sight
    from retrain.training.validate import Validated


@dataclass
class LocalRows:
    frame: pd.DataFrame
    # after validation: what the card still needs of the loaded rows (``keep_summary``)
    _summary: tuple[int, tuple[str | None, str | None], dict[str, str]] | None = field(
        default=None, repr=False
    )

    @property
    def count(self) -> int:
        return self._summary[0] if self._summary else len(self.frame)

    def window(self, spec: ModelSpec, since: date | None) -> dict[str, str | None]:
        """The data window: its time column, start, and the first and last time loaded
        (all None when the spec trains on all rows)."""
        first, last = self._summary[1] if self._summary else self._first_last(spec)
        return {
            "column": spec.time_column,
            "since": since.isoformat() if since else None,
            "first": first,
            "last": last,
        }

    def _first_last(self, spec: ModelSpec) -> tuple[str | None, str | None]:
        if spec.time_column in self.frame.columns and not self.frame.empty:
            times = self.frame[spec.time_column]
            with contextlib.suppress(TypeError):  # not comparable: the window stays unnamed
                return str(times.min()), str(times.max())
        return None, None

    def fingerprint(self, spec: ModelSpec) -> dict[str, str]:
        from retrain.service import card as cards

        return self._summary[2] if self._summary else cards.fingerprint(spec, self.frame)

    def keep_summary(self, spec: ModelSpec) -> None:
        """Keep the count, window and fingerprint the card needs and let the rows go: once
        validated, the validated frame is the one the run goes on with, and a loaded frame
        held through the fit was the size of the rows again (docs/benchmarks.md)."""
        self._summary = (len(self.frame), self._first_last(spec), self.fingerprint(spec))
        self.frame = self.frame.iloc[:0].copy()


@dataclass
class LocalHoldout:
    data: Split
    # the last model scored and its predictions: the gate reuses the candidate's
    _predicted: tuple[Any, Any] | None = field(default=None, repr=False)

    @property
    def rows_train(self) -> int:
        return self.data.rows_train

    @property
    def rows_test(self) -> int:
        return len(self.data.y_test)

    @property
    def rule(self) -> Rule | None:
        return self.data.rule

    def predictions(self, model: Any) -> Any:
        if self._predicted is None or self._predicted[0] is not model:
            self._predicted = (model, model.predict(self.data.X_test))
        return self._predicted[1]

    def evaluate(self, model: Any) -> dict[str, Any]:
        from retrain.training import evaluate

        return evaluate.scores(self.data.y_test, self.predictions(model))

    def texts_read_once(self, *models: Any) -> AbstractContextManager[None]:
        from retrain.training import evaluate

        present = [m for m in models if m is not None]
        return evaluate.texts_read_once(present, self.data.X_test)

    def triples(self, candidate: Any, champion: Any, sight: Sight) -> Triples:
        from retrain.training import evaluate

        test_rows = self.data.test_rows
        assert test_rows is not None
        X, y = self.data.X_test, self.data.y_test
        ours = self.predictions(candidate)
        return evaluate.triples(candidate, champion, X, y, test_rows, sight, ours=ours)

    def feature_importance(
        self, model: Any, metric: str, random_state: int
    ) -> dict[str, Any] | None:
        from retrain.training import evaluate

        return evaluate.feature_importance(
            model,
            self.data.X_test,
            self.data.y_test,
            metric,
            random_state=random_state,
            train_rows=self.rows_train,
        )


class LocalEngine:
    name = "local"

    def __init__(self, source: TrainingSource, memory_limit_mb: int | None = None) -> None:
        self.source = source
        self.memory_limit_mb = memory_limit_mb

    def refuses(self, spec: ModelSpec) -> str | None:
        return None  # trains every spec

    def load(self, spec: ModelSpec, since: date | None, max_rows: int | None) -> LocalRows:
        """The rows, with the pre-flight memory check when the instance has a limit: while
        the source reads (``memory.load_guard``: a table that cannot fit stops unread),
        then on all rows read, before validation's copies (long texts peak there, above
        the instance's limit before a check at the split could refuse them)."""
        if self.memory_limit_mb is None:
            return LocalRows(self.source.load(spec, since, max_rows))
        from retrain.training import memory

        guard = memory.load_guard(spec, self.memory_limit_mb)
        frame = self.source.load(spec, since, max_rows, on_chunk=guard)
        classes = int(frame[spec.target].nunique()) if spec.target in frame else 0
        texts = memory.text_row_bytes(frame, spec)
        memory.check(spec, len(frame), classes, self.memory_limit_mb, texts)
        return LocalRows(frame)

    def with_corrections(
        self, rows: LocalRows, spec: ModelSpec, corrections: list[Correction]
    ) -> tuple[LocalRows, dict[str, int]]:
        """The rows with people's corrections joined by ``spec.corrections``
        (training/corrections.py), and the counts for the card."""
        from retrain.training import corrections as joining

        frame, counts = joining.join(rows.frame, spec, corrections)
        return LocalRows(frame), counts

    def validate(
        self,
        rows: LocalRows,
        spec: ModelSpec,
        champion_profile: dict[str, Any] | None,
        window: Any = None,
    ) -> Validated:
        from retrain.training import validate

        checked = validate.validate(rows.frame, spec, champion_profile, window)
        rows.keep_summary(spec)
        return checked

    def split(self, checked: Validated, spec: ModelSpec, now: Any = None) -> LocalHoldout:
        """The holdout. The validated frame is handed on: the holdout holds its rows from
        here, and ``checked`` keeps its findings and profile (for the card) without the
        rows."""
        from retrain.training import fit, memory

        # validation's copies (parsed columns, stripped texts) are freed but kept by the C
        # heap: 290 MB at 200,000 rows of 450-character texts (docs/benchmarks.md)
        memory.release_free_memory()
        holdout = LocalHoldout(fit.split(checked.frame, spec, now))
        checked.frame = checked.frame.iloc[:0].copy()
        return holdout

    def fit(
        self,
        spec: ModelSpec,
        holdout: LocalHoldout,
        on_round: Callable[[int, int], None] | None = None,
    ) -> Any:
        from retrain.training import fit

        # the training rows' frame is let go once encoded, unless the spec asks for a second
        # fit on them (the text ablation, service/text_ablation.py)
        refits = spec.features.text_options.ablation
        return fit.fit(spec, holdout.data, on_round=on_round, keep_rows=refits)
