"""Feature preparation: the same typed frame in, the same matrix out, at train and at load."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from retrain.domain.specs import ModelSpec
from retrain.training.estimators import EncodedLabelClassifier

# Class weights per primary metric: a balanced metric counts every class the same, so the
# loss does too (docs/quality.md).
CLASS_WEIGHT: dict[str, str | None] = {
    "accuracy": None,
    "macro_f1": None,
    "balanced_accuracy": "balanced",
}


def feature_frame(frame: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """The spec's feature columns with the dtypes the pipeline expects.

    Numbers become float32 (NaN for missing), booleans 0/1 floats, categoricals plain
    Python strings with NaN for missing: integer coding happens inside the pipeline, so a
    loaded model takes the same raw columns the query returns.
    """
    out = {}
    for col in spec.features.numeric:
        out[col] = pd.to_numeric(frame[col], errors="coerce").astype("float32")
    for col in spec.features.boolean:
        out[col] = frame[col].astype("float32")
    for col in spec.features.categorical:
        values = frame[col]
        out[col] = values.astype(object).where(values.notna(), np.nan)
    return pd.DataFrame(out, index=frame.index)[list(spec.features.all)]


def build_pipeline(spec: ModelSpec) -> Pipeline:
    """One ColumnTransformer (numbers, categories, flags: the spec's order) + the estimator.

    Categories become integer codes (unknown or missing -> NaN) in the first columns, and
    the classifier is told which columns those are: XGBoost splits on them natively (a set
    of categories per branch), so a code's number carries no order and no dense one-hot
    frame is built (docs/benchmarks.md, docs/quality.md). Further blocks are appended after
    the numbers; the category positions stay ``0 .. len(categorical) - 1``.
    """
    transformers: list[tuple[str, Any, list[str]]] = []
    if spec.features.numeric:
        transformers.append(("numbers", "passthrough", list(spec.features.numeric)))
    if spec.features.categorical:
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            encoded_missing_value=np.nan,
            dtype=np.float32,
        )
        transformers.append(("categories", encoder, list(spec.features.categorical)))
    if spec.features.boolean:
        transformers.append(("flags", "passthrough", list(spec.features.boolean)))
    features = ColumnTransformer(
        transformers, sparse_threshold=0.0, verbose_feature_names_out=False
    )
    first = len(spec.features.numeric)  # the category columns' first position
    classifier = EncodedLabelClassifier(
        spec.estimator(),
        categorical_features=tuple(range(first, first + len(spec.features.categorical))),
        class_weight=CLASS_WEIGHT[spec.primary_metric],
    )
    return Pipeline([("features", features), ("classifier", classifier)])
