"""Validation for rows that are never in one process: each partition is summarised where it
lives, the summaries are added, and the rules of ``validate.py`` run on the totals.

Pass one (``first_pass``) counts what the hard rules need: columns, types, target nulls,
classes, feature nulls. Pass two (``second_pass``), after rare classes are known, counts
what the profile needs. Everything is exact except the numeric deciles of the profile,
which come from a bounded sample per partition, weighted by the partition's size."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from retrain.domain.specs import ModelSpec
from retrain.training import profile as profiling
from retrain.training.validate import _finding, _stop

SAMPLE = 20_000  # numeric values per partition and column for the deciles


def first_pass(frame: pd.DataFrame, spec: ModelSpec) -> dict[str, Any]:
    missing = [col for col in (*spec.columns, spec.key_column) if col not in frame.columns]
    out: dict[str, Any] = {"rows": len(frame), "missing": missing}
    if missing:
        return out
    target = frame[spec.target]
    labelled = frame[target.notna()]
    out.update(
        target_nulls=int(target.isna().sum()),
        classes=_counts(labelled[spec.target].astype(str)),
        nulls={col: int(labelled[col].isna().sum()) for col in spec.features.all},
        bad_numeric={col: _non_numeric(frame[col]) for col in spec.features.numeric},
        bad_boolean=[col for col in spec.features.boolean if not _is_boolean(frame[col])],
        digest=_digest(frame, spec.key_column),
    )
    if "created_at" in frame.columns and len(frame):
        out["first"], out["last"] = str(frame["created_at"].min()), str(frame["created_at"].max())
    return out


def usable(frame: pd.DataFrame, spec: ModelSpec, dropped: list[str]) -> pd.DataFrame:
    """Rows that train: a target, and not of a dropped (rare) class."""
    target = frame[spec.target]
    return frame[target.notna() & ~target.astype(str).isin(dropped)]


def second_pass(
    frame: pd.DataFrame, spec: ModelSpec, dropped: list[str], champion: dict[str, Any] | None
) -> dict[str, Any]:
    rows = usable(frame, spec, dropped)
    rng = np.random.default_rng(spec.random_state + len(rows))
    samples, buckets = {}, {}
    edges = (champion or {}).get("numeric_deciles", {})
    for col in spec.features.numeric:
        values = pd.to_numeric(rows[col], errors="coerce").dropna().to_numpy(np.float64)
        kept = values if len(values) <= SAMPLE else rng.choice(values, SAMPLE, replace=False)
        samples[col] = (kept.tolist(), len(values))
        if edges.get(col):
            codes = np.searchsorted(np.asarray(edges[col]), values, side="right")
            buckets[col] = {str(k): int(v) for k, v in Counter(codes.tolist()).items()}
    return {
        "rows": len(rows),
        "nulls": {col: int(rows[col].isna().sum()) for col in spec.features.all},
        "categories": {col: _counts(rows[col]) for col in spec.features.categorical},
        "samples": samples,
        "buckets": buckets,
    }


def row_hashes(frame: pd.DataFrame, spec: ModelSpec, dropped: list[str]) -> np.ndarray:
    """One uint64 per usable row over its features and target (duplicates share one)."""
    rows = usable(frame, spec, dropped)[list(spec.columns)]
    return pd.util.hash_pandas_object(rows, index=False).to_numpy()


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Add partition summaries: counts add up, samples are kept with their weights."""
    total: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key == "samples":
                for col, sample in value.items():
                    total.setdefault(key, {}).setdefault(col, []).append(sample)
            elif key in ("first", "last"):
                pick = min if key == "first" else max
                total[key] = pick(total[key], value) if key in total else value
            elif key == "digest":
                total.setdefault("digests", []).append(value)
            elif isinstance(value, int):
                total[key] = total.get(key, 0) + value
            elif isinstance(value, list):
                total[key] = sorted({*total.get(key, []), *value})
            elif isinstance(value, dict):
                total[key] = _add(total.get(key, {}), value)
    return total


def check_first(total: dict[str, Any], spec: ModelSpec) -> tuple[list[dict], list[str]]:
    """The hard rules of ``validate.validate``; returns (findings, classes to drop)."""
    if total.get("missing"):
        _stop(
            [
                _finding(
                    "error",
                    "missing_column",
                    col,
                    f"column {col!r} is missing from the query result of {spec.name}",
                )
                for col in total["missing"]
            ]
        )
    errors, findings = [], []
    for col, bad in total["bad_numeric"].items():
        if bad:
            errors.append(
                _finding(
                    "error",
                    "column_type",
                    col,
                    f"numeric column {col!r} has {bad} non-numeric values",
                )
            )
    for col in total["bad_boolean"]:
        errors.append(
            _finding(
                "error",
                "column_type",
                col,
                f"boolean column {col!r} holds values other than 0/1/true/false",
            )
        )
    rows, nulls = total["rows"], total["target_nulls"]
    if rows and nulls == rows:
        errors.append(
            _finding(
                "error",
                "target_null",
                spec.target,
                f"target {spec.target!r} is null in all {rows} rows",
            )
        )
    elif nulls:
        findings.append(
            _finding(
                "warning",
                "target_null",
                spec.target,
                f"dropped {nulls} rows whose target {spec.target!r} is null",
            )
        )
    labelled = rows - nulls
    for col in spec.features.all:
        rate = total["nulls"][col] / labelled if labelled else 0.0
        if rate > spec.max_null_rate:
            errors.append(
                _finding(
                    "error",
                    "null_rate",
                    col,
                    f"feature {col!r} is {rate:.0%} null (limit {spec.max_null_rate:.0%})",
                )
            )
    if errors:
        _stop(errors)
    classes = total["classes"]
    rare = {k: v for k, v in _ordered(classes).items() if v < spec.min_class_rows}
    if rare:
        listed = ", ".join(f"{k} ({v})" for k, v in rare.items())
        findings.append(
            _finding(
                "warning",
                "rare_classes",
                spec.target,
                f"dropped classes with fewer than {spec.min_class_rows} rows: {listed}",
            )
        )
    kept = labelled - sum(rare.values())
    if kept < spec.min_rows:
        _stop(
            [
                _finding(
                    "error",
                    "too_few_rows",
                    None,
                    f"{kept} usable rows, {spec.name} needs at least {spec.min_rows}",
                )
            ],
            prefix=findings,
        )
    if len(classes) - len(rare) < 2:
        _stop(
            [
                _finding(
                    "error",
                    "single_class",
                    spec.target,
                    f"target {spec.target!r} has {len(classes) - len(rare)} usable "
                    "class(es); at least 2 needed",
                )
            ],
            prefix=findings,
        )
    return findings, sorted(rare)


