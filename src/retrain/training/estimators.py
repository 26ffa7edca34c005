"""Estimator wrappers shared by the classifiers."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.preprocessing import LabelEncoder


class EncodedLabelClassifier(ClassifierMixin, BaseEstimator):
    """Fits ``estimator`` on integer-coded labels and answers with the original labels.

    XGBoost wants labels 0..k-1; operators want ``"MDF_STD|MDF18"``. ``classes_`` holds the
    original labels in the column order of ``predict_proba``.
    """

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def fit(self, X: Any, y: Any, **fit_params: Any) -> EncodedLabelClassifier:
        self.label_encoder_ = LabelEncoder().fit(np.asarray(y, dtype=object))
        self.classes_ = self.label_encoder_.classes_
        self.estimator_ = clone(self.estimator).fit(
            X, self.label_encoder_.transform(np.asarray(y, dtype=object)), **fit_params
        )
        return self

    def predict(self, X: Any) -> np.ndarray:
        codes = np.asarray(self.estimator_.predict(X)).astype(int).ravel()
        return self.classes_[codes]

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.estimator_.predict_proba(X))
