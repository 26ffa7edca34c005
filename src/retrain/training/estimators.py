"""Estimator wrappers shared by the classifiers."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_sample_weight

from retrain.training.memory import release_free_memory


class EncodedLabelClassifier(ClassifierMixin, BaseEstimator):
    """Fits ``estimator`` on integer-coded labels and answers with the original labels.

    XGBoost wants labels 0..k-1; operators want ``"MDF_STD|MDF18"``. ``classes_`` holds the
    original labels in the column order of ``predict_proba``.

    - ``categorical_features``: column positions holding category codes. An estimator that
      takes ``feature_types`` (XGBoost) splits on them as categories (sets of codes), not
      as ordered numbers.
    - Early stopping: when the estimator has ``early_stopping_rounds`` set, a stratified
      ``validation_fraction`` of the training rows picks the round count (the holdout test
      set is never seen), and that fit is the model: no second fit on all rows (it doubled
      the time of every early-stopped fit for a score change within +-0.002 on the demo,
      docs/benchmarks.md). ``rounds_`` holds the count chosen.
    - ``class_weight="balanced"``: every class weighs the same in the loss (sample weights
      inversely proportional to class frequency), for a balanced primary metric.
    """

    def __init__(
        self,
        estimator: Any,
        validation_fraction: float = 0.1,
        categorical_features: tuple[int, ...] = (),
        class_weight: str | None = None,
    ) -> None:
        self.estimator = estimator
        self.validation_fraction = validation_fraction
        self.categorical_features = categorical_features
        self.class_weight = class_weight

    def fit(self, X: Any, y: Any, **fit_params: Any) -> EncodedLabelClassifier:
        """Fit on ``X``. A caller that passes its matrix without keeping a reference (as
        ``training/fit.py`` does) hands it over: it is freed once the estimator's own inputs
        are built, before the boosting rounds start (docs/benchmarks.md, "Where a run's
        memory goes")."""
        labels = np.asarray(y, dtype=object)
        self.label_encoder_ = LabelEncoder().fit(labels)
        self.classes_ = self.label_encoder_.classes_
        # 32-bit labels and weights: XGBoost keeps float32 copies of both anyway, and the
        # 64-bit arrays (and their fit-row slices) lived through every boosting round
        codes = self.label_encoder_.transform(labels).astype(np.int32)
        del labels, y  # a caller that handed its labels over frees them here
        estimator = self._declare_categories(clone(self.estimator), X.shape[1])
        estimator.set_params(**error_metric(estimator.get_params(), len(self.classes_)))
        if self.native_categories_ and not isinstance(X, np.ndarray):  # sparse: say which
            estimator.set_params(feature_types=feature_types(self.categorical_features, X.shape[1]))
        if self.native_categories_ and isinstance(X, np.ndarray):
            self.n_categories_ = {
                j: int(np.nanmax(X[:, j], initial=-1)) + 1 for j in self.categorical_features
            }
        if self.class_weight is not None:
            weights = compute_sample_weight(self.class_weight, codes).astype(np.float32)
            fit_params["sample_weight"] = weights
        self.rounds_: int | None = None
        if getattr(estimator, "early_stopping_rounds", None):
            fit_rows, val_rows = self._validation_rows(estimator, codes)
            # each part straight from the matrix (no input-sized frame of every row first)
            X_fit, X_val = (self._input(_rows(X, rows)) for rows in (fit_rows, val_rows))
            del X
            release_free_memory()
            estimator = self._fit_early_stopped(
                estimator, (X_fit, X_val), codes, (fit_rows, val_rows), fit_params
            )
        else:
            built = self._input(X)
            ours = () if built is X else (built,)  # the caller's input is never emptied
            del X
            release_free_memory()
            with _released_before_rounds(estimator, ours):
                estimator.fit(built, codes, **fit_params)
        self.estimator_ = estimator
        return self

    def _declare_categories(self, estimator: Any, n_columns: int) -> Any:
        params = estimator.get_params()
        # only estimators that take feature_types (XGBoost); their own choice wins
        self.native_categories_ = bool(
            self.categorical_features and params.get("feature_types", "") is None
        )
        if self.native_categories_:
            estimator.set_params(enable_categorical=True)
        return estimator

    def _input(self, X: Any) -> Any:
        """For native categories: a frame whose category columns are pandas categoricals of
        the codes (XGBoost's fast categorical path; a NumPy matrix with ``feature_types``
        gives the same trees, measured 14x slower). A sparse matrix goes in as it is."""
        # getattr: artifacts written before native categories lack the attribute
        if not getattr(self, "native_categories_", False) or not isinstance(X, np.ndarray):
            return X
        import pandas as pd

        columns: dict[str, Any] = {}
        for j in range(X.shape[1]):
            if j in self.n_categories_:
                codes = np.where(np.isnan(X[:, j]), -1, X[:, j]).astype(np.int64)
                codes[codes >= self.n_categories_[j]] = -1
                columns[f"f{j}"] = pd.Categorical.from_codes(
                    codes, categories=range(self.n_categories_[j])
                )
            else:
                columns[f"f{j}"] = X[:, j]
        return pd.DataFrame(columns)

    def _validation_rows(self, estimator: Any, codes: np.ndarray) -> tuple[Any, Any]:
        """The training rows early stopping fits on, and its stratified validation rows."""
        rows = np.arange(len(codes))
        n_val = max(math.ceil(self.validation_fraction * len(rows)), len(self.classes_))
        fit_rows, val_rows = train_test_split(
            rows,
            test_size=n_val,
            stratify=codes,
            random_state=getattr(estimator, "random_state", None) or 0,
        )
        return fit_rows, val_rows

    def _fit_early_stopped(
        self,
        estimator: Any,
        inputs: tuple[Any, Any],
        codes: np.ndarray,
        rows: tuple[np.ndarray, np.ndarray],
        fit_params: dict[str, Any],
    ) -> Any:
        """Fit on ``inputs`` (the fit rows' and the validation rows' input, ``rows``
        their positions in ``codes``) until the validation loss stops improving."""
        (X_fit, X_val), (fit_rows, val_rows) = inputs, rows
        weights = fit_params.pop("sample_weight", None)
        first = clone(estimator)
        with _released_before_rounds(first, (X_fit, X_val)):
            first.fit(
                X_fit,
                codes[fit_rows],
                sample_weight=None if weights is None else weights[fit_rows],
                eval_set=[(X_val, codes[val_rows])],
                sample_weight_eval_set=None if weights is None else [weights[val_rows]],
                verbose=False,
                **fit_params,
            )
        self.rounds_ = int(first.best_iteration) + 1
        return first

    def predict(self, X: Any) -> np.ndarray:
        codes = np.asarray(self.estimator_.predict(self._input(X))).astype(int).ravel()
        return self.classes_[codes]

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.estimator_.predict_proba(self._input(X)))


