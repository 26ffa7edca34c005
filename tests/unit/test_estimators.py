"""The default XGBoost set-up: native categories, early stopping (the stopped fit is the
model), class weights, and an artifact that loads back with the trusted types only."""

from __future__ import annotations

import math
import weakref

import numpy as np
import pandas as pd
import pytest
import xgboost
from sklearn.metrics import balanced_accuracy_score
from sklearn.utils.class_weight import compute_sample_weight
from xgboost import XGBClassifier
from xgboost.callback import TrainingCallback

from retrain.classifiers.estimators import xgboost_hist
from retrain.training import estimators, fit, serialize
from retrain.training.estimators import EncodedLabelClassifier
from tests.fakes import toy_frame, toy_spec


class RowCounting(XGBClassifier):
    """XGBoost that remembers how many rows its last fit saw."""

    def fit(self, X, y, **kwargs):
        self.rows_fitted_ = X.shape[0]
        return super().fit(X, y, **kwargs)


def quick(**overrides: object) -> XGBClassifier:
    """The default factory's set-up, small and counting rows."""
    params = xgboost_hist(**{"n_estimators": 60, "max_depth": 3, **overrides}).get_params()
    return RowCounting(**params)


def fitted(rows: int = 1500, estimator=quick, **spec: object):
    frame = toy_frame(rows=rows, colours=tuple(f"c{i:02d}" for i in range(40)))
    spec_ = toy_spec(estimator=estimator, **spec)
    data = fit.split(frame, spec_)
    return fit.fit(spec_, data), data


def test_categories_are_split_natively_in_the_specs_column_order():
    model, _ = fitted()
    classifier = model.named_steps["classifier"]
    assert classifier.native_categories_ is True
    assert classifier.categorical_features == (1,)
    assert classifier.estimator_.get_booster().feature_types == ["float", "c", "float"]
    assert list(model.named_steps["features"].get_feature_names_out()) == [
        "size",
        "colour",
        "coated",
    ]


def test_the_default_is_one_fit_on_every_training_row():
    model, data = fitted()
    classifier = model.named_steps["classifier"]
    assert classifier.rounds_ is None  # no validation split
    assert classifier.estimator_.rows_fitted_ == len(data.y_train)
    assert classifier.estimator_.get_booster().num_boosted_rounds() == 60


def test_early_stopping_picks_the_rounds_and_the_stopped_fit_is_the_model():
    model, data = fitted(
        estimator=lambda: quick(n_estimators=300, learning_rate=0.5, early_stopping_rounds=20)
    )
    classifier = model.named_steps["classifier"]
    assert 1 <= classifier.rounds_ < 300  # stopped before the cap on this easy toy
    final = classifier.estimator_
    assert final.get_params()["early_stopping_rounds"] == 20  # one fit: no refit
    assert final.best_iteration + 1 == classifier.rounds_
    assert final.get_booster().num_boosted_rounds() == classifier.rounds_ + 20  # the patience
    assert final.rows_fitted_ == len(data.y_train) - math.ceil(0.1 * len(data.y_train))
    # predictions use the best round, not the 20 after it
    X = model.named_steps["features"].transform(data.X_test)
    best = final.predict_proba(classifier._input(X), iteration_range=(0, classifier.rounds_))
    assert np.allclose(model.predict_proba(data.X_test), best)
    saved = xgboost.Booster(model_file=final.get_booster().save_raw("ubj"))
    assert saved.best_iteration == final.best_iteration  # the artifact remembers the best round


