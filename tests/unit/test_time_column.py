"""A time column the window and the holdout cannot read as time is refused before anything
is fitted, with the fix. Epoch integers were read as nanoseconds since 1970: the card's
window became a 'year 1793485578', the next run's gate could not place the champion's rows
and promoted a worse candidate without comparing. Text in M/D/YYYY sorted '9/9/2026' after
'10/31/2026': the window, the newest rows and the out-of-time test part followed the text."""

from __future__ import annotations

import pytest

from retrain.domain.errors import DataValidationError
from retrain.training import validate
from tests.fakes import toy_frame, toy_spec


@pytest.mark.parametrize(
    ("times", "says"),
    [
        (lambda t: t.astype("int64") // 10**9, "holds numbers, not times"),
        (lambda t: t.dt.strftime("%-m/%-d/%Y %H:%M:%S"), "holds text that does not sort as time"),
    ],
)
def test_a_time_column_that_cannot_be_read_as_time_is_refused(times, says):
    frame = toy_frame(rows=2000)
    frame["created_at"] = times(frame["created_at"])
    with pytest.raises(DataValidationError, match=says) as stopped:
        validate.validate(frame, toy_spec())
    assert "ISO 8601" in str(stopped.value)
    assert stopped.value.findings[0]["spec_field"] == "time_column"


@pytest.mark.parametrize(
    "form",
    ["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S+01:00"],
)
def test_text_that_sorts_as_time_and_timestamps_pass(form):
    frame = toy_frame(rows=2000)
    assert validate.time_column_problems(frame, toy_spec()) == []  # datetimes
    frame["created_at"] = frame["created_at"].dt.strftime(form)
    assert validate.time_column_problems(frame, toy_spec()) == []
    assert validate.time_column_problems(frame.iloc[:0], toy_spec()) == []


@pytest.mark.parametrize("kind", ["categorical", "text"])
def test_the_time_column_as_a_categorical_or_text_feature_is_refused_by_the_spec(kind):
    """It trained, then failed to publish after the whole fit: the encoder held
    pandas.Timestamp values, which skops does not trust."""
    from retrain.domain.specs import Features

    with pytest.raises(ValueError, match="time_column 'created_at' is also a categorical"):
        toy_spec(features=Features(numeric=("size",), **{kind: ("created_at",)}))
