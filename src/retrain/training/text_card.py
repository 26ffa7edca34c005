"""What a model card says about its text features: vocabulary size per column and the terms
that weigh most, per class where the estimator has coefficients (linear models), else by
the estimator's feature importances (XGBoost)."""

from __future__ import annotations

from typing import Any

import numpy as np

from retrain.domain.specs import ModelSpec
from retrain.training.text import TextTfidf

TOP_TERMS = 15


def text_summary(pipeline: Any, spec: ModelSpec) -> dict[str, Any] | None:
    if not spec.features.text:
        return None
    features = pipeline.named_steps["features"]
    vectorizers = {
        name.removeprefix("text:"): step
        for name, step, _cols in features.transformers_
        if isinstance(step, TextTfidf)
    }
    out: dict[str, Any] = {
        "vocabulary_size": {col: v.vocabulary_size for col, v in vectorizers.items()},
        # every term counted; vocabulary_size counts those the model reads (select_terms)
        "terms_counted": {col: v.terms_counted for col, v in vectorizers.items()},
        "options": {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in vars(spec.features.text_options).items()
            if k != "ablation"
        },
    }
    names = np.asarray(features.get_feature_names_out(), dtype=object)
    is_text = np.array([n.split(":", 1)[0] in vectorizers and ":" in n for n in names])
    classifier = pipeline.named_steps["classifier"]
    estimator = classifier.estimator_
    coef = getattr(estimator, "coef_", None)
    if coef is not None and np.shape(coef)[1] == len(names):
        out["top_terms_per_class"] = _per_class(np.asarray(coef), names, is_text, classifier)
    elif getattr(estimator, "feature_importances_", None) is not None:
        weights = np.asarray(estimator.feature_importances_)
        if len(weights) == len(names):
            out["top_terms_by_importance"] = _top(weights, names, is_text)
    return out


def _per_class(
    coef: np.ndarray, names: np.ndarray, is_text: np.ndarray, classifier: Any
) -> dict[str, list[str]]:
    classes = [str(c) for c in classifier.classes_]
    if coef.shape[0] == 1:  # two classes: one row, positive weights speak for the second
        rows = {classes[0]: -coef[0], classes[1]: coef[0]}
    else:
        rows = dict(zip(classes, coef, strict=True))
    return {label: [name for name, _ in _top(w, names, is_text)] for label, w in rows.items()}


def _top(weights: np.ndarray, names: np.ndarray, is_text: np.ndarray) -> list[list[Any]]:
    text_weights = np.where(is_text, weights, -np.inf)
    order = np.argsort(-text_weights, kind="stable")[:TOP_TERMS]
    # fewer text columns than TOP_TERMS (a small select_terms) leave other columns in order
    return [
        [str(names[i]), round(float(weights[i]), 4)] for i in order if is_text[i] and weights[i] > 0
    ]
