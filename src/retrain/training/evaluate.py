"""Holdout metrics: pure function of a fitted model and labelled rows.

``evaluate`` scores rows in memory; ``confusion_counts`` + ``evaluate_counts`` score a
holdout spread over many processes: each part counts (true, predicted) pairs, the counts
are added, and the same metric functions run on them as weights, so both give one result."""

from __future__ import annotations

import contextlib
import itertools
from collections import Counter
from collections.abc import Iterator, Sequence
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

from retrain.domain.errors import ChampionUnusableError
from retrain.training import features, gate, holdout


def evaluate(model: Any, X: pd.DataFrame, y: pd.Series) -> dict[str, Any]:
    return scores(y, model.predict(X))


def scores(y: pd.Series, predicted: Any) -> dict[str, Any]:
    """``evaluate``'s metrics from predictions already made: counted as (true, predicted)
    pairs first, so scikit-learn sees a few hundred weighted rows instead of every row
    (200,000 holdout rows of 51 classes: 0.11 s instead of 3.9 s, the same numbers)."""
    pairs = zip(np.asarray(y, dtype=object), np.asarray(predicted, dtype=object), strict=True)
    return evaluate_counts(Counter(pairs))


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
    candidate's predictions when they were made already. The champion reads its own columns
    (``sight.features``, from ``rows``) when the spec's have changed since it was trained.
    ChampionUnusableError when the champion fails on these rows."""
    if not len(y):
        return Counter(), Counter(), "no rows"
    unseen, basis = holdout.unseen_by(sight, rows)
    true = np.asarray(y, dtype=object)
    ours = np.asarray(candidate.predict(X) if ours is None else ours, dtype=object)
    try:
        own = X if sight.features is None else features.columns_frame(rows, sight.features)
        theirs = as_labels(np.asarray(champion.predict(own), dtype=object), set(true))
    except MemoryError:
        raise
    except Exception as exc:  # a column it reads is gone, its model raises
        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise ChampionUnusableError(
            f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        ) from None
    every = Counter(zip(true, ours, theirs, strict=True))
    unseen_only = Counter(zip(true[unseen], ours[unseen], theirs[unseen], strict=True))
    return unseen_only, every, basis


def as_labels(predicted: np.ndarray, known: set[Any]) -> np.ndarray:
    """``predicted`` with each label written as a whole float ("3.0") that ``known`` holds
    as an integer ("3") read as that: a model trained before integer classes kept their
    integers when a NULL made the column float (kinds.whole) predicts "3.0"."""
    renamed = {}
    for label in pd.unique(predicted):
        text = str(label)
        whole = text[:-2] if text.endswith(".0") and text[:-2].lstrip("-").isdigit() else None
        if whole is not None and label not in known and whole in known:
            renamed[label] = whole
    if not renamed:
        return predicted
    return np.asarray([renamed.get(p, p) for p in predicted], dtype=object)


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


def block_scores(y_true: np.ndarray, predicted: np.ndarray, metric: str) -> np.ndarray:
    """``metric`` of each row of ``predicted`` (blocks x rows) against ``y_true``, as
    scikit-learn's ``accuracy_score``, ``balanced_accuracy_score`` or macro ``f1_score``
    (``zero_division=0``) gives it, in one vectorised pass: 40 scikit-learn calls on 1,000 rows each
    took longer than predicting the 40,000 rows (issue 26.6)."""
    labelled = np.concatenate([y_true, predicted.ravel()])
    codes, labels = pd.factorize(labelled, use_na_sentinel=False)
    n = len(labels)
    t, p = codes[: len(y_true)], codes[len(y_true) :].reshape(predicted.shape)
    pairs = t[None, :] * n + p  # (true, predicted) as one number per row
    # only the pairs that occur: the table stays blocks x rows at most, whatever the classes
    kinds, index = np.unique(pairs, return_inverse=True)
    index = index.reshape(pairs.shape)
    table = np.stack([np.bincount(row, minlength=len(kinds)) for row in index])
    return gate.table_scores(table.astype(np.float64), kinds // n, kinds % n, n, metric)


# Permutation importance predicts a copy of its sample rows, all columns, per shuffled
# column and repeat: rows x (1 + columns x repeats) rows of every column, quadratic in
# columns. A 400-column table's 1,000 rows took 32 s and 7.6 GB; a public table of 10,000
# rows and 51 columns spent 27 % of its fit's time on it (docs/benchmarks.md).
IMPORTANCE_VALUES = 5_000_000  # values predicted in all: bounds the time of wide rows
IMPORTANCE_CALL_VALUES = 2_000_000  # values per predict call: bounds the memory
IMPORTANCE_FIT_SHARE = 10  # predicted rows <= training rows x columns / this: ~1/10 of the fit
IMPORTANCE_FLOOR_ROWS = 20_000  # predicted rows always allowed: a small table's are cheap
IMPORTANCE_MIN_ROWS = 200  # fewer rows before fewer columns


def importance_budget(columns: int, train_rows: int | None, text: bool = False) -> int:
    """How many rows (of ``columns`` columns) the importances may predict in all: at most
    ``IMPORTANCE_VALUES`` values, and about a tenth of the fit's work, never under
    ``IMPORTANCE_FLOOR_ROWS`` unless the rows hold ``text``: set when every predicted row
    paid its TF-IDF (three columns of 1,000 characters: 52 s for 20,000 rows, 38 s to
    encode 8,000 at the fit). Since 2026-12-07 only the sample's rows are encoded
    (``_texts_encoded_once``), so the floor could return for text; not measured yet. A
    fit's passes over its training rows grow with their columns, a prediction's do not: on
    four tables the importances' share of the fit's time was 0.5-1.3 times predicted rows
    / (training rows x columns)."""
    budget = IMPORTANCE_VALUES // max(1, columns)
    if train_rows is not None:
        share = train_rows * columns // IMPORTANCE_FIT_SHARE
        budget = min(budget, share if text else max(IMPORTANCE_FLOOR_ROWS, share))
    return max(1, budget)


def _text_steps(model: Any) -> list[tuple[Any, Any]]:
    """(fitted ``TextTfidf``, its column) of each text column of ``model``'s features."""
    from retrain.training.text import TextTfidf

    steps = getattr(getattr(model, "named_steps", {}).get("features"), "transformers_", [])
    return [(step, col) for _, step, col in steps if isinstance(step, TextTfidf)]


