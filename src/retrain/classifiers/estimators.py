"""Estimator factories the classifiers share. Heavy imports happen inside, at fit time."""

from __future__ import annotations

from typing import Any


def xgboost_hist(
    n_estimators: int = 300,
    max_depth: int = 6,
    learning_rate: float = 0.3,
    seed: int = 42,
    early_stopping_rounds: int | None = None,
    stop_on: str = "log_loss",
    max_delta_step: float = 0.0,
) -> Any:
    """XGBoost ``hist``, the default for tables of numbers and categories.

    As it stands: ``n_estimators`` rounds at XGBoost's own learning rate and subsampling on
    all training rows, one fit; the pipeline gives it the categories as native categorical
    columns and weighs classes equally when the primary metric is balanced accuracy.
    Measured against plain XGBoost on public tables (docs/quality.md): early stopping on the
    validation log-loss stopped before the best macro-F1 and was dropped from the default.

    ``early_stopping_rounds`` (the seed classifiers set 10): a 10 % validation split picks
    the round count, ``n_estimators`` is the cap, and the fit that stopped is the model
    (training/estimators.py). Faster on tables whose loss flattens early
    (docs/benchmarks.md). Two threads: a Functions instance has two cores.

    ``stop_on="error"``: early stopping watches the validation error (weighted by the
    class weights, so for ``balanced_accuracy`` it is one minus that metric, up to the
    stratified split's rounding) instead of the log-loss, which with class weights or a
    diverging fit keeps training rounds that hardly change a prediction.
    ``max_delta_step`` caps each leaf's step (XGBoost's own, 0 = none): 5 keeps a 51-class
    fit at 1M rows from diverging (docs/benchmarks.md, "Stopping")."""
    if stop_on not in ("log_loss", "error"):
        raise ValueError(f"stop_on is 'log_loss' or 'error', not {stop_on!r}")
    from xgboost import XGBClassifier

    return XGBClassifier(
        tree_method="hist",
        n_estimators=n_estimators,
        max_depth=max_depth,
        learning_rate=learning_rate,
        # row/column subsampling of 0.9 (the old default) moved single-split macro-F1 by up to
        # 0.03 either way on the quality tables: within noise, so XGBoost's own 1.0 stays
        n_jobs=2,
        random_state=seed,
        early_stopping_rounds=early_stopping_rounds,
        # "merror"; training/estimators.py makes it "error" for two classes
        eval_metric="merror" if stop_on == "error" else None,
        max_delta_step=max_delta_step or None,
    )


def hist_gradient_boosting(
    max_iter: int = 200, seed: int = 42, tol: float = 1e-7, learning_rate: float = 0.1
) -> Any:
    """scikit-learn's HistGradientBoosting. No ``class_weight`` of its own: the pipeline
    weighs classes from the primary metric, as for every estimator (with its own
    ``"balanced"`` as well the weights were squared: KLASSE_CORE's balanced accuracy on the
    demo was 0.8567 with them, 0.8901 without).

    Above 10,000 rows it stops early on a 10 % validation split's log-loss (weighted by the
    class weights): once 10 iterations in a row improve it by no more than ``tol``
    (scikit-learn's own 1e-7 by default). Its other stopping rules (``scoring=`` a metric)
    leave a model skops cannot store (training/serialize.py). ``learning_rate`` is
    scikit-learn's own 0.1 unless a spec sets another."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=max_iter, learning_rate=learning_rate, random_state=seed, tol=tol
    )


def logistic_regression(c: float = 10.0, max_iter: int = 1000) -> Any:
    """Logistic regression (L2, lbfgs, multinomial): the usual model over TF-IDF text. Takes
    the sparse matrix as it is; ``c`` is the inverse regularisation strength (larger fits
    the training terms more closely). Class weights come from the primary metric, as for
    every estimator. Numbers beside the text are scaled by the pipeline (docs/text.md)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=max_iter)


def sgd_linear(alpha: float = 1e-5, seed: int = 42) -> Any:
    """A linear model fitted by stochastic gradient descent on the log-loss: logistic
    regression's model for tables where lbfgs takes too long (millions of rows); a few
    passes over the sparse rows, memory flat."""
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(loss="log_loss", alpha=alpha, max_iter=20, tol=1e-4, random_state=seed)
