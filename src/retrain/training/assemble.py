"""The same pipeline as ``features.build_pipeline`` + fit, from parts fitted elsewhere.

A distributed fit never sees all rows in one place, so the pieces that ``fit`` would learn
from the rows are fixed up front instead: the category vocabularies (from counts) for the
OrdinalEncoder, the class list for the label encoder. The booster trained elsewhere goes
into an XGBClassifier. The result is the very type ``fit`` returns, stored and loaded the
same way (skops, the trusted list in ``serialize.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder

from retrain.domain.specs import ModelSpec
from retrain.training.estimators import error_metric, feature_types
from retrain.training.features import build_pipeline


def fitted_features(spec: ModelSpec, vocabularies: dict[str, list[str]]) -> Any:
    """The pipeline's feature step, with each categorical column's vocabulary fixed
    (sorted, as a fit on all rows would find it) and fitted on a one-row frame."""
    pipeline = build_pipeline(spec)
    features = pipeline.named_steps["features"]
    for name, encoder, _columns in features.transformers:
        if name == "categories":
            encoder.set_params(
                categories=[sorted(vocabularies.get(col, [])) for col in spec.features.categorical]
            )
    row = {col: np.array([np.nan], dtype=np.float32) for col in spec.features.all}
    for col in spec.features.categorical:
        row[col] = np.array([np.nan], dtype=object)
    return features.fit(pd.DataFrame(row)[list(spec.features.all)])


def is_xgboost(estimator: Any) -> bool:
    return type(estimator).__module__.startswith("xgboost")


def pipeline_from_booster(
    spec: ModelSpec, features: Any, classes: list[str], model_bytes: bytes
) -> Pipeline:
    """``features`` + EncodedLabelClassifier(XGBClassifier) whose booster is
    ``model_bytes`` (``XGBModel.save_model`` output of a classifier trained on the label
    codes of ``classes``)."""
    pipeline = build_pipeline(spec)
    classifier = pipeline.named_steps["classifier"]
    estimator = spec.estimator()
    estimator.load_model(bytearray(model_bytes))
    # the card shows the error metric the fit used (load_model keeps the spec's)
    estimator.set_params(**error_metric(estimator.get_params(), estimator.n_classes_))
    classifier.label_encoder_ = LabelEncoder().fit(np.asarray(classes, dtype=object))
    classifier.classes_ = classifier.label_encoder_.classes_
    classifier.estimator_ = estimator
    pipeline.steps[0] = ("features", features)
    return pipeline


def xgboost_setup(
    spec: ModelSpec, class_rows: list[int]
) -> tuple[dict[str, Any], list[float] | None]:
    """(XGBClassifier params, a weight per class code or None) for a fit elsewhere that does
    what the local pipeline's EncodedLabelClassifier does: native categorical columns and,
    for a balanced metric, classes weighted as ``compute_sample_weight("balanced")`` weighs
    them (``class_rows``: training rows per class code)."""
    classifier = build_pipeline(spec).named_steps["classifier"]
    params = spec.estimator().get_params()
    # xgboost.dask counts the classes present in the training labels
    params |= error_metric(params, sum(1 for n in class_rows if n))
    if classifier.categorical_features and params.get("feature_types", "") is None:
        params["feature_types"] = feature_types(
            classifier.categorical_features, len(spec.features.all)
        )
        params["enable_categorical"] = True
    if classifier.class_weight != "balanced":
        return params, None
    present = [n for n in class_rows if n]
    total = sum(present)
    return params, [total / (len(present) * n) if n else 0.0 for n in class_rows]