def _has_text(model: Any) -> bool:
    return bool(_text_steps(model))


def _text_reads(models: Sequence[Any], X: pd.DataFrame) -> dict[str, list[Any]]:
    """Each text column of ``X`` that ``models`` read, with their fitted ``TextTfidf``
    steps; a model not built as ours is left out (it predicts on its own, and fails there)."""
    by_column: dict[str, list[Any]] = {}
    for model in models:
        try:
            reads = [(step, col) for step, col in _text_steps(model) if isinstance(col, str)]
        except Exception:
            continue
        for step, col in reads:
            if col in X:
                by_column.setdefault(col, []).append(step)
    return by_column


@contextlib.contextmanager
def _texts_encoded_once(model: Any, X: pd.DataFrame) -> Iterator[None]:
    """Every shuffled copy holds the sample's own texts, in other rows: while the
    importances predict, each text column's TF-IDF is the sample's, computed once
    (``TextTfidf.encoded_once``), not tokenised again for each copy."""
    with contextlib.ExitStack() as stack:
        for col, steps in _text_reads([model], X).items():
            for step in steps:
                stack.enter_context(step.encoded_once(X[col]))
        yield


@contextlib.contextmanager
def texts_read_once(models: Sequence[Any], X: pd.DataFrame) -> Iterator[None]:
    """While open, each text column of ``X`` is tokenised once for all of ``models``
    predicting its rows (the candidate and the champion on the test rows), not once per
    model: ``TextTfidf.encoded_together``. The same predictions."""
    from retrain.training.text import TextTfidf

    with contextlib.ExitStack() as stack:
        for col, steps in _text_reads(models, X).items():
            stack.enter_context(TextTfidf.encoded_together(steps, X[col]))
        yield


