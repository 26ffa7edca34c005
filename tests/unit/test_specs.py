"""The spec's data window knobs: optional time column, window_months, order_by; each mistake
caught at definition with a message that says what to fix."""

from __future__ import annotations

import pytest

from retrain.classifiers import default_registry
from tests.fakes import toy_spec

PLAIN = "SELECT size, colour, coated, label FROM toy"


def test_a_spec_without_time_column_or_since_trains_on_all_rows():
    spec = toy_spec(query=PLAIN, time_column=None)
    assert spec.months is None and spec.newest_by is None
    assert spec.required_columns == ("size", "colour", "coated", "label")


def test_a_time_column_brings_a_36_month_window_and_the_newest_rows():
    spec = toy_spec()
    assert (spec.time_column, spec.months, spec.newest_by) == ("created_at", 36, "created_at")
    assert toy_spec(window_months=24).months == 24
    assert toy_spec(order_by="article_id").required_columns[-2:] == ("created_at", "article_id")


def test_seed_classifiers_keep_their_window():
    for spec in default_registry():
        assert (spec.time_column, spec.months) == ("created_at", 36)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"query": PLAIN},
            "time_column 'created_at' needs a window filter in the query "
            "(WHERE created_at >= :since); or set time_column=None to train on all rows",
        ),
        (
            {"time_column": None},
            "query filters on :since but no time_column is set: set time_column to the column "
            "the filter uses, or drop the :since filter to train on all rows",
        ),
        (
            {"query": PLAIN, "time_column": None, "window_months": 24},
            "window_months needs a time_column to count months on",
        ),
        ({"window_months": 0}, "window_months must be at least 1"),
        ({"time_column": "created at"}, "time_column 'created at' must be a plain column name"),
        ({"order_by": 'id" DESC; --'}, "order_by 'id\" DESC; --' must be a plain column name"),
        (
            {"query": "SELECT * FROM toy WHERE created_at >= :since AND plant = :plant"},
            "query uses the bound parameter(s) :plant; only :since is bound",
        ),
        ({"max_null_rate": 60}, "max_null_rate must be between 0 and 1"),
        ({"min_rows": 0}, "min_rows must be at least 1"),
    ],
)
def test_window_mistakes_are_caught_with_what_to_fix(overrides, message):
    with pytest.raises(ValueError) as info:
        toy_spec(**overrides)
    assert message in str(info.value)


def test_casts_and_literal_colons_are_not_parameters():
    query = "SELECT size::real, '10\\:30' AS t, colour, coated, label FROM toy"
    assert toy_spec(query=query, time_column=None).months is None
