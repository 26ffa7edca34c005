"""Feature preparation: the same typed frame in, the same matrix out, at train and at load."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MaxAbsScaler, OneHotEncoder, OrdinalEncoder

from retrain.domain.errors import ConfigError
from retrain.domain.specs import Features, ModelSpec
from retrain.training.estimators import EncodedLabelClassifier
from retrain.training.text import StoredZeros, TextTfidf

# Class weights per primary metric: a balanced metric counts every class the same, so the
# loss does too (docs/quality.md).
CLASS_WEIGHT: dict[str, str | None] = {
    "accuracy": None,
    "macro_f1": None,
    "balanced_accuracy": "balanced",
}

# Estimators whose numbers are scaled beside TF-IDF columns: linear models weigh raw scale
LINEAR_MODULES = ("sklearn.linear_model", "sklearn.svm")


def feature_frame(frame: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """The spec's feature columns with the dtypes the pipeline expects.

    Numbers become float32 (NaN for missing), booleans 0/1 floats, categoricals plain
    Python strings with NaN for missing: integer coding happens inside the pipeline, so a
    loaded model takes the same raw columns the query returns.
    """
    return columns_frame(frame, spec.features)


def columns_frame(frame: pd.DataFrame, features: Features) -> pd.DataFrame:
    """``feature_frame`` for the columns of ``features``: also a champion's own, when the
    spec's have changed since it was trained."""
    out = {}
    for col in features.numeric:
        out[col] = pd.to_numeric(frame[col], errors="coerce").astype("float32")
    for col in features.boolean:
        out[col] = frame[col].astype("float32")
    for col in (*features.categorical, *features.text):
        values = frame[col]
        out[col] = values.astype(object).where(values.notna(), np.nan)
    return pd.DataFrame(out, index=frame.index)[list(features.all)]


def build_pipeline(spec: ModelSpec) -> Pipeline:
    """One ColumnTransformer + the estimator.

    Without text the matrix is dense: categories become integer codes (unknown or missing
    -> NaN) after the numbers, and the classifier is told which columns those are:
    XGBoost splits on them natively (a set of categories per branch), so a code's number
    carries no order and no dense one-hot frame is built (docs/benchmarks.md,
    docs/quality.md).

    With text columns the matrix is scipy CSR, never densified (``text_blocks``). An
    estimator that refuses missing values (scikit-learn's tags: logistic regression, SGD,
    k-neighbours) gets ``text_blocks``' one-hot categories and imputed numbers with or
    without text (before, one missing value stopped its fit with "Input X contains NaN"),
    sparse where it takes sparse input.
    """
    estimator = spec.estimator()
    if spec.features.text or not _input_tag(estimator, "allow_nan"):
        if spec.features.text:
            _check_sparse_input(spec, estimator)
        transformers, native = text_blocks(spec, estimator)
        first = 0  # text_blocks puts the categories first
        sparse = bool(spec.features.text) or _input_tag(estimator, "sparse")
    else:
        transformers, native = _dense_blocks(spec), True
        first = len(spec.features.numeric)  # numbers, categories, flags: the spec's order
        sparse = False
    features = ColumnTransformer(
        transformers,
        sparse_threshold=1.0 if sparse else 0.0,
        verbose_feature_names_out=False,
    )
    categories = len(spec.features.categorical) if native else 0
    classifier = EncodedLabelClassifier(
        estimator,
        categorical_features=tuple(range(first, first + categories)),
        class_weight=CLASS_WEIGHT[spec.primary_metric],
    )
    return Pipeline([("features", features), ("classifier", classifier)])


def category_counts(spec: ModelSpec, model: Any) -> list[tuple[str, int]]:
    """The categorical columns and their number of values in ``model``'s fitted encoder
    (``build_pipeline``'s "categories" block), most first; empty without one."""
    try:
        encoder = model.named_steps["features"].named_transformers_["categories"]
        if hasattr(encoder, "steps"):  # with text: the encoder, then StoredZeros
            encoder = next(step for _, step in encoder.steps if hasattr(step, "categories_"))
        counts = [len(values) for values in encoder.categories_]
    except (AttributeError, KeyError, TypeError, StopIteration):
        return []
    return sorted(zip(spec.features.categorical, counts, strict=False), key=lambda c: -c[1])


def _dense_blocks(spec: ModelSpec) -> list[tuple[str, Any, Any]]:
    """Numbers, category codes, flags: the order of a frame written by hand, with which
    XGBoost builds the same trees as on that frame (docs/quality.md)."""
    transformers: list[tuple[str, Any, Any]] = []
    if spec.features.numeric:
        transformers.append(("numbers", "passthrough", list(spec.features.numeric)))
    if spec.features.categorical:
        transformers.append(("categories", _ordinal(), list(spec.features.categorical)))
    if spec.features.boolean:
        transformers.append(("flags", "passthrough", list(spec.features.boolean)))
    return transformers


