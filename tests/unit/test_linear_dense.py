"""A table without text, fitted by an estimator that refuses missing values (the shipped
logistic_regression and sgd_linear): one missing number stopped the fit with "Input X
contains NaN", naming no column, and a category unseen in training did the same in the
evaluation. Such an estimator now gets the text path's blocks: the median and a was-missing
column for numbers, one-hot categories (an unknown value: all zero)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retrain.classifiers.estimators import logistic_regression, sgd_linear
from retrain.domain.runs import Outcome, RunStatus
from retrain.domain.specs import Registry
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from retrain.training import features
from tests.fakes import toy_frame, toy_spec


def gappy(rows: int = 1500, seed: int = 0) -> pd.DataFrame:
    frame = toy_frame(rows=rows, seed=seed)
    frame.loc[frame.index[::7], "size"] = np.nan
    frame.loc[frame.index[::11], "colour"] = None
    return frame


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("estimator", [logistic_regression, sgd_linear])
def test_a_linear_model_trains_on_a_table_with_gaps_and_scores_new_categories(svc, estimator):
    svc.registry = Registry([toy_spec(estimator=estimator, metric_floor=0.5)])
    svc.source.frames["TOY"] = gappy()
    record = execute_run(svc, start_runs(svc, ["TOY"], trigger="test").runs[0].run_id)
    assert record.status is RunStatus.SUCCEEDED, record.error
    assert record.outcome is Outcome.PROMOTED and record.summary["score"] > 0.6
    model, _ = svc.models.load("TOY", record.version)
    unseen = gappy(rows=50, seed=3).assign(colour="violet")
    X = features.feature_frame(unseen, svc.registry.get("TOY"))
    assert len(model.predict(X)) == 50


def test_estimators_that_take_missing_values_keep_the_dense_codes():
    pipeline = features.build_pipeline(toy_spec())  # a decision tree: NaN and codes native
    assert pipeline.named_steps["features"].sparse_threshold == 0.0
    names = [name for name, _, _ in pipeline.named_steps["features"].transformers]
    assert names == ["numbers", "categories", "flags"]
    linear = features.build_pipeline(toy_spec(estimator=logistic_regression))
    assert linear.named_steps["features"].sparse_threshold == 1.0  # it takes sparse input
