"""A data profile: what the rows looked like, as exact counts per bucket, JSON-ready.

The champion's card keeps its profile; ``training.drift`` puts the new rows into the same
buckets and compares counts with counts, so the same rows always give a PSI of exactly 0,
whatever the column's shape (ties, few values, mostly zero, nulls).

Format 2 (``"format": 2``)::

    rows, class_counts {label: n}, null_rates {column: share},
    columns {column: {"kind": "numeric", "edges": [...], "counts": [...], "missing": n,
                      "mean": x, "std": x}
             column: {"kind": "categorical" | "boolean", "counts": {value: n},
                      "other": n (rows in values beyond the top ones), "missing": n}
             column: {"kind": "text", "rows": n, "missing": n, "empty": n,
                      "length": {numeric profile of characters per non-empty text},
                      "tokens": {token: n} (top 1000 word tokens), "other_tokens": n}}

Format 1 (cards written before, no ``format``) had ``categories`` (top 200 counts per
categorical column) and ``numeric_deciles`` (edges without counts); ``drift`` reads both.
A new feature kind adds one describer to ``DESCRIBERS`` and one comparison to ``drift``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from retrain.domain.specs import ModelSpec
from retrain.training import text_stats

FORMAT = 2
TOP_CATEGORIES = 1000  # per categorical column; the rest is counted as "other"
POINT_VALUES = 20  # a numeric column with at most this many distinct values: a bucket each
HEAVY_SHARE = 0.05  # any numeric value holding this share of the rows gets its own bucket
BUCKET_ROWS = 10  # no bucket of its own for fewer rows: counts that small are mostly noise
DECILES = 10  # the other numeric values are cut at their quantiles, into at most 10 buckets


def profile(frame: pd.DataFrame, spec: ModelSpec) -> dict[str, Any]:
    """Rows, class counts, null rates and each feature's distribution."""
    return assemble(
        len(frame),
        category_counts(frame[spec.target]),
        {col: int(frame[col].isna().sum()) for col in spec.features.all},
        {
            col: describe(kind, frame[col])
            for kind, cols in spec.features.by_kind().items()
            for col in cols
        },
    )


def assemble(
    rows: int, classes: dict[str, int], nulls: dict[str, int], columns: dict[str, Any]
) -> dict[str, Any]:
    """A profile from its counts (a partitioned engine adds its partitions' counts)."""
    return {
        "format": FORMAT,
        "rows": rows,
        "class_counts": largest(classes),
        "null_rates": {col: round(n / rows, 6) if rows else 0.0 for col, n in nulls.items()},
        "columns": columns,
    }


def describe(kind: str, values: pd.Series) -> dict[str, Any]:
    return {"kind": kind, **DESCRIBERS[kind](values)}


def category_counts(values: pd.Series, top: int | None = None) -> dict[str, int]:
    """Counts of the values present, largest first (ties by text), keyed by their text (a
    categorical's unused categories are left out)."""
    counts: dict[str, int] = {}
    for key, count in values.value_counts(sort=False).items():
        if count > 0:
            counts[str(key)] = counts.get(str(key), 0) + int(count)
    return largest(counts, top)


def largest(counts: dict[str, int], top: int | None = None) -> dict[str, int]:
    """``counts`` largest first, ties by key; the ``top`` first only, when given."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return dict(ordered[:top] if top else ordered)


def _categorical(values: pd.Series) -> dict[str, Any]:
    return categorical(category_counts(values), len(values))


def categorical(counts: dict[str, int], rows: int) -> dict[str, Any]:
    """A categorical column's profile from the counts of all its values in ``rows`` rows."""
    top = largest(counts, TOP_CATEGORIES)
    present = sum(counts.values())
    return {"counts": top, "other": present - sum(top.values()), "missing": rows - present}


