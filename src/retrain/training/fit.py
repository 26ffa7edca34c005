"""Split and fit: pure functions over frames."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from retrain.domain.specs import ModelSpec
from retrain.training.features import build_pipeline, feature_frame


@dataclass
class Split:
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series


def split(frame: pd.DataFrame, spec: ModelSpec) -> Split:
    """Stratified holdout, reproducible from the spec's seed."""
    X = feature_frame(frame, spec)
    y = frame[spec.target].astype(str)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=spec.test_size, stratify=y, random_state=spec.random_state
    )
    return Split(X_train, X_test, y_train, y_test)


def fit(spec: ModelSpec, data: Split) -> Pipeline:
    return build_pipeline(spec).fit(data.X_train, data.y_train)
