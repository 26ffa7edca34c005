"""Data validation before fitting. Hard rules raise DataValidationError naming the column or
class; soft findings are returned for the card and the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pandas.api import types as ptypes

from retrain.domain.errors import DataValidationError
from retrain.domain.specs import ModelSpec
from retrain.training import profile as profiling


@dataclass
class Validated:
    frame: pd.DataFrame
    findings: list[dict[str, Any]] = field(default_factory=list)
    profile: dict[str, Any] = field(default_factory=dict)


def _finding(severity: str, rule: str, column: str | None, message: str) -> dict[str, Any]:
    return {"rule": rule, "severity": severity, "column": column, "message": message}


def validate(
    frame: pd.DataFrame, spec: ModelSpec, champion_profile: dict[str, Any] | None = None
) -> Validated:
    errors: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []

    missing = [col for col in spec.columns if col not in frame.columns]
    if missing:
        _stop(
            [
                _finding(
                    "error",
                    "missing_column",
                    col,
                    f"column {col!r} is missing from the query result of {spec.name}",
                )
                for col in missing
            ]
        )

    for col in spec.features.numeric:
        values = frame[col]
        if not ptypes.is_numeric_dtype(values) and not ptypes.is_bool_dtype(values):
            converted = pd.to_numeric(values, errors="coerce")
            bad = int((converted.isna() & values.notna()).sum())
            if bad:
                errors.append(
                    _finding(
                        "error",
                        "column_type",
                        col,
                        f"numeric column {col!r} has {bad} non-numeric values",
                    )
                )
    for col in spec.features.boolean:
        values = frame[col].dropna()
        if not (ptypes.is_bool_dtype(values) or set(pd.unique(values)) <= {0, 1}):
            errors.append(
                _finding(
                    "error",
                    "column_type",
                    col,
                    f"boolean column {col!r} holds values other than 0/1/true/false",
                )
            )

    target_nulls = int(frame[spec.target].isna().sum())
    if len(frame) and target_nulls == len(frame):
        errors.append(
            _finding(
                "error",
                "target_null",
                spec.target,
                f"target {spec.target!r} is null in all {len(frame)} rows",
            )
        )
    elif target_nulls:
        findings.append(
            _finding(
                "warning",
                "target_null",
                spec.target,
                f"dropped {target_nulls} rows whose target {spec.target!r} is null",
            )
        )
        frame = frame[frame[spec.target].notna()]

    for col in spec.features.all:
        rate = float(frame[col].isna().mean()) if len(frame) else 0.0
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

    counts = frame[spec.target].value_counts()
    counts = counts[counts > 0]  # a categorical target lists unused classes too
    rare = counts[counts < spec.min_class_rows]
    if len(rare):
        listed = ", ".join(f"{k} ({v})" for k, v in rare.items())
        findings.append(
            _finding(
                "warning",
                "rare_classes",
                spec.target,
                f"dropped classes with fewer than {spec.min_class_rows} rows: {listed}",
            )
        )
        frame = frame[~frame[spec.target].isin(rare.index)]

    if len(frame) < spec.min_rows:
        _stop(
            [
                _finding(
                    "error",
                    "too_few_rows",
                    None,
                    f"{len(frame)} usable rows, {spec.name} needs at least {spec.min_rows}",
                )
            ],
            prefix=findings,
        )
    classes = frame[spec.target].nunique()
    if classes < 2:
        _stop(
            [
                _finding(
                    "error",
                    "single_class",
                    spec.target,
                    f"target {spec.target!r} has {classes} usable class(es); at least 2 needed",
                )
            ],
            prefix=findings,
        )

    duplicates = int(frame.duplicated(subset=list(spec.columns)).sum())
    if duplicates:
        findings.append(
            _finding(
                "warning",
                "duplicate_rows",
                None,
                f"{duplicates} rows repeat another row's features and target",
            )
        )

    current = profiling.profile(frame, spec)
    if champion_profile:
        findings.extend(profiling.compare(frame, spec, current, champion_profile))
    return Validated(frame=frame, findings=findings, profile=current)


def _stop(errors: list[dict[str, Any]], prefix: list[dict[str, Any]] | None = None) -> None:
    message = "; ".join(e["message"] for e in errors)
    raise DataValidationError(message, findings=[*(prefix or []), *errors])
