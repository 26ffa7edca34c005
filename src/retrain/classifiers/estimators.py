"""Estimator factories the classifiers share. Heavy imports happen inside, at fit time."""

from __future__ import annotations

from typing import Any


def xgboost_hist(
    n_estimators: int = 1000,
    max_depth: int = 6,
    learning_rate: float = 0.1,
    seed: int = 42,
    early_stopping_rounds: int | None = 20,
) -> Any:
    """XGBoost ``hist``, the default for tables of numbers and categories.

    The pipeline around it (training/features.py, training/estimators.py) gives it the
    categories as native categorical columns, picks the round count by early stopping on a
    10 % validation split of the training rows (``n_estimators`` is only the cap) and then
    refits on all training rows (up to 200,000 of them), and weighs classes equally when
    the primary metric is balanced accuracy. Chosen against plain XGBoost on public tables
    (docs/quality.md) and for fit time (docs/benchmarks.md). Two threads: a Functions
    instance has two cores."""
    from xgboost import XGBClassifier

    return XGBClassifier(
        tree_method="hist",
        n_estimators=n_estimators,
        max_depth=max_depth,
        learning_rate=learning_rate,
        subsample=0.9,
        colsample_bytree=0.9,
        n_jobs=2,
        random_state=seed,
        early_stopping_rounds=early_stopping_rounds,
    )


def hist_gradient_boosting(max_iter: int = 200, seed: int = 42) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=max_iter,
        learning_rate=0.1,
        class_weight="balanced",
        random_state=seed,
    )
