"""Data validation before fitting. Hard rules raise DataValidationError naming the column or
class and the spec field that changes the outcome; soft findings are returned for the card
and the report. Values are parsed here, once, into the types the features step expects:
numbers and booleans as float32, so a value that does not fit its kind is counted and
reported, never silently turned into a missing value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from retrain.domain.errors import DataValidationError
from retrain.domain.specs import ModelSpec
from retrain.training import drift, kinds
from retrain.training import profile as profiling


@dataclass
class Validated:
    frame: pd.DataFrame
    findings: list[dict[str, Any]] = field(default_factory=list)
    profile: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Window:
    """The data window a run loaded, and what the query holds before it (for the message
    when too few rows are inside)."""

    since: date
    rows_before: int | None = None
    newest_before: str | None = None


def finding(
    severity: str, rule: str, column: str | None, message: str, spec_field: str | None = None
) -> dict[str, Any]:
    return {
        "rule": rule,
        "severity": severity,
        "column": column,
        "message": message,
        "spec_field": spec_field,
    }


def validate(
    frame: pd.DataFrame,
    spec: ModelSpec,
    champion_profile: dict[str, Any] | None = None,
    window: Window | None = None,
) -> Validated:
    findings: list[dict[str, Any]] = []
    _stop_on(_missing_columns(frame, spec))
    frame, errors = _parse_kinds(frame, spec)

    target_nulls = int(frame[spec.target].isna().sum())
    if len(frame) and target_nulls == len(frame):
        errors.append(
            finding(
                "error",
                "target_null",
                spec.target,
                f"target {spec.target!r} is null in all {len(frame)} rows: check the "
                "query's target column",
                "target",
            )
        )
    elif target_nulls:
        findings.append(
            finding(
                "warning",
                "target_null",
                spec.target,
                f"dropped {target_nulls} rows whose target {spec.target!r} is null",
            )
        )
        frame = frame[frame[spec.target].notna()]
    mistyped = {e["column"] for e in errors}
    errors += [e for e in _null_rates(frame, spec) if e["column"] not in mistyped]
    _stop_on(errors)

    counts = frame[spec.target].value_counts()
    counts = counts[counts > 0]  # a categorical target lists unused classes too
    rare = counts[counts < spec.min_class_rows]
    dropped = ", ".join(f"{k} ({v})" for k, v in rare.items())
    if len(rare):
        findings.append(
            finding(
                "warning",
                "rare_classes",
                spec.target,
                f"dropped classes with fewer than {spec.min_class_rows} rows (min_class_rows): "
                f"{dropped}",
                "min_class_rows",
            )
        )
        frame = frame[~frame[spec.target].isin(rare.index)]

    if len(frame) < spec.min_rows:
        _stop_on(
            [_too_few_rows(len(frame), spec, target_nulls + int(rare.sum()), window)], findings
        )
    classes = counts.drop(rare.index)
    if len(classes) < 2:
        names = ": " + ", ".join(map(str, classes.index)) if len(classes) else ""
        message = (
            f"target {spec.target!r} has {len(classes)} usable class(es){names}; at least 2 needed"
        )
        if len(rare):
            message += (
                f"; dropped as rarer than min_class_rows={spec.min_class_rows}: {dropped}: "
                "lower min_class_rows or add rows of those classes"
            )
        field_name = "min_class_rows" if len(rare) else "target"
        _stop_on([finding("error", "single_class", spec.target, message, field_name)], findings)

    duplicates = int(frame.duplicated(subset=list(spec.columns)).sum())
    if duplicates:
        findings.append(
            finding(
                "warning",
                "duplicate_rows",
                None,
                f"{duplicates} rows repeat another row's features and target",
            )
        )

    current = profiling.profile(frame, spec)
    if champion_profile:
        try:
            findings.extend(drift.compare(frame, spec, current, champion_profile))
        except (KeyError, TypeError, ValueError, AttributeError):  # a card edited by hand
            message = "the champion's data profile is unreadable: drift was not checked"
            findings.append(finding("warning", "drift_unchecked", None, message))
    return Validated(frame=frame, findings=findings, profile=current)


def check_row_limit(rows: int, spec: ModelSpec, max_rows: int | None) -> list[dict[str, Any]]:
    """TRAINING_MAX_ROWS: a note when it cut the rows; a stop when more rows came back and
    the spec names no column to keep the newest by (the source then returns max_rows + 1)."""
    if max_rows is None or rows < max_rows:
        return []
    if spec.newest_by is None:
        if rows > max_rows:
            message = (
                f"the query of {spec.name} returns more than {max_rows} rows "
                "(TRAINING_MAX_ROWS) and the spec names no column to keep the newest by: set "
                "order_by (or time_column), or raise TRAINING_MAX_ROWS"
            )
            _stop_on([finding("error", "max_rows", None, message, "order_by")])
        return []
    by = (
        f"the newest {max_rows} rows by {spec.newest_by}"
        if spec.newest_by == spec.time_column
        else f"the {max_rows} rows with the largest {spec.newest_by}"
    )
    return [finding("warning", "max_rows", None, f"kept {by} (TRAINING_MAX_ROWS)", "order_by")]


def _missing_columns(frame: pd.DataFrame, spec: ModelSpec) -> list[dict[str, Any]]:
    roles = {
        col: f"features.{kind}" for kind, cols in spec.features.by_kind().items() for col in cols
    }
    roles.update({spec.target: "target"})
    roles.update(
        {col: knob for knob in ("order_by", "time_column") if (col := getattr(spec, knob))}
    )
    return [
        finding(
            "error",
            "missing_column",
            col,
            f"column {col!r} is missing from the query result of {spec.name}: add it to the "
            f"query's SELECT, or change {roles[col]}",
            roles[col].split(".")[0],
        )
        for col in spec.required_columns
        if col not in frame.columns
    ]


def _parse_kinds(frame: pd.DataFrame, spec: ModelSpec) -> tuple[pd.DataFrame, list[dict]]:
    """Numeric and boolean columns as float32; a finding per column with values that do not
    fit (counted by what they are, never quoted)."""
    parsed, errors = {}, []
    for kind, cols in spec.features.by_kind().items():
        parser = kinds.PARSERS.get(kind)
        for col in cols if parser else ():
            values, problem = parser(frame[col])  # type: ignore[misc]
            parsed[col] = values
            if problem:
                errors.append(
                    finding(
                        "error",
                        "column_type",
                        col,
                        f"{kind} column {col!r} has {problem}: fix them in the query, or "
                        f"declare {col!r} in features.categorical",
                        f"features.{kind}",
                    )
                )
    return (frame.assign(**parsed) if parsed else frame), errors


def _null_rates(frame: pd.DataFrame, spec: ModelSpec) -> list[dict[str, Any]]:
    errors = []
    for col in spec.features.all:
        rate = float(frame[col].isna().mean()) if len(frame) else 0.0
        if rate > spec.max_null_rate:
            errors.append(
                finding(
                    "error",
                    "null_rate",
                    col,
                    f"feature {col!r} is {rate:.0%} null (max_null_rate={spec.max_null_rate}): "
                    f"raise max_null_rate, fill the nulls in the query, or drop {col!r} from "
                    "the features",
                    "max_null_rate",
                )
            )
    return errors


def _too_few_rows(
    usable: int, spec: ModelSpec, dropped: int, window: Window | None
) -> dict[str, Any]:
    message = f"{usable} usable rows, {spec.name} needs at least {spec.min_rows} (min_rows)"
    if dropped:
        message += f" after dropping {dropped} rows (null target, rare classes)"
    knob = "min_rows"
    if window is not None and spec.time_column:
        message += (
            f"; the data window holds rows with {spec.time_column} since "
            f"{window.since.isoformat()} (window_months={spec.months})"
        )
        if window.rows_before:
            newest = (
                f", the newest from {window.newest_before[:10]}" if window.newest_before else ""
            )
            message += (
                f" and {window.rows_before:,} older rows lie outside it{newest}: widen "
                "window_months, or set time_column=None to train on all rows"
            )
            knob = "window_months"
        elif window.rows_before == 0:
            message += " and the query holds no older rows either"
    return finding("error", "too_few_rows", None, message, knob)


def _stop_on(errors: list[dict[str, Any]], prefix: list[dict[str, Any]] | None = None) -> None:
    if errors:
        message = "; ".join(e["message"] for e in errors)
        raise DataValidationError(message, findings=[*(prefix or []), *errors])
