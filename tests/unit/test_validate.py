"""Data validation: hard rules stop the run naming the column or class; soft ones report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retrain.domain.errors import DataValidationError
from retrain.domain.runs import RunStatus
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from retrain.training.validate import validate
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


def test_non_numeric_values_in_a_numeric_column():
    frame = toy_frame()
    frame["size"] = frame["size"].astype(object)
    frame.loc[frame.index[:3], "size"] = "n/a"
    with pytest.raises(DataValidationError, match="numeric column 'size' has 3 non-numeric"):
        validate(frame, SPEC)


def test_too_few_rows():
    with pytest.raises(DataValidationError, match="50 usable rows, TOY needs at least 200"):
        validate(toy_frame(rows=50), SPEC)


def test_single_class():
    frame = toy_frame()
    frame["label"] = "small"
    with pytest.raises(DataValidationError, match="1 usable class"):
        validate(frame, SPEC)


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
    assert set(checked.profile["categories"]["colour"]) == {"red", "green", "blue"}