@pytest.mark.parametrize("stopping", [None, 5])
def test_the_rounds_hold_neither_the_input_frames_nor_handed_over_labels(monkeypatch, stopping):
    """XGBoost's scikit-learn fit holds its inputs to its end; the frames the classifier
    built for it are emptied once XGBoost's own matrices exist, and labels that
    ``fit.fit(keep_rows=False)`` hands over are gone by then: through every round. The
    model is the one a fit keeping them all trains."""
    built: list = []
    make_input = EncodedLabelClassifier._input

    def recording(self, X):
        out = make_input(self, X)
        built.extend([out] if out is not X else [])
        return out

    monkeypatch.setattr(EncodedLabelClassifier, "_input", recording)
    seen: list = []

    class Watch(TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):
            seen.append(([len(f.columns) for f in built], labels()))
            return False

    def estimator():
        stop = {"early_stopping_rounds": stopping} if stopping else {}
        model = xgboost_hist(n_estimators=30, max_depth=3, **stop)
        return model.set_params(callbacks=[Watch()])

    frame = toy_frame(rows=1500, colours=tuple(f"c{i:02d}" for i in range(40)))
    spec = toy_spec(estimator=estimator, primary_metric="balanced_accuracy")  # weighted
    data = fit.split(frame, spec)
    rows, labels = len(data.y_train), weakref.ref(data.y_train)
    model = fit.fit(spec, data, keep_rows=False)
    assert len(built) == (2 if stopping else 1) and seen
    assert all(columns == [0] * len(built) and gone is None for columns, gone in seen)
    assert (len(data.X_train), len(data.y_train), data.rows_train) == (0, 0, rows)
    with pytest.raises(ValueError, match="released"):
        fit.fit(spec, data)

    monkeypatch.setattr(EncodedLabelClassifier, "_input", make_input)
    release = estimators._release_callback
    monkeypatch.setattr(estimators, "_release_callback", lambda frames: release(()))
    kept = fit.fit(spec, fit.split(frame, spec))
    assert np.array_equal(model.predict_proba(data.X_test), kept.predict_proba(data.X_test))


def test_the_test_part_is_built_from_its_rows_when_first_read_and_is_the_eager_one():
    frame = toy_frame(rows=800)
    frame.loc[::7, "colour"] = None
    spec = toy_spec()
    data = fit.split(frame, spec)
    assert {"X_test", "y_test"}.isdisjoint(vars(data))  # nothing held through the fit
    test = frame.index.isin(data.test_rows.index)
    pd.testing.assert_frame_equal(data.X_test, fit.feature_frame(frame, spec)[test])
    pd.testing.assert_series_equal(data.y_test, frame[spec.target].astype(str)[test])
    assert data.X_test is data.X_test  # built once
    with pytest.raises(ValueError, match="test part"):
        fit.Split(data.X_train, None, data.y_train, None)


@pytest.mark.parametrize("stopping", [None, 5])
def test_a_sparse_matrix_trains_with_and_without_early_stopping(stopping):
    """Text columns make the matrix scipy CSR: nothing to empty, the same fit as XGBoost's."""
    from scipy import sparse

    rng = np.random.default_rng(0)
    dense = np.where(rng.random((1200, 6)) < 0.3, rng.normal(size=(1200, 6)), 0.0)
    y = np.where(dense[:, 0] + dense[:, 1] > 0, "up", "down")
    stop = {"early_stopping_rounds": stopping} if stopping else {}
    classifier = EncodedLabelClassifier(xgboost_hist(n_estimators=20, max_depth=3, **stop))
    classifier.fit(sparse.csr_matrix(dense.astype(np.float32)), y)
    assert (classifier.predict(sparse.csr_matrix(dense)) == y).mean() > 0.8


def test_balanced_accuracy_weighs_classes_equally_and_other_metrics_do_not():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 2)).astype(np.float32)
    y = np.where(X[:, 0] + 0.8 * rng.normal(size=2000) > 1.6, "rare", "common")
    plain = EncodedLabelClassifier(quick()).fit(X, y)
    weighted = EncodedLabelClassifier(quick(), class_weight="balanced").fit(X, y)
    assert (weighted.predict(X) == "rare").sum() > 1.5 * (plain.predict(X) == "rare").sum()
    spec = toy_spec(estimator=quick, primary_metric="balanced_accuracy")
    assert fit.build_pipeline(spec).named_steps["classifier"].class_weight == "balanced"
    assert fit.build_pipeline(toy_spec()).named_steps["classifier"].class_weight is None