def check_second(
    first: dict[str, Any],
    second: dict[str, Any],
    spec: ModelSpec,
    dropped: list[str],
    duplicates: int,
    champion: dict[str, Any] | None,
) -> tuple[list[dict], dict[str, Any]]:
    """Soft findings (duplicates, shift against the champion) and the data profile."""
    findings = []
    if duplicates:
        findings.append(
            _finding(
                "warning",
                "duplicate_rows",
                None,
                f"{duplicates} rows repeat another row's features and target",
            )
        )
    rows = second["rows"]
    current = {
        "rows": rows,
        "class_counts": _ordered({k: v for k, v in first["classes"].items() if k not in dropped}),
        "null_rates": {
            col: round(second["nulls"][col] / rows, 6) if rows else 0.0 for col in spec.features.all
        },
        "categories": {
            col: dict(list(_ordered(second["categories"][col]).items())[: profiling.TOP_CATEGORIES])
            for col in spec.features.categorical
        },
        "numeric_deciles": {
            col: deciles
            for col in spec.features.numeric
            if (deciles := _weighted_deciles(second.get("samples", {}).get(col, [])))
        },
    }
    if champion:
        findings.extend(_compare(spec, current, champion, second.get("buckets", {})))
    return findings, current


def _compare(
    spec: ModelSpec, current: dict, champion: dict, buckets: dict[str, dict[str, int]]
) -> list[dict[str, Any]]:
    """``profile.compare`` on counts: categories and classes from the totals, numeric
    columns from bucket counts over the champion's decile edges."""
    empty = pd.DataFrame({col: pd.Series(dtype="float64") for col in spec.features.numeric})
    stripped = {**champion, "numeric_deciles": {}}
    findings = profiling.compare(empty, spec, current, stripped)
    for col in spec.features.numeric:
        edges = champion.get("numeric_deciles", {}).get(col)
        if not edges:
            continue
        reference = {str(i): 1.0 for i in range(len(edges) + 1)}
        actual = {k: float(v) for k, v in buckets.get(col, {}).items()}
        value = profiling.psi(reference, actual)
        if value > profiling.SHIFT_WARN:
            findings.append(
                _finding(
                    "warning", "feature_shift", col, f"{col}: distribution shifted (PSI {value})"
                )
            )
    return findings


def _weighted_deciles(samples: list[tuple[list[float], int]]) -> list[float]:
    values = [np.asarray(v, dtype=np.float64) for v, _ in samples if len(v)]
    if not values:
        return []
    weights = np.concatenate([np.full(len(v), n / len(v)) for v, n in samples if len(v)])
    order = np.argsort(np.concatenate(values), kind="stable")
    ordered, cumulative = np.concatenate(values)[order], np.cumsum(weights[order])
    positions = (cumulative - weights[order] / 2) / cumulative[-1]
    deciles = np.interp(np.linspace(0.1, 0.9, 9), positions, ordered)
    return [float(x) for x in np.unique(deciles.astype(np.float32))]


def _counts(values: pd.Series) -> dict[str, int]:
    counts = values.value_counts()
    return {str(k): int(v) for k, v in counts[counts > 0].items()}


def _ordered(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _add(left: dict, right: dict) -> dict:
    out = dict(left)
    for key, value in right.items():
        out[key] = (
            _add(out.get(key, {}), value) if isinstance(value, dict) else (out.get(key, 0) + value)
        )
    return out


def _non_numeric(values: pd.Series) -> int:
    if ptypes.is_numeric_dtype(values) or ptypes.is_bool_dtype(values):
        return 0
    converted = pd.to_numeric(values, errors="coerce")
    return int((converted.isna() & values.notna()).sum())


def _is_boolean(values: pd.Series) -> bool:
    present = values.dropna()
    return bool(ptypes.is_bool_dtype(present) or set(pd.unique(present)) <= {0, 1})


def _digest(frame: pd.DataFrame, key: str | None) -> str:
    ordered = frame.sort_values(key, kind="stable") if key else frame
    hashed = pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes()
    return hashlib.sha256(hashed).hexdigest()
