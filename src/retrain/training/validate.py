"""Data validation before fitting. Hard rules raise DataValidationError naming the column or
class and the spec field that changes the outcome; soft findings are returned for the card
and the report. Values are parsed here, once, into the types the features step expects:
numbers and booleans as float32, so a value that does not fit its kind is counted and
reported, never silently turned into a missing value."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from retrain.domain.errors import DataValidationError
from retrain.domain.specs import ModelSpec
from retrain.training import drift, holdout, kinds
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


@dataclass
class Tally:
    """What the hard rules need, as counts that add up across partitions of the rows."""

    rows: int = 0
    target_nulls: int = 0
    classes: dict[str, int] = field(default_factory=dict)  # labelled rows by class (as text)
    nulls: dict[str, int] = field(default_factory=dict)  # per feature, in labelled rows
    nulls_all: dict[str, int] = field(default_factory=dict)  # per feature, in all rows
    misfits: dict[str, kinds.Misfits] = field(default_factory=dict)  # per parsed column

    def __add__(self, other: Tally) -> Tally:
        def add(a: dict, b: dict) -> dict:
            out = dict(a)
            for key, value in b.items():
                out[key] = (
                    add(out.get(key, {}), value)
                    if isinstance(value, dict)
                    else (out.get(key, 0) + value)
                )
            return out

        return Tally(
            self.rows + other.rows,
            self.target_nulls + other.target_nulls,
            add(self.classes, other.classes),
            add(self.nulls, other.nulls),
            add(self.nulls_all, other.nulls_all),
            add(self.misfits, other.misfits),
        )


def validate(
    frame: pd.DataFrame,
    spec: ModelSpec,
    champion_profile: dict[str, Any] | None = None,
    window: Window | None = None,
) -> Validated:
    _stop_on(missing_columns(frame.columns, spec))
    _stop_on(time_column_problems(frame, spec))
    frame, misfits = parse_kinds(frame, spec)
    findings, dropped = check_counts(tally(frame, spec, misfits), spec, window)
    frame = usable(frame, spec, dropped)
    findings += duplicate_findings(duplicate_rows(frame, spec.columns))
    frame, about_texts = checked_texts(frame, spec)
    findings += about_texts
    current = profiling.profile(frame, spec)
    if champion_profile:
        findings += drift_findings(
            spec, current, champion_profile, lambda: drift.observe(frame, spec, champion_profile)
        )
    return Validated(frame=frame, findings=findings, profile=current)


def tally(frame: pd.DataFrame, spec: ModelSpec, misfits: dict[str, kinds.Misfits]) -> Tally:
    """The counts of ``frame`` (parsed by ``parse_kinds``) that the hard rules judge."""
    target = frame[spec.target]
    labelled = frame[target.notna()]
    return Tally(
        rows=len(frame),
        target_nulls=len(frame) - len(labelled),
        classes=profiling.category_counts(labelled[spec.target]),
        nulls={col: int(labelled[col].isna().sum()) for col in spec.features.all},
        nulls_all={col: int(frame[col].isna().sum()) for col in spec.features.all},
        misfits=misfits,
    )


def usable(frame: pd.DataFrame, spec: ModelSpec, dropped: list[str]) -> pd.DataFrame:
    """The rows that train: a target, and not of a class dropped as too rare."""
    target = frame[spec.target]
    keep = target.notna()
    if dropped:
        keep &= ~target.astype(object).astype(str).isin(dropped)  # 3, not 3.0, beside NaN
    return frame if keep.all() else frame[keep]


def check_counts(
    counts: Tally, spec: ModelSpec, window: Window | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """The hard rules on counts (stop with DataValidationError) and their soft findings;
    returns (findings, classes dropped as too rare)."""
    findings: list[dict[str, Any]] = []
    errors = _kind_errors(counts.misfits, spec)
    rows, target_nulls = counts.rows, counts.target_nulls
    if rows and target_nulls == rows:
        errors.append(
            finding(
                "error",
                "target_null",
                spec.target,
                f"target {spec.target!r} is null in all {rows} rows: check the "
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
    mistyped = {e["column"] for e in errors}
    labelled = rows - target_nulls
    nulls, base = (counts.nulls_all, rows) if rows and not labelled else (counts.nulls, labelled)
    errors += [e for e in _null_rates(nulls, base, spec) if e["column"] not in mistyped]
    _stop_on(errors)

    classes = dict(sorted(counts.classes.items(), key=lambda kv: (-kv[1], kv[0])))
    rare = {k: n for k, n in classes.items() if 0 < n < spec.min_class_rows}
    dropped = ", ".join(f"{k} ({v})" for k, v in rare.items())
    if rare:
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
    kept = labelled - sum(rare.values())
    if kept < spec.min_rows:
        _stop_on([_too_few_rows(kept, spec, target_nulls + sum(rare.values()), window)], findings)
    left = [k for k, n in classes.items() if n > 0 and k not in rare]
    if len(left) < 2:
        names = ": " + ", ".join(left) if left else ""
        message = (
            f"target {spec.target!r} has {len(left)} usable class(es){names}; at least 2 needed"
        )
        if rare:
            message += (
                f"; dropped as rarer than min_class_rows={spec.min_class_rows}: {dropped}: "
                "lower min_class_rows or add rows of those classes"
            )
        field_name = "min_class_rows" if rare else "target"
        _stop_on([finding("error", "single_class", spec.target, message, field_name)], findings)
    return findings, list(rare)


def checked_texts(frame: pd.DataFrame, spec: ModelSpec) -> tuple[pd.DataFrame, list[dict]]:
    """(``frame`` with every text cut to ``text.MAX_CHARS``, the findings): the profile and
    the fit see what the model will (the vectoriser cuts the same at prediction), and a cut
    is a finding. A text column without a word in any row trains as one column of zeros
    (the TF-IDF block), and says so. One pass over each text column."""
    from retrain.training.text import MAX_CHARS

    out = []
    for col in spec.features.text:
        present = frame[col].notna().to_numpy()
        texts = frame[col][present].astype(str)
        lengths = texts.str.len().to_numpy()
        long = lengths > MAX_CHARS
        if long.any():
            message = (
                f"{int(long.sum())} texts in {col!r} are longer than {MAX_CHARS:,} characters "
                f"(the longest {int(lengths.max()):,}): they were cut to {MAX_CHARS:,}"
            )
            out.append(finding("warning", "text_too_long", col, message))
            values = frame[col].copy()
            values.iloc[np.flatnonzero(present)[long]] = texts[long].str.slice(0, MAX_CHARS)
            frame = frame.assign(**{col: values})
        if not texts.str.strip().astype(bool).any():
            message = (
                f"text column {col!r} is empty in all {len(frame)} rows: it adds nothing to "
                "the model (check the query's column)"
            )
            out.append(finding("warning", "text_empty", col, message))
    return frame, out


def duplicate_rows(frame: pd.DataFrame, columns: Collection[str]) -> int:
    """The rows that repeat an earlier row in ``columns``: ``frame.duplicated(subset=columns)
    .sum()``, whose labels of every column at once (8 bytes a value) were validation's peak
    for wide tables (80 numbers: 320 MB at 500,000 rows). Here the columns' codes join the
    row's id one column at a time, renumbered when the next would overflow 64 bits."""
    ids = np.zeros(len(frame), dtype=np.int64)
    size = 1  # the ids so far are below this
    for col in columns:
        codes, uniques = pd.factorize(frame[col], use_na_sentinel=False)  # NaN: a value too
        width = max(len(uniques), 1)
        if size * width >= 2**63:
            ids, seen = pd.factorize(ids)
            size = len(seen)
        ids = ids * width + codes
        size *= width
    return int(pd.Series(ids).duplicated().sum())


