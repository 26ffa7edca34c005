"""Holdout metrics: pure function of a fitted model and labelled rows.

``evaluate`` scores rows in memory; ``confusion_counts`` + ``evaluate_counts`` score a
holdout spread over many processes: each part counts (true, predicted) pairs, the counts
are added, and the same metric functions run on them as weights, so both give one result."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)


def evaluate(model: Any, X: pd.DataFrame, y: pd.Series) -> dict[str, Any]:
    y_true = np.asarray(y, dtype=object)
    y_pred = np.asarray(model.predict(X), dtype=object)
    return _metrics(y_true, y_pred, None)


def confusion_counts(model: Any, X: pd.DataFrame, y: pd.Series) -> Counter[tuple[str, str]]:
    """(true label, predicted label) -> rows, for one part of a holdout."""
    if not len(y):
        return Counter()
    predicted = np.asarray(model.predict(X), dtype=object)
    return Counter(zip(np.asarray(y, dtype=object), predicted, strict=True))


def evaluate_counts(counts: Counter[tuple[str, str]]) -> dict[str, Any]:
    """The metrics of ``evaluate`` from added ``confusion_counts``."""
    pairs = [pair for pair, n in counts.items() if n]
    y_true = np.array([t for t, _ in pairs], dtype=object)
    y_pred = np.array([p for _, p in pairs], dtype=object)
    return _metrics(y_true, y_pred, np.array([counts[pair] for pair in pairs], dtype=np.int64))


def _metrics(y_true: np.ndarray, y_pred: np.ndarray, weight: np.ndarray | None) -> dict[str, Any]:
    labels = sorted(set(y_true) | set(y_pred))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0, sample_weight=weight
    )
    matrix = confusion_matrix(y_true, y_pred, labels=labels, sample_weight=weight)
    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred, sample_weight=weight)), 6),
        "balanced_accuracy": round(
            float(balanced_accuracy_score(y_true, y_pred, sample_weight=weight)), 6
        ),
        "macro_f1": round(
            float(f1_score(y_true, y_pred, average="macro", zero_division=0, sample_weight=weight)),
            6,
        ),
        "per_class": {
            str(label): {
                "precision": round(float(p), 6),
                "recall": round(float(r), 6),
                "f1": round(float(f), 6),
                "support": int(s),
            }
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
        "confusion_matrix": {
            "labels": [str(label) for label in labels],
            "matrix": np.asarray(matrix).astype(np.int64).tolist(),
        },
        "test_rows": int(len(y_true) if weight is None else weight.sum()),
    }