def importance_plan(rows: int, columns: int, repeats: int, budget: int) -> tuple[int, int]:
    """(sample rows, columns shuffled) from at most ``rows``, predicting at most ``budget``
    rows in all: fewer rows first, down to ``IMPORTANCE_MIN_ROWS``, then fewer columns."""

    def predicted(n: int, k: int) -> int:
        return n * (1 + k * repeats)

    n = rows
    if predicted(n, columns) > budget:
        n = min(rows, max(IMPORTANCE_MIN_ROWS, budget // (1 + columns * repeats)))
    if predicted(n, columns) <= budget:
        return n, columns
    return n, max(1, (budget // n - 1) // repeats)


def own_ranking(model: Any, columns: list[str]) -> list[str] | None:
    """``columns`` by the fitted estimator's own ``feature_importances_`` (XGBoost's gain),
    summed over each input column's outputs (a text column's terms, a category's one-hot
    columns), most first; None for a model that has none or whose outputs cannot be traced
    back to its input columns."""
    try:
        features = model.named_steps["features"]
        estimator = model.named_steps["classifier"].estimator_
        weights = np.nan_to_num(np.asarray(estimator.feature_importances_, dtype=np.float64))
        names = features.get_feature_names_out()
        blocks = [
            (features.output_indices_[name], cols)
            for name, _, cols in features.transformers_
            if name != "remainder"
        ]
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    if len(weights) != len(names):
        return None
    longest_first = sorted(columns, key=len, reverse=True)

    def owner(name: str) -> str | None:  # a one-hot column, a was-missing flag
        name = name.removeprefix("missingindicator_")
        return next((c for c in longest_first if name == c or name.startswith(f"{c}_")), None)

    total = dict.fromkeys(columns, 0.0)
    for outputs, cols in blocks:
        if isinstance(cols, str):  # one text column: all its terms
            total[cols] += float(weights[outputs].sum())
        elif outputs.stop - outputs.start == len(cols):  # one output per column
            for col, weight in zip(cols, weights[outputs], strict=True):
                total[col] += float(weight)
        else:
            for name, weight in zip(names[outputs], weights[outputs], strict=True):
                if (col := owner(str(name))) is not None:
                    total[col] += float(weight)
    return sorted(columns, key=lambda c: -total[c])


def feature_importance(
    model: Any,
    X: pd.DataFrame,
    y: pd.Series,
    metric: str,
    *,
    rows: int = 1000,
    repeats: int = 3,
    random_state: int = 0,
    train_rows: int | None = None,
    budget: int | None = None,
    call_values: int = IMPORTANCE_CALL_VALUES,
) -> dict[str, Any]:
    """How much ``metric`` drops when one input column is shuffled (permutation importance
    on at most ``rows`` holdout rows): model-agnostic, and per column as the query returns
    it, whatever the encoding inside the pipeline.

    Bounded (``importance_plan``): at most ``budget`` rows predicted in all (by default
    ``importance_budget`` for the model's ``train_rows``), in calls of at most
    ``call_values`` values (many shuffled copies per call: per-call overhead, thread pools,
    dominates small predictions). When even ``IMPORTANCE_MIN_ROWS`` rows of every column
    would pass it, only the columns the model's own importances rank highest are shuffled
    (the first ones in query order for a model without them), and the result says how many
    of how many and why."""
    rng = np.random.default_rng(random_state)
    columns = list(X.columns)
    if budget is None:
        budget = importance_budget(len(columns), train_rows, _has_text(model))
    n, measured = importance_plan(min(rows, len(X)), len(columns), repeats, budget)
    if len(X) > n:
        picked = np.sort(rng.choice(len(X), n, replace=False))
        X, y = X.iloc[picked], y.iloc[picked]
    X = X.reset_index(drop=True)
    y_true = np.asarray(y, dtype=object)
    chosen_by = None
    shuffled_columns = columns
    if measured < len(columns):
        ranked = own_ranking(model, columns)
        chosen_by = "query order" if ranked is None else "the model's own importance"
        shuffled_columns = (ranked or columns)[:measured]

    def blocks() -> Any:
        yield X
        for column in shuffled_columns:
            for _ in range(repeats):
                shuffled = X.copy()
                shuffled[column] = X[column].to_numpy()[rng.permutation(len(X))]
                yield shuffled

    per_call = max(1, call_values // max(1, len(X) * len(columns)))
    predicted: list[np.ndarray] = []
    pending = blocks()
    with _texts_encoded_once(model, X):
        while batch := list(itertools.islice(pending, per_call)):
            predicted.append(np.asarray(model.predict(pd.concat(batch, ignore_index=True))))
    every = np.concatenate(predicted).astype(object)
    scores = block_scores(y_true, every.reshape(-1, len(X)), metric)
    base, drops = scores[0], scores[1:].reshape(len(shuffled_columns), repeats)
    features = [
        {
            "feature": str(column),
            "importance": round(base - float(d.mean()), 6),
            "std": round(float(d.std()), 6),
        }
        for column, d in zip(shuffled_columns, drops, strict=True)
    ]
    out: dict[str, Any] = {
        "method": "permutation",
        "metric": metric,
        "repeats": repeats,
        "rows": len(X),
        "features": sorted(features, key=lambda f: -f["importance"]),
    }
    if chosen_by is not None:
        out["columns"] = {"shuffled": measured, "of": len(columns), "chosen_by": chosen_by}
    return out