def error_metric(params: dict[str, Any], n_classes: int) -> dict[str, Any]:
    """The parameter change that makes an XGBoost model's error metric fit its class count
    (XGBoost calls it "merror" for three or more classes and "error" for two, and stops on
    the other one). No change for any other metric or estimator."""
    if params.get("eval_metric") not in ("error", "merror"):
        return {}
    return {"eval_metric": "merror" if n_classes > 2 else "error"}


def feature_types(categorical: Sequence[int], n_columns: int) -> list[str]:
    """XGBoost's ``feature_types``: "c" for the ``categorical`` column positions, else "q"."""
    wanted = set(categorical)
    return ["c" if j in wanted else "q" for j in range(n_columns)]


@contextlib.contextmanager
def _released_before_rounds(model: Any, inputs: Sequence[Any] = ()) -> Iterator[None]:
    """An XGBoost model hands the memory freed while it built its quantised matrices back
    to the OS before its first round allocates the gradients (``memory.release_free_memory``
    from a training callback). The frames among ``inputs``, its inputs made by this
    module, are emptied first (a text model's sparse matrix has nothing to empty in place):
    XGBoost trains on its own quantised copy (a DMatrix outlives the data it was built
    from), and its scikit-learn ``fit`` does not read its inputs again once training starts,
    but holds them to the end (1M rows of ARTFAM_ROH: 26 MB through every round).
    The callback is removed again after the fit, so it never reaches the artifact or the
    card's params."""
    params = model.get_params(deep=False) if hasattr(model, "get_params") else {}
    if "callbacks" not in params or type(model).__module__.split(".")[0] != "xgboost":
        yield
        return
    before = params["callbacks"]
    frames = [x for x in inputs if hasattr(x, "columns")]
    model.set_params(callbacks=[*(before or []), _release_callback(frames)])
    try:
        yield
    finally:
        model.set_params(callbacks=before)


def _release_callback(frames: Sequence[Any]) -> Any:
    from xgboost.callback import TrainingCallback

    class ReleaseBeforeRounds(TrainingCallback):
        def before_training(self, model: Any) -> Any:
            for frame in frames:  # in place (pandas 3.1 deprecates drop(inplace=True))
                for column in list(frame.columns):
                    del frame[column]
            release_free_memory()
            return model

        def __deepcopy__(self, memo: dict) -> Any:
            return self  # a copy would copy the frames it empties

    return ReleaseBeforeRounds()


def _rows(X: Any, index: np.ndarray) -> Any:
    """Rows of a matrix (numpy, scipy sparse) or of a frame."""
    return X.iloc[index] if hasattr(X, "iloc") else X[index]
