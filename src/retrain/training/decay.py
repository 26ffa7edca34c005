"""A fitted champion scored on rows it has not seen: pure functions over frames. The rows
are parsed like training rows (validate.parse_kinds), and the score is the gate's own metric
function (evaluate.scores)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from retrain.domain.errors import DataValidationError
from retrain.domain.specs import ModelSpec
from retrain.training import evaluate, holdout, validate
from retrain.training.features import feature_frame


@dataclass(frozen=True)
class NewRows:
    frame: pd.DataFrame  # labelled rows newer than ``after`` (or all, without a time column)
    unlabelled: int  # new rows dropped for a null target
    first: str | None  # the oldest and newest time among them
    last: str | None


def utc_naive(text: str) -> pd.Timestamp:
    """A stored time (a card's window) as a naive UTC timestamp; ValueError if it is none."""
    stamp = pd.Timestamp(text)
    if pd.isna(stamp):
        raise ValueError(f"{text[:40]!r} is not a time")
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp


def new_rows(frame: pd.DataFrame, spec: ModelSpec, after: pd.Timestamp | None) -> NewRows:
    """The rows of ``frame`` whose time column is strictly later than ``after`` (every row
    when ``after`` is None) and whose target is known."""
    missing = validate.missing_columns(frame.columns, spec)
    if missing:
        raise DataValidationError("; ".join(f["message"] for f in missing), missing)
    column = spec.time_column
    times = None
    if column is not None and column in frame.columns:
        times = holdout.times(frame[column])
        if after is not None:
            keep = (times > after).to_numpy()
            frame, times = frame[keep], times[keep]
    labelled = frame[spec.target].notna().to_numpy()
    frame = frame[labelled]
    if times is not None:
        times = times[labelled]
    first = last = None
    if times is not None and len(times) and not times.isna().all():
        first, last = str(times.min()), str(times.max())
    return NewRows(frame, int((~labelled).sum()), first, last)


def score(model: Any, frame: pd.DataFrame, spec: ModelSpec) -> dict[str, Any]:
    """``evaluate.scores`` of ``model`` on labelled ``frame``: every metric, the primary one
    among them."""
    parsed, _ = validate.parse_kinds(frame, spec)  # a misfit becomes missing, as it would serve
    truth = parsed[spec.target].astype(str)
    predicted = evaluate.as_labels(
        pd.Series(model.predict(feature_frame(parsed, spec))).to_numpy(dtype=object), set(truth)
    )
    return evaluate.scores(truth, predicted)