def duplicate_findings(duplicates: int) -> list[dict[str, Any]]:
    if not duplicates:
        return []
    message = f"{duplicates} rows repeat another row's features and target"
    return [finding("warning", "duplicate_rows", None, message)]


def drift_findings(
    spec: ModelSpec,
    current: dict[str, Any],
    champion: dict[str, Any],
    observe: Callable[[], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Drift against the champion's profile; ``observe`` gives what ``drift.compare_seen``
    needs of the new rows (``drift.observe``, or its partitions' sum). A profile that does
    not read (a card edited by hand) is a finding, not a stop."""
    try:
        return drift.compare_seen(spec, current, champion, observe())
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        message = "the champion's data profile is unreadable: drift was not checked"
        return [finding("warning", "drift_unchecked", None, message)]


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


def time_column_problems(frame: pd.DataFrame, spec: ModelSpec) -> list[dict[str, Any]]:
    """A time column the window and the holdout cannot read as time: numbers (epoch seconds
    were read as nanoseconds since 1970, and the card's window as a year out of range), or
    text that does not sort as time ('9/9/2026' after '10/31/2026': the query's
    ``>= :since`` and its newest rows compare the text). Empty when it is fine."""
    column = spec.time_column
    if column is None or column not in frame or frame.empty:
        return []
    values = frame[column]
    fix = (
        "return a timestamp, or ISO 8601 text (2026-11-01 06:00:00), from the query "
        f"(SQLite: datetime({column}, 'unixepoch') for epoch seconds)"
    )
    if ptypes.is_bool_dtype(values) or ptypes.is_numeric_dtype(values):
        message = f"time column {column!r} holds numbers, not times: {fix}"
        return [finding("error", "time_column", column, message, "time_column")]
    if ptypes.is_datetime64_any_dtype(values):
        return []
    texts = values.dropna().astype(str)
    ordered = holdout.times(texts.sort_values(kind="stable")).dropna()
    if (ordered.diff().dropna() < pd.Timedelta(0)).any():
        message = f"time column {column!r} holds text that does not sort as time: {fix}"
        return [finding("error", "time_column", column, message, "time_column")]
    return []


def missing_columns(columns: Collection[str], spec: ModelSpec) -> list[dict[str, Any]]:
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
        if col not in columns
    ]


def parse_kinds(frame: pd.DataFrame, spec: ModelSpec) -> tuple[pd.DataFrame, dict]:
    """Numeric and boolean columns as float32, and per column the count of values that do
    not fit (by what they are, never quoted). Categorical columns, the target and the key
    column keep their integers when a NULL made them float (``kinds.whole``)."""
    parsed, misfits = {}, {}
    for kind, cols in spec.features.by_kind().items():
        parser = kinds.PARSERS.get(kind)
        for col in cols if parser else ():
            parsed[col], misfits[col] = parser(frame[col])  # type: ignore[misc]
    keys = (spec.key_column,) if spec.key_column else ()
    for col in (*spec.features.categorical, spec.target, *keys):
        if col in frame and col not in parsed:
            values = frame[col]
            if (whole := kinds.whole(values)) is not values:
                parsed[col] = whole
    return (frame.assign(**parsed) if parsed else frame), misfits


def _kind_errors(misfits: dict[str, kinds.Misfits], spec: ModelSpec) -> list[dict[str, Any]]:
    errors = []
    for kind, cols in spec.features.by_kind().items():
        for col in cols:
            if problem := kinds.problem(kind, misfits.get(col) or {}):
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
    return errors


def _null_rates(nulls: dict[str, int], rows: int, spec: ModelSpec) -> list[dict[str, Any]]:
    errors = []
    for col in spec.features.all:
        rate = nulls[col] / rows if rows else 0.0
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
