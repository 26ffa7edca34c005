"""Estimator wrappers shared by the classifiers."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder


class EncodedLabelClassifier(ClassifierMixin, BaseEstimator):
    """Fits ``estimator`` on integer-coded labels and answers with the original labels.

    XGBoost wants labels 0..k-1; operators want ``"MDF_STD|MDF18"``. ``classes_`` holds the
    original labels in the column order of ``predict_proba``.

    When the estimator has ``early_stopping_rounds`` set (XGBoost), a stratified
    ``validation_fraction`` of the training rows is held out as its evaluation set, so
    boosting stops when the validation loss stops improving (the holdout test set is never
    seen during fitting).
    """

    def __init__(self, estimator: Any, validation_fraction: float = 0.1) -> None:
        self.estimator = estimator
        self.validation_fraction = validation_fraction

    def fit(self, X: Any, y: Any, **fit_params: Any) -> EncodedLabelClassifier:
        self.label_encoder_ = LabelEncoder().fit(np.asarray(y, dtype=object))
        self.classes_ = self.label_encoder_.classes_
        codes = self.label_encoder_.transform(np.asarray(y, dtype=object))
        estimator = clone(self.estimator)
        if getattr(estimator, "early_stopping_rounds", None):
            X, X_val, codes, y_val = train_test_split(
                X,
                codes,
                test_size=self.validation_fraction,
                stratify=codes,
                random_state=getattr(estimator, "random_state", None) or 0,
            )
            fit_params = {**fit_params, "eval_set": [(X_val, y_val)], "verbose": False}
        self.estimator_ = estimator.fit(X, codes, **fit_params)
        return self

    def predict(self, X: Any) -> np.ndarray:
        codes = np.asarray(self.estimator_.predict(X)).astype(int).ravel()
        return self.classes_[codes]

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.estimator_.predict_proba(X))