@pytest.mark.parametrize("n_classes", [2, 3])
def test_stopping_on_the_error_watches_the_class_weighted_error(n_classes: int) -> None:
    """``stop_on="error"`` with class weights: XGBoost's error metric of the right name for
    the class count, the kept round is its first minimum, and it is the class-weighted
    error of the validation rows."""
    rng = np.random.default_rng(n_classes)
    X = rng.normal(size=(3000, 2)).astype(np.float32)
    noisy = X[:, 0] + 0.7 * rng.normal(size=3000)
    labels = np.array(["a", "b", "c"])[np.digitize(noisy, [0.9, 1.8][: n_classes - 1])]
    estimator = quick(n_estimators=200, early_stopping_rounds=5, stop_on="error")
    classifier = EncodedLabelClassifier(estimator, class_weight="balanced").fit(X, labels)
    log = classifier.estimator_.evals_result()["validation_0"]
    name = "merror" if n_classes > 2 else "error"
    assert list(log) == [name]
    assert classifier.rounds_ == int(np.argmin(log[name])) + 1
    codes = classifier.label_encoder_.transform(labels)
    _, val = classifier._validation_rows(estimator, codes)
    weights = compute_sample_weight("balanced", codes)[val]
    for k in (1, classifier.rounds_):
        predicted = classifier.estimator_.predict(X[val], iteration_range=(0, k))
        wrong = weights @ (predicted != codes[val]) / weights.sum()
        assert log[name][k - 1] == pytest.approx(wrong, abs=1e-5)
        # the weights are the training rows' class shares; the stratified validation rows
        # hold nearly the same, so this is one minus their balanced accuracy, nearly
        expected = 1 - balanced_accuracy_score(codes[val], predicted)
        assert log[name][k - 1] == pytest.approx(expected, abs=2e-3)


def test_stop_on_takes_only_what_it_knows() -> None:
    with pytest.raises(ValueError, match="stop_on"):
        xgboost_hist(stop_on="f1")


def test_two_classes_and_a_frame_input_work():
    frame = toy_frame(rows=600)
    y = np.where(frame["size"] > 5, "big", "small")
    classifier = EncodedLabelClassifier(quick()).fit(frame[["size"]], y)
    assert set(classifier.predict(frame[["size"]])) == {"big", "small"}


def test_artifact_loads_back_with_the_trusted_types_and_predicts_the_same():
    model, data = fitted(  # the factory's own class: a test class is not on the trusted list
        estimator=lambda: xgboost_hist(n_estimators=40, max_depth=3),
        primary_metric="balanced_accuracy",
    )
    blob = serialize.dumps(model)
    loaded = serialize.loads(blob, serialize.sha256(blob))
    assert list(loaded.predict(data.X_test)) == list(model.predict(data.X_test))
    unseen = data.X_test.head(3).assign(colour=["never-seen", None, "c01"])
    assert len(loaded.predict_proba(unseen)) == 3


def test_a_model_that_refers_to_itself_is_refused_with_a_clear_error_before_publishing():
    """scikit-learn's HistGradientBoosting keeps a bound method of itself after early stopping
    on a scorer (``scoring="accuracy"``): skops recursed until Python's limit, and the run
    failed in publish saying only 'maximum recursion depth exceeded'."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from retrain.domain.errors import ArtifactIntegrityError

    rng = np.random.default_rng(0)
    X = rng.random((12_000, 3))  # over 10,000 rows: early stopping is on by default
    model = HistGradientBoostingClassifier(scoring="accuracy", max_iter=5).fit(X, X[:, 0] > 0.5)
    with pytest.raises(ArtifactIntegrityError, match="refers to itself"):
        serialize.dumps(model)
