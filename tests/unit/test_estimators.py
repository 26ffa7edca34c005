"""The default XGBoost set-up: native categories, early stopping (the stopped fit is the
model), class weights, and an artifact that loads back with the trusted types only."""

from __future__ import annotations

import math

import numpy as np
import xgboost
from xgboost import XGBClassifier

from retrain.classifiers.estimators import xgboost_hist
from retrain.training import fit, serialize
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
