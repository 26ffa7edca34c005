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


SCORES = {
    "accuracy": accuracy_score,
    "balanced_accuracy": balanced_accuracy_score,
    "macro_f1": lambda t, p: f1_score(t, p, average="macro", zero_division=0),
}


def feature_importance(
    model: Any,
    X: pd.DataFrame,
    y: pd.Series,
    metric: str,
    *,
    rows: int = 1000,
    repeats: int = 3,
    random_state: int = 0,
) -> dict[str, Any]:
    """How much ``metric`` drops when one input column is shuffled (permutation importance
    on at most ``rows`` holdout rows): model-agnostic, and per column as the query returns
    it, whatever the encoding inside the pipeline. Every shuffled copy is predicted in one
    call: per-call overhead (thread pools) dominates small predictions."""
    rng = np.random.default_rng(random_state)
    if len(X) > rows:
        picked = np.sort(rng.choice(len(X), rows, replace=False))
        X, y = X.iloc[picked], y.iloc[picked]
    X = X.reset_index(drop=True)
    y_true = np.asarray(y, dtype=object)
    score = SCORES[metric]
    blocks = [X]
    for column in X.columns:
        for _ in range(repeats):
            shuffled = X.copy()
            shuffled[column] = X[column].to_numpy()[rng.permutation(len(X))]
            blocks.append(shuffled)
    predicted = np.asarray(model.predict(pd.concat(blocks, ignore_index=True)), dtype=object)
    scores = [float(score(y_true, chunk)) for chunk in np.split(predicted, len(blocks))]
    base, drops = scores[0], np.array(scores[1:]).reshape(len(X.columns), repeats)
    features = [
        {
            "feature": str(column),
            "importance": round(base - float(d.mean()), 6),
            "std": round(float(d.std()), 6),
        }
        for column, d in zip(X.columns, drops, strict=True)
    ]
    return {
        "method": "permutation",
        "metric": metric,
        "repeats": repeats,
        "rows": len(X),
        "features": sorted(features, key=lambda f: -f["importance"]),
    }
