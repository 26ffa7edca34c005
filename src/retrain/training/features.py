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
    """Integer-coded categories (unknown or missing -> NaN) + the spec's estimator.

    Tree ensembles split on the codes directly: no dense one-hot frame, whose memory grows
    with every category (see docs/benchmarks.md)."""
    transformers: list[tuple[str, Any, list[str]]] = []
    passthrough = [*spec.features.numeric, *spec.features.boolean]
    if passthrough:
        transformers.append(("numbers", "passthrough", passthrough))
    if spec.features.categorical:
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            encoded_missing_value=np.nan,
            dtype=np.float32,
        )
        transformers.append(("categories", encoder, list(spec.features.categorical)))
    features = ColumnTransformer(
        transformers, sparse_threshold=0.0, verbose_feature_names_out=False
    )
    return Pipeline(
        [("features", features), ("classifier", EncodedLabelClassifier(spec.estimator()))]
    )
