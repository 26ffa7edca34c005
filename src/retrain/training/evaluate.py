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

from retrain.training import holdout


def evaluate(model: Any, X: pd.DataFrame, y: pd.Series) -> dict[str, Any]:
    return scores(y, model.predict(X))


def scores(y: pd.Series, predicted: Any) -> dict[str, Any]:
    """``evaluate``'s metrics from predictions already made."""
    return _metrics(np.asarray(y, dtype=object), np.asarray(predicted, dtype=object), None)


def confusion_counts(model: Any, X: pd.DataFrame, y: pd.Series) -> Counter[tuple[str, str]]:
    """(true label, predicted label) -> rows, for one part of a holdout."""
    if not len(y):
        return Counter()
    predicted = np.asarray(model.predict(X), dtype=object)
    return Counter(zip(np.asarray(y, dtype=object), predicted, strict=True))


# (test rows unseen by the champion, all test rows, how "unseen" is known), each counted
# as (true label, candidate's prediction, champion's prediction) -> rows: the gate's input
Triples = tuple[Counter[tuple[str, str, str]], Counter[tuple[str, str, str]], str]


def triples(
    candidate: Any,
    champion: Any,
    X: pd.DataFrame,
    y: pd.Series,
    rows: pd.DataFrame,
    sight: holdout.Sight,
    ours: Any = None,
) -> Triples:
    """Both models' predictions on the test rows ``X`` / ``y`` (validated: ``rows``),
    counted for the gate; adds up over partitions like ``confusion_counts``. ``ours``: the
    candidate's predictions when they were made already."""
    if not len(y):
        return Counter(), Counter(), "no rows"
    unseen, basis = holdout.unseen_by(sight, rows)
    true = np.asarray(y, dtype=object)
    ours = np.asarray(candidate.predict(X) if ours is None else ours, dtype=object)
    theirs = np.asarray(champion.predict(X), dtype=object)
    every = Counter(zip(true, ours, theirs, strict=True))
    unseen_only = Counter(zip(true[unseen], ours[unseen], theirs[unseen], strict=True))
    return unseen_only, every, basis


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
