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
    return {
        "format": FORMAT,
        "rows": len(frame),
        "class_counts": category_counts(frame[spec.target]),
        "null_rates": {col: round(float(frame[col].isna().mean()), 6) for col in spec.features.all},
        "columns": {
            col: describe(kind, frame[col])
            for kind, cols in spec.features.by_kind().items()
            for col in cols
        },
    }


def describe(kind: str, values: pd.Series) -> dict[str, Any]:
    return {"kind": kind, **DESCRIBERS[kind](values)}


def category_counts(values: pd.Series, top: int | None = None) -> dict[str, int]:
    """Counts of the values present, largest first, keyed by their text (a categorical's
    unused categories are left out)."""
    counts: dict[str, int] = {}
    for key, count in values.value_counts(sort=True).items():
        if count > 0:
            counts[str(key)] = counts.get(str(key), 0) + int(count)
    ordered = sorted(counts.items(), key=lambda kv: -kv[1])
    return dict(ordered[:top] if top else ordered)


def _categorical(values: pd.Series) -> dict[str, Any]:
    counts = category_counts(values, TOP_CATEGORIES)
    present = int(values.notna().sum())
    return {
        "counts": counts,
        "other": present - sum(counts.values()),
        "missing": len(values) - present,
    }


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
    """Bucket edges, from a column's finite values in ascending order, that isolate every
    value that is common (or every value with enough rows, when there are few) and cut the
    rest at its quantiles. A value ``v`` falls in bucket ``searchsorted(edges, v, "right")``;
    a common value ``h`` is alone in [h, next(h))."""
    if not len(ordered):
        return []
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    distinct, counts = ordered[starts], np.diff(np.concatenate([starts, [len(ordered)]]))
    common = BUCKET_ROWS if len(distinct) <= POINT_VALUES else HEAVY_SHARE * len(ordered)
    isolated = counts >= max(common, BUCKET_ROWS)
    points = distinct[isolated]
    rest = ordered[np.repeat(~isolated, counts)]
    parts = min(DECILES, len(rest) // BUCKET_ROWS)
    cuts = np.quantile(rest, np.arange(1, parts) / parts) if parts > 1 else np.array([])
    edges = np.unique(np.concatenate([points, np.nextafter(points, np.inf), cuts]))
    return [float(e) for e in edges if np.isfinite(e)]


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