def text_blocks(spec: ModelSpec, estimator: Any) -> tuple[list[tuple[str, Any, Any]], bool]:
    """The sparse blocks, and whether the categories stay native codes.

    - An estimator that splits on categories (takes ``feature_types``: XGBoost) gets the
      same integer codes as without text, in the first columns, and numbers as they are:
      both stored as explicit values (``StoredZeros``), since XGBoost reads an entry left
      out of a sparse matrix as missing.
    - Any other estimator gets one-hot categories (sparse; missing is a category of its
      own, unknown values -> all zero): a code's number means nothing to a linear model.
      Its numbers get the median for missing values plus a was-missing column (scikit-learn
      estimators refuse NaN in a sparse matrix), and a linear model (logistic regression,
      SGD) also gets them scaled into [-1, 1] (``MaxAbsScaler``, sparse-safe), the range of
      the TF-IDF values beside them.
    - Each text column: ``TextTfidf`` with the spec's ``text_options``.
    """
    native = "feature_types" in estimator.get_params()
    blocks: list[tuple[str, Any, Any]] = []
    categorical = list(spec.features.categorical)
    if categorical and native:
        blocks.append(("categories", make_pipeline(_ordinal(), StoredZeros()), categorical))
    elif categorical:
        one_hot = OneHotEncoder(handle_unknown="ignore", sparse_output=True, dtype=np.float32)
        blocks.append(("categories", one_hot, categorical))
    numbers = [*spec.features.numeric, *spec.features.boolean]
    if numbers:
        blocks.append(("numbers", make_pipeline(*_number_steps(estimator, native)), numbers))
    for col in spec.features.text:
        # a column named as a string (not a list): the vectorizer takes one text per row
        blocks.append((f"text:{col}", TextTfidf.from_options(spec.features.text_options), col))
    return blocks, native


def _input_tag(estimator: Any, name: str) -> bool:
    """scikit-learn's input tag ``name`` (``allow_nan``, ``sparse``) of ``estimator``; True
    for an estimator without tags (its fit decides, as before)."""
    try:
        return bool(getattr(estimator.__sklearn_tags__().input_tags, name))
    except AttributeError:
        return True


def _check_sparse_input(spec: ModelSpec, estimator: Any) -> None:
    """Text makes the matrix sparse: an estimator that takes only dense input (scikit-learn's
    tags say so) is a spec problem, said before any fit instead of by scikit-learn inside it."""
    try:
        sparse = estimator.__sklearn_tags__().input_tags.sparse
    except AttributeError:  # no scikit-learn tags: let the fit decide
        return
    if not sparse:
        columns = ", ".join(repr(col) for col in spec.features.text)
        raise ConfigError(
            [
                f"{spec.name}: {type(estimator).__name__} takes no sparse input, and the text "
                f"column {columns} makes the matrix sparse: use xgboost_hist or "
                "logistic_regression with text, or leave the text out (docs/text.md)"
            ]
        )


def _number_steps(estimator: Any, native: bool) -> list[Any]:
    """XGBoost takes NaN as missing; other estimators refuse NaN in a sparse matrix, so they
    get the median and a was-missing column per column with gaps, then (linear models) the
    scale of the TF-IDF values beside them."""
    if native:
        return [StoredZeros()]
    steps: list[Any] = [
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)
    ]
    if type(estimator).__module__.startswith(LINEAR_MODULES):
        steps.append(MaxAbsScaler())
    return [*steps, StoredZeros()]


class TextCategories(OrdinalEncoder):
    """scikit-learn's OrdinalEncoder over each value's text: 2002, 2002.0 and "2002" are one
    category, as profiles, drift and the Dask engine's vocabularies (text) count them. Over
    the raw values, a column that SQLite returned as integers in one load and as text in the
    next met a champion that knew none of the new values, and a model trained on the Dask
    engine (its categories the profile's text) read every integer category as missing.
    A column of strings passes unchanged."""

    def fit(self, X: Any, y: Any = None) -> TextCategories:
        super().fit(_category_text(X), y)
        return self

    def transform(self, X: Any) -> Any:
        return super().transform(_category_text(X))


def _category_text(X: Any) -> Any:
    """``X`` (a frame of categorical columns) with every value that is not text as its text
    (whole floats as integers, missing stays missing); ``X`` itself when all are text."""
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    texts = {}
    for col in frame.columns:
        values = frame[col]
        values = values.astype(object) if isinstance(values.dtype, pd.CategoricalDtype) else values
        if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
            texts[col] = values.map(_text_of, na_action="ignore").astype(object)
    if not texts:
        return X
    out = frame.copy(deep=False)
    for col, text in texts.items():
        out[col] = text
    return out if isinstance(X, pd.DataFrame) else out.to_numpy(dtype=object)


def _text_of(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _ordinal() -> OrdinalEncoder:
    return TextCategories(
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        encoded_missing_value=np.nan,
        dtype=np.float32,
    )
