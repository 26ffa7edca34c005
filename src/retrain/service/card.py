"""The model card: everything needed to know what a version is and where it came from."""

from __future__ import annotations

import hashlib
import importlib.metadata
from typing import Any

import pandas as pd

from retrain.domain.specs import ModelSpec

LIBRARIES = ("scikit-learn", "xgboost", "xgboost-cpu", "numpy", "pandas", "skops", "scipy")


def library_versions() -> dict[str, str]:
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def fingerprint(spec: ModelSpec, frame: pd.DataFrame) -> dict[str, str]:
    """Hash of the query text and of the loaded rows (order-sensitive, index-free)."""
    rows = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return {
        "query_sha256": hashlib.sha256(spec.query.encode()).hexdigest(),
        "rows_sha256": rows.hexdigest(),
    }


def _json_safe(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return repr(value)


def estimator_description(pipeline: Any) -> dict[str, Any]:
    step = pipeline.named_steps["classifier"]
    estimator = step.estimator_
    template = getattr(step, "estimator", None) or estimator  # as configured
    return {
        "class": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        "params": _json_safe(estimator.get_params()),
        **({"rounds": rounds} if (rounds := rounds_trained(estimator, template)) else {}),
    }


def rounds_trained(estimator: Any, template: Any) -> dict[str, Any] | None:
    """Boosting rounds as fitted, beside the most the parameters allowed (``n_estimators``
    400 with early stopping may train 85): ``trained`` rounds are in the model, ``used`` by
    its predictions (XGBoost predicts with the best round when early stopping ended the fit).
    None for estimators without rounds."""
    params = template.get_params()
    if hasattr(estimator, "get_booster"):
        trained = int(estimator.get_booster().num_boosted_rounds())
        try:
            used = int(estimator.best_iteration) + 1
        except (AttributeError, TypeError, ValueError):
            used = trained
        planned = params.get("n_estimators")
    elif type(estimator).__name__.startswith("HistGradientBoosting"):
        trained = used = int(estimator.n_iter_)
        planned = params.get("max_iter")
    else:
        return None
    return {"planned": planned, "trained": trained, "used": min(used, trained)}


def feature_schema(spec: ModelSpec) -> dict[str, list[str]]:
    return {
        "numeric": list(spec.features.numeric),
        "categorical": list(spec.features.categorical),
        "boolean": list(spec.features.boolean),
        **({"text": list(spec.features.text)} if spec.features.text else {}),
        "target": [spec.target],
    }
