"""A data profile (what the rows looked like) and its comparison with the champion's."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from retrain.domain.specs import ModelSpec

TOP_CATEGORIES = 200
SHIFT_WARN = 0.2  # population stability index above this is a notable shift


def profile(frame: pd.DataFrame, spec: ModelSpec) -> dict[str, Any]:
    """Rows, class counts, null rates, categories and numeric deciles: JSON-ready."""
    out: dict[str, Any] = {
        "rows": len(frame),
        "class_counts": _counts(frame[spec.target]),
        "null_rates": {col: round(float(frame[col].isna().mean()), 6) for col in spec.features.all},
        "categories": {},
        "numeric_deciles": {},
    }
    for col in spec.features.categorical:
        out["categories"][col] = _counts(frame[col], TOP_CATEGORIES)
    for col in spec.features.numeric:
        values = pd.to_numeric(frame[col], errors="coerce").dropna()
        if len(values):
            deciles = np.quantile(values, np.linspace(0.1, 0.9, 9))
            out["numeric_deciles"][col] = [float(x) for x in np.unique(deciles)]
    return out


def _counts(values: pd.Series, top: int | None = None) -> dict[str, int]:
    """Value counts of the values present (a categorical also lists unused categories)."""
    counts = values.value_counts()
    counts = counts[counts > 0]
    return {str(k): int(v) for k, v in (counts.head(top) if top else counts).items()}


def psi(expected: dict[str, float], actual: dict[str, float]) -> float:
    """Population stability index between two distributions given as counts by bucket."""
    keys = set(expected) | set(actual)
    e_total = sum(expected.values()) or 1
    a_total = sum(actual.values()) or 1
    total = 0.0
    for key in keys:
        e = max(expected.get(key, 0) / e_total, 1e-4)
        a = max(actual.get(key, 0) / a_total, 1e-4)
        total += (a - e) * math.log(a / e)
    return round(total, 4)


def _bucket_counts(values: pd.Series, edges: list[float]) -> dict[str, float]:
    codes = np.searchsorted(np.asarray(edges), values.dropna().to_numpy(), side="right")
    return {str(k): float(v) for k, v in zip(*np.unique(codes, return_counts=True), strict=True)}


def compare(
    frame: pd.DataFrame, spec: ModelSpec, current: dict[str, Any], champion: dict[str, Any]
) -> list[dict[str, Any]]:
    """Soft findings: new/vanished categories and label or feature shift against the champion."""
    findings: list[dict[str, Any]] = []
    label_psi = psi(champion.get("class_counts", {}), current["class_counts"])
    if label_psi > SHIFT_WARN:
        findings.append(
            _warn("label_shift", spec.target, f"label distribution shifted (PSI {label_psi})")
        )
    new_labels = set(current["class_counts"]) - set(champion.get("class_counts", {}))
    if new_labels:
        findings.append(
            _warn(
                "new_classes", spec.target, f"classes not seen by the champion: {_few(new_labels)}"
            )
        )
    for col in spec.features.categorical:
        before = champion.get("categories", {}).get(col)
        if before is None:
            continue
        now = current["categories"].get(col, {})
        new = set(now) - set(before)
        gone = set(before) - set(now)
        if new:
            findings.append(_warn("new_categories", col, f"{col}: new categories {_few(new)}"))
        if gone:
            findings.append(_warn("vanished_categories", col, f"{col}: vanished {_few(gone)}"))
        value = psi(before, now)
        if value > SHIFT_WARN:
            findings.append(
                _warn("feature_shift", col, f"{col}: distribution shifted (PSI {value})")
            )
    for col in spec.features.numeric:
        edges = champion.get("numeric_deciles", {}).get(col)
        if not edges:
            continue
        values = pd.to_numeric(frame[col], errors="coerce")
        reference = {str(i): 1.0 for i in range(len(edges) + 1)}  # deciles: equal mass
        value = psi(reference, _bucket_counts(values, edges))
        if value > SHIFT_WARN:
            findings.append(
                _warn("feature_shift", col, f"{col}: distribution shifted (PSI {value})")
            )
    return findings


def _warn(rule: str, column: str, message: str) -> dict[str, Any]:
    return {"rule": rule, "severity": "warning", "column": column, "message": message}


def _few(values: set[str], limit: int = 8) -> str:
    shown = sorted(values)[:limit]
    more = f" (+{len(values) - limit} more)" if len(values) > limit else ""
    return ", ".join(shown) + more
