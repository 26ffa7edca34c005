"""Data validation: hard rules stop the run naming the column or class; soft ones report."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrain.domain.errors import DataValidationError
from retrain.domain.runs import RunStatus
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from retrain.training.validate import Window, check_row_limit, duplicate_rows, validate
from tests.fakes import toy_frame, toy_spec

SPEC = toy_spec()


def test_clean_data_passes_with_a_profile():
    checked = validate(toy_frame(), SPEC)
    assert checked.profile["rows"] == 1000
    assert checked.profile["null_rates"]["size"] == 0
    assert len(checked.frame) == 1000


def test_missing_column_names_it():
    with pytest.raises(DataValidationError, match="column 'colour' is missing"):
        validate(toy_frame().drop(columns=["colour"]), SPEC)


def test_all_null_target_stops():
    frame = toy_frame()
    frame["label"] = None
    with pytest.raises(DataValidationError, match="target 'label' is null in all 1000 rows"):
        validate(frame, SPEC)


def test_null_targets_are_dropped_and_counted():
    frame = toy_frame()
    frame.loc[frame.index[:30], "label"] = None
    checked = validate(frame, SPEC)
    assert len(checked.frame) == 970
    assert any("dropped 30 rows" in f["message"] for f in checked.findings)


def test_feature_null_rate_over_the_limit_names_the_column():
    frame = toy_frame()
    frame.loc[frame.index[:700], "size"] = np.nan
    with pytest.raises(DataValidationError, match="feature 'size' is 70% null"):
        validate(frame, SPEC)


def test_text_and_infinity_in_a_numeric_column_are_counted_never_quoted():
    frame = toy_frame()
    frame["size"] = frame["size"].astype(object)
    frame.loc[frame.index[:3], "size"] = "n/a-secret"
    frame.loc[frame.index[3:5], "size"] = ["inf", float("-inf")]
    with pytest.raises(DataValidationError) as info:
        validate(frame, SPEC)
    assert str(info.value) == (
        "numeric column 'size' has 5 values that are not finite numbers (3 text, 2 infinite): "
        "fix them in the query, or declare 'size' in features.categorical"
    )
    assert info.value.findings[-1]["spec_field"] == "features.numeric"


@pytest.mark.parametrize("bad", [np.inf, -np.inf, 1e300])
def test_infinite_numbers_stop_before_fit(bad):
    frame = toy_frame()
    frame["size"] = frame["size"].astype("float64")
    frame.loc[frame.index[7], "size"] = bad  # 1e300 is beyond float32: inf once parsed
    with pytest.raises(DataValidationError, match=r"'size' has 1 values .* \(1 infinite\)"):
        validate(frame, SPEC)


def test_booleans_other_than_true_false_0_1_are_counted():
    frame = toy_frame()
    frame["coated"] = frame["coated"].map({True: "yes", False: "false"})
    with pytest.raises(DataValidationError, match=r"boolean column 'coated' has \d+ values other"):
        validate(frame, SPEC)


@pytest.mark.parametrize(
    "words", [("true", "false"), ("T", "f"), ("1", "0"), (1, 0), (1.0, 0.0), (True, False)]
)
def test_boolean_spellings_parse_to_0_1(words):
    frame = toy_frame()
    frame["coated"] = frame["coated"].map(dict(zip((True, False), words, strict=True)))
    frame["coated"] = frame["coated"].astype(object)
    frame.loc[frame.index[:3], "coated"] = None
    checked = validate(frame, SPEC)
    assert str(checked.frame["coated"].dtype) == "float32"
    assert set(checked.frame["coated"].dropna()) == {0.0, 1.0}
    assert checked.frame["coated"].isna().sum() == 3


def test_numbers_held_as_text_parse_to_float32():
    frame = toy_frame()
    frame["size"] = frame["size"].astype(str)
    checked = validate(frame, SPEC)
    assert str(checked.frame["size"].dtype) == "float32"


def test_too_few_rows():
    with pytest.raises(DataValidationError, match="50 usable rows, TOY needs at least 200"):
        validate(toy_frame(rows=50), SPEC)


def test_single_class():
    frame = toy_frame()
    frame["label"] = "small"
    with pytest.raises(DataValidationError, match="1 usable class"):
        validate(frame, SPEC)


def test_a_class_dropped_as_too_rare_is_named_in_the_single_class_stop():
    frame = toy_frame()
    frame["label"] = "small"
    frame.loc[frame.index[:4], "label"] = "large"
    with pytest.raises(DataValidationError) as info:
        validate(frame, SPEC)
    assert str(info.value) == (
        "target 'label' has 1 usable class(es): small; at least 2 needed; dropped as rarer "
        "than min_class_rows=10: large (4): lower min_class_rows or add rows of those classes"
    )
    assert info.value.findings[-1]["spec_field"] == "min_class_rows"


def _stop(frame, spec=SPEC, **kwargs):
    with pytest.raises(DataValidationError) as info:
        validate(frame, spec, **kwargs)
    return info.value.findings[-1]


def _nulls(frame, col, rows):
    frame.loc[frame.index[:rows], col] = None
    return frame


@pytest.mark.parametrize(
    ("frame", "spec_field", "words"),
    [
        (toy_frame().drop(columns=["colour"]), "features", "change features.categorical"),
        (toy_frame().drop(columns=["created_at"]), "time_column", "change time_column"),
        (toy_frame().assign(label=None), "target", "check the query's target"),
        (_nulls(toy_frame(), "size", 700), "max_null_rate", "(max_null_rate=0.6): raise"),
        (toy_frame(rows=50), "min_rows", "needs at least 200 (min_rows)"),
        (toy_frame().assign(coated="maybe"), "features.boolean", "features.categorical"),
    ],
)
def test_every_stop_names_the_spec_field_that_changes_it(frame, spec_field, words):
    finding = _stop(frame)
    assert finding["spec_field"] == spec_field
    assert words in finding["message"]


def test_too_few_rows_in_the_window_says_how_many_lie_outside_and_which_knob_widens_it():
    window = Window(date(2023, 11, 1), rows_before=40_000, newest_before="2019-06-30 10:00:00")
    finding = _stop(toy_frame().iloc[:0], window=window)
    assert finding["message"] == (
        "0 usable rows, TOY needs at least 200 (min_rows); the data window holds rows with "
        "created_at since 2023-11-01 (window_months=36) and 40,000 older rows lie outside it, "
        "the newest from 2019-06-30: widen window_months, or set time_column=None to train on "
        "all rows"
    )
    assert finding["spec_field"] == "window_months"


def test_row_limit_without_an_order_column_stops_and_says_why():
    spec = toy_spec(query="SELECT * FROM toy", time_column=None)
    assert check_row_limit(600, spec, 600) == []  # exactly the limit: nothing was cut
    with pytest.raises(DataValidationError, match="names no column to keep the newest by"):
        check_row_limit(601, spec, 600)
    (note,) = check_row_limit(600, toy_spec(), 600)
    assert note["message"] == "kept the newest 600 rows by created_at (TRAINING_MAX_ROWS)"
    (note,) = check_row_limit(600, dataclasses.replace(spec, order_by="size"), 600)
    assert note["message"] == "kept the 600 rows with the largest size (TRAINING_MAX_ROWS)"


def test_classes_too_rare_to_stratify_are_dropped_and_reported():
    frame = toy_frame()
    frame.loc[frame.index[:3], "label"] = "giant"
    checked = validate(frame, SPEC)
    assert "giant" not in set(checked.frame["label"])
    finding = next(f for f in checked.findings if f["rule"] == "rare_classes")
    assert "giant (3)" in finding["message"]


def test_duplicate_rows_are_reported():
    frame = toy_frame()
    frame = pd.concat([frame, frame.iloc[:5]], ignore_index=True)
    checked = validate(frame, SPEC)
    assert any(
        f["rule"] == "duplicate_rows" and f["message"].startswith("5 rows")
        for f in checked.findings
    )


def test_hard_failure_stops_the_run_before_fitting(svc):
    svc.source.frames["TOY"] = toy_frame().drop(columns=["size"])
    record = execute_run(svc, start_runs(svc, ["TOY"], trigger="test").runs[0].run_id)
    assert record.status is RunStatus.FAILED
    assert record.stage == "validate" and "fit" not in record.timings
    assert "'size' is missing" in record.error["message"]
    assert record.summary["findings"][0]["column"] == "size"
    assert svc.models.versions("TOY") == []


def test_a_categorical_target_with_unused_classes_is_not_misreported():
    frame = toy_frame()
    frame["label"] = pd.Categorical(frame["label"], categories=["small", "medium", "large", "gone"])
    frame["colour"] = pd.Categorical(frame["colour"], categories=["red", "green", "blue", "old"])
    checked = validate(frame, SPEC)
    assert not any(f["rule"] == "rare_classes" for f in checked.findings)
    assert set(checked.profile["class_counts"]) == {"small", "medium", "large"}
    assert set(checked.profile["columns"]["colour"]["counts"]) == {"red", "green", "blue"}


@settings(max_examples=60, deadline=None)
@given(
    columns=st.lists(
        st.sampled_from(["float", "category", "object", "wide"]), min_size=1, max_size=12
    ),
    rows=st.integers(0, 60),
    seed=st.integers(0, 2**32 - 1),
)
def test_duplicate_rows_count_as_pandas_duplicated_does(columns, rows, seed):
    """NaN, -0.0, categories and mixed objects alike; "wide" columns of ~rows distinct
    values make the running id overflow 64 bits, so it is renumbered on the way."""
    rng = np.random.default_rng(seed)
    values = {
        "float": lambda: rng.choice([0.0, -0.0, 1.5, np.nan], rows).astype("float32"),
        "category": lambda: pd.Categorical(rng.choice(["a", "b", None], rows), ["b", "a", "z"]),
        "object": lambda: pd.Series(rng.choice(np.array([1, "1", None, 2.0], object), rows)),
        "wide": lambda: rng.integers(-(2**40), 2**40, rows) * rng.integers(0, 2, rows),
    }
    frame = pd.DataFrame({f"c{i}": values[kind]() for i, kind in enumerate(columns)})
    names = list(frame.columns)
    assert duplicate_rows(frame, names) == int(frame.duplicated(subset=names).sum())


def test_duplicate_rows_of_a_wide_table_need_a_few_arrays_not_one_per_column():
    """pandas' own count holds every column's labels at once (8 bytes a value)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.integers(0, 3, (20_000, 80)).astype("float32"))
    frame = pd.concat([frame, frame.iloc[:7]], ignore_index=True)
    tracemalloc.start()
    count = duplicate_rows(frame, list(frame.columns))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 7
    assert peak < 20 * len(frame) * 8  # pandas' labels alone: 80 x 8 bytes a row
