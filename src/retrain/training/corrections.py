"""Corrections joined to a run's loaded rows, before validation (so the same rules apply to
them as to every row). Pure: a frame and corrections in, a frame and counts out.

- ``override``: the label of each row whose ``key_column`` value a correction names becomes
  the correction's true label (the newest correction of a key wins). A correction whose key
  is not among the loaded rows (the row is gone, or outside the data window) is ``unmatched``.
- ``append``: each correction is one more row: the features it sends, over those of the row
  its key names (if any); its time column is the correction's ``when``. A correction with
  neither features nor a loaded row to copy them from is ``unmatched``."""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd

from retrain.domain.feedback import Correction
from retrain.domain.specs import ModelSpec
from retrain.training import kinds


def join(
    frame: pd.DataFrame, spec: ModelSpec, corrections: list[Correction]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """(``frame`` with ``corrections`` joined by ``spec.corrections``, counts for the card:
    ``used``, ``changed`` labels, ``unmatched``, ``unknown_class`` among the used)."""
    if not corrections or spec.corrections == "ignore":
        return frame, {"used": 0, "changed": 0, "unmatched": len(corrections), "unknown_class": 0}
    # key 3 and class 3 as "3" even when a NULL made the column float (as validation does)
    columns = [c for c in (spec.target, spec.key_column) if c is not None and c in frame]
    loaded = {c: frame[c] for c in columns}
    whole = {c: kinds.whole(v) for c, v in loaded.items()}
    frame = frame.assign(**{c: v for c, v in whole.items() if v is not loaded[c]})
    if spec.corrections == "override":
        return _override(frame, spec, corrections)
    return _append(frame, spec, corrections)


def _keys(frame: pd.DataFrame, spec: ModelSpec) -> pd.Series:
    assert spec.key_column is not None
    return frame[spec.key_column].astype(str)  # as the holdout hashes it


def _labels(target: pd.Series) -> dict[str, Any]:
    """A label's text -> the value the loaded rows hold (3 for "3" in an integer target)."""
    return {str(v): v for v in pd.unique(target.dropna())}


def _override(
    frame: pd.DataFrame, spec: ModelSpec, corrections: list[Correction]
) -> tuple[pd.DataFrame, dict[str, int]]:
    newest = {c.key: c for c in corrections if c.key is not None}  # oldest first: last wins
    keys = _keys(frame, spec) if spec.key_column in frame else pd.Series([], dtype=str)
    hit = keys.isin(newest).to_numpy()
    target = frame[spec.target]
    typed = _labels(target)
    labels = [typed.get(newest[k].true_label, newest[k].true_label) for k in keys[hit]]
    values = target.astype(object).copy()
    changed = int(sum(str(old) != str(new) for old, new in zip(values[hit], labels, strict=True)))
    values[hit] = labels
    if isinstance(target.dtype, pd.CategoricalDtype):
        values = values.astype("category")
    matched = set(keys[hit])
    counts = {
        "used": len(matched),
        "changed": changed,
        "unmatched": len(corrections) - sum(1 for c in corrections if c.key in matched),
        "unknown_class": sum(newest[k].unknown_class for k in matched),
    }
    return frame.assign(**{spec.target: values}), counts


def _append(
    frame: pd.DataFrame, spec: ModelSpec, corrections: list[Correction]
) -> tuple[pd.DataFrame, dict[str, int]]:
    by_key: dict[str, int] = {}
    if spec.key_column and spec.key_column in frame:
        keys = _keys(frame, spec)
        by_key = {k: i for i, k in enumerate(keys)}  # the last row of a repeated key
    typed = _labels(frame[spec.target])
    kind_of = {col: kind for kind, cols in spec.features.by_kind().items() for col in cols}
    rows, unmatched, flagged = [], 0, 0
    for c in corrections:
        position = by_key.get(c.key) if c.key is not None else None
        if position is None and not c.features:
            unmatched += 1
            continue
        row: dict[str, Any] = {}
        if position is not None:
            row.update(frame.iloc[position][[f for f in spec.features.all if f in frame]].to_dict())
        for col, value in (c.features or {}).items():
            row[col] = float(value) if kind_of[col] == "boolean" and value is not None else value
        row[spec.target] = typed.get(c.true_label, c.true_label)
        if spec.key_column:
            row[spec.key_column] = c.key if c.key is not None else _synthetic_key(c)
        if spec.time_column:
            row[spec.time_column] = _time(c.when, frame[spec.time_column])
        rows.append(row)
        flagged += c.unknown_class
    counts = {
        "used": len(rows),
        "changed": len(rows),
        "unmatched": unmatched,
        "unknown_class": sum(
            c.unknown_class
            for c in corrections
            if c.features or by_key.get(c.key or "") is not None
        ),
    }
    if not rows:
        return frame, counts
    extra = pd.DataFrame(rows, columns=frame.columns)
    categorical = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    joined = pd.concat([frame.astype({c: object for c in categorical}), extra], ignore_index=True)
    return joined.astype({c: "category" for c in categorical}), counts


def _synthetic_key(c: Correction) -> str:
    """A key for a correction that names its row by features only: unique to its content,
    so the holdout's hash of the key spreads such rows like any other."""
    text = f"{c.when}|{c.who}|{sorted((c.features or {}).items())}|{c.true_label}"
    return "feedback-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _time(when: str, column: pd.Series) -> Any:
    """``when`` typed as the loaded time column holds its times (zone or naive UTC)."""
    at = pd.Timestamp(when)
    zone = getattr(column.dtype, "tz", None)
    if zone is not None:
        return at.tz_convert(zone)
    if pd.api.types.is_datetime64_any_dtype(column):
        return at.tz_convert("UTC").tz_localize(None)
    return when