def _boolean(values: pd.Series) -> dict[str, Any]:
    numbers = pd.to_numeric(values, errors="coerce")
    ones = int((numbers == 1).sum())
    zeros = int((numbers == 0).sum())
    return {
        "counts": {"true": ones, "false": zeros},
        "other": 0,
        "missing": len(values) - ones - zeros,
    }


def finite(values: pd.Series) -> np.ndarray:
    """The finite numbers of a column as float64 (exact for float32 input)."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return numbers[np.isfinite(numbers)]


def _numeric(values: pd.Series) -> dict[str, Any]:
    numbers = np.sort(finite(values))  # one sort: distinct values, quantiles and counts
    edges = numeric_edges(numbers)
    below = np.searchsorted(numbers, edges, side="left")  # values below each edge
    counts = np.diff(np.concatenate([[0], below, [len(numbers)]]))
    return {
        "edges": edges,
        "counts": [int(n) for n in counts],
        "missing": len(values) - len(numbers),
        "mean": float(numbers.mean()) if len(numbers) else None,
        "std": float(numbers.std()) if len(numbers) else None,
    }


def numeric_edges(ordered: np.ndarray) -> list[float]:
    """Bucket edges, from a column's finite values in ascending order (see ``edges_of``)."""
    if not len(ordered):
        return []
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    return edges_of(ordered[starts], np.diff(np.concatenate([starts, [len(ordered)]])))


def edges_of(distinct: np.ndarray, counts: np.ndarray) -> list[float]:
    """Bucket edges, from a column's distinct finite values (ascending) and their counts,
    that isolate every value that is common (or every value with enough rows, when there
    are few) and cut the rest at its quantiles. A value ``v`` falls in bucket
    ``searchsorted(edges, v, "right")``; a common value ``h`` is alone in [h, next(h)).
    Counts may be weights (a sample standing for more rows)."""
    if not len(distinct):
        return []
    total = float(np.sum(counts))
    common = BUCKET_ROWS if len(distinct) <= POINT_VALUES else HEAVY_SHARE * total
    isolated = counts >= max(common, BUCKET_ROWS)
    points = distinct[isolated]
    rest, weights = distinct[~isolated], counts[~isolated]
    parts = min(DECILES, int(np.sum(weights)) // BUCKET_ROWS)
    cuts = _quantiles(rest, weights, np.arange(1, parts) / parts) if parts > 1 else np.array([])
    edges = np.unique(np.concatenate([points, np.nextafter(points, np.inf), cuts]))
    return [float(e) for e in edges if np.isfinite(e)]


def _quantiles(values: np.ndarray, counts: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``np.quantile(np.repeat(values, counts), q)`` (its default, linear method) without
    repeating: ``values`` ascending and distinct."""
    cumulative = np.cumsum(counts)
    last = cumulative[-1] - 1
    position = q * last
    below = np.floor(position)
    t = position - below
    a = values[np.searchsorted(cumulative, below, side="right")]
    b = values[np.searchsorted(cumulative, np.minimum(below + 1, last), side="right")]
    step = b - a
    return np.where(t >= 0.5, b - step * (1 - t), a + step * t)


def bucket_counts(numbers: np.ndarray, edges: list[float]) -> list[int]:
    """Rows per bucket of ``edges`` (as ``numeric_edges`` defines them), in any order."""
    codes = np.searchsorted(np.asarray(edges, dtype="float64"), numbers, side="right")
    return [int(n) for n in np.bincount(codes, minlength=len(edges) + 1)]


def _text(values: pd.Series) -> dict[str, Any]:
    length = text_stats.lengths(values)
    tokens, other = text_stats.top_tokens(text_stats.token_counts(values))
    return {
        "rows": len(values),
        "missing": int(values.isna().sum()),
        "empty": int((length == 0).sum()),
        "length": _numeric(length[length > 0]),
        "tokens": tokens,
        "other_tokens": other,
    }


DESCRIBERS: dict[str, Callable[[pd.Series], dict[str, Any]]] = {
    "numeric": _numeric,
    "categorical": _categorical,
    "boolean": _boolean,
    "text": _text,
}
