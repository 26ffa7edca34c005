"""Split and fit: pure functions over frames."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from retrain.domain.errors import DataValidationError
from retrain.domain.specs import ModelSpec
from retrain.training import holdout
from retrain.training.features import build_pipeline, feature_frame
from retrain.training.validate import finding

# (rounds done, most rounds): called after each boosting round of estimators that have
# rounds to report (XGBoost); others fit without calls
OnRound = Callable[[int, int], None]


class Split:
    """Training rows and the test part. The test part is kept as the validated rows only
    (``test_rows``, every column, compact dtypes) until the fit is over: its feature frame
    and labels are built from them when first read (after the fit, where the run's memory
    is lower: with them built up front, 1M rows of ARTFAM_ROH held 30 MB more through every
    boosting round). Passed in, they are used as they are."""

    def __init__(
        self,
        X_train: pd.DataFrame,
        X_test: pd.DataFrame | None,
        y_train: pd.Series,
        y_test: pd.Series | None,
        rule: holdout.Rule | None = None,
        test_rows: pd.DataFrame | None = None,
        spec: ModelSpec | None = None,
    ) -> None:
        if (X_test is None or y_test is None) and (test_rows is None or spec is None):
            raise ValueError("a split needs its test part, or the test rows and the spec")
        self.X_train, self.y_train, self.rule = X_train, y_train, rule
        self.test_rows = test_rows  # the validated test rows, every column
        self._spec = spec
        if X_test is not None:
            self.X_test = X_test
        if y_test is not None:
            self.y_test = y_test
        self.rows_train = len(y_train)  # stays when fit(keep_rows=False) lets them go
        self.train_released = False

    @functools.cached_property
    def X_test(self) -> pd.DataFrame:
        assert self.test_rows is not None and self._spec is not None
        return feature_frame(self.test_rows, self._spec)

    @functools.cached_property
    def y_test(self) -> pd.Series:
        assert self.test_rows is not None and self._spec is not None
        return labels(self.test_rows, self._spec)


def labels(frame: pd.DataFrame, spec: ModelSpec) -> pd.Series:
    return frame[spec.target].astype(str)


def split(frame: pd.DataFrame, spec: ModelSpec, now: Any = None) -> Split:
    """Train and test parts by the spec's holdout rule (``training/holdout.py``): a row's
    part follows from the row, so it is the same in every run that loads it. ``now``: the
    run's time (naive UTC), for the month under way (``holdout.rule_for``)."""
    newest = holdout.newest_time(frame[spec.time_column]) if spec.test_months else None
    rule = holdout.rule_for(spec, newest, now).hashing(frame)
    test = rule.test_mask(frame)
    train = frame[~test]
    train_labels = labels(train, spec)
    check_parts(spec, rule, int(test.sum()), len(train_labels), train_labels.nunique())
    return Split(feature_frame(train, spec), None, train_labels, None, rule, frame[test], spec)


def check_parts(
    spec: ModelSpec, rule: holdout.Rule, test_rows: int, train_rows: int, train_classes: int
) -> None:
    """Stop with what to change when the rule leaves no rows to test or too little to
    learn from (out of time: the newest months hold every row or none)."""
    problems = []
    if test_rows == 0:
        problems.append(f"the test part ({rule.describe()}) holds no rows")
    if train_classes < 2:
        problems.append(
            f"the training part (every row but {rule.describe()}) holds {train_rows} rows "
            f"of {train_classes} classes"
        )
    if problems:
        fix = (
            "lower test_months or widen window_months"
            if rule.kind == "newest"
            else "load more rows, or raise test_size if the table is tiny"
        )
        message = f"{spec.name}: {'; '.join(problems)}: {fix}"
        knob = "test_months" if rule.kind == "newest" else "test_size"
        raise DataValidationError(message, [finding("error", "holdout", None, message, knob)])


def fit(
    spec: ModelSpec, data: Split, on_round: OnRound | None = None, keep_rows: bool = True
) -> Pipeline:
    """The spec's pipeline fitted on ``data``'s training rows: what ``Pipeline.fit`` does,
    step by step, so that no input-sized copy outlives its use. The encoded matrix is handed
    to the classifier without a reference kept here (it frees it once XGBoost's inputs are
    built), and with ``keep_rows=False`` the training rows' frame and labels are released
    from ``data`` as soon as they are encoded (the labels are handed over too), for callers
    that fit on them once (a text ablation fits again)."""
    if data.train_released:
        raise ValueError("the training rows were released by an earlier fit (keep_rows=False)")
    pipeline = build_pipeline(spec)
    features, classifier = (step for _, step in pipeline.steps)
    with _reporting_rounds(pipeline, on_round):
        # both arguments are handed over: a call's positional arguments move into the
        # callee's frame (a star-call's tuple would keep them alive to its end)
        classifier.fit(_encoded(features, data, keep_rows), _labels(data, keep_rows))
    return pipeline


def _encoded(features: Any, data: Split, keep_rows: bool) -> Any:
    matrix = features.fit_transform(data.X_train, data.y_train)
    if not keep_rows:
        data.X_train = data.X_train.iloc[:0].copy()  # the columns stay, the rows go
    return matrix


def _labels(data: Split, keep_rows: bool) -> pd.Series:
    y = data.y_train
    if not keep_rows:
        data.y_train = y.iloc[:0].copy()
        data.train_released = True
    return y


def _boosters(pipeline: Pipeline) -> list[Any]:
    """The XGBoost models in the pipeline's last step: the step itself, or the estimator a
    wrapper holds (its template and, after fitting, its fitted clone)."""
    step = pipeline.steps[-1][1]
    found = [step, getattr(step, "estimator", None), getattr(step, "estimator_", None)]
    return [m for m in found if type(m).__module__.startswith("xgboost") and _has_callbacks(m)]


def _has_callbacks(model: Any) -> bool:
    return hasattr(model, "get_params") and "callbacks" in model.get_params(deep=False)


@contextlib.contextmanager
def _reporting_rounds(pipeline: Pipeline, on_round: OnRound | None) -> Iterator[None]:
    """Report XGBoost's rounds through ``on_round`` while fitting; the callback is removed
    again afterwards, so it never reaches the stored artifact or the card's params."""
    models = _boosters(pipeline) if on_round else []
    if not models:
        yield
        return
    before = models[0].get_params(deep=False)["callbacks"]
    total = int(models[0].get_params(deep=False).get("n_estimators") or 100)
    models[0].set_params(callbacks=[*(before or []), _round_callback(on_round, total)])
    try:
        yield
    finally:
        for model in _boosters(pipeline):
            model.set_params(callbacks=before)


def _round_callback(on_round: Any, total: int) -> Any:
    from xgboost.callback import TrainingCallback

    class ReportRounds(TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            on_round(epoch + 1, total)
            return False  # never stops training

        def __deepcopy__(self, memo: dict) -> ReportRounds:
            return self  # scikit-learn's clone copies params; the reporter is shared

    return ReportRounds()
