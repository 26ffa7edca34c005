"""Holdout metrics: pure function of a fitted model and labelled rows."""

from __future__ import annotations

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
    labels = sorted(set(y_true) | set(y_pred))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 6),
        "balanced_accuracy": round(float(balanced_accuracy_score(y_true, y_pred)), 6),
        "macro_f1": round(float(f1_score(y_true, y_pred, average="macro", zero_division=0)), 6),
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
            "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        },
        "test_rows": len(y_true),
    }
