"""The score of a text spec without its text: the same split, the same estimator, the text
columns left out (``TextOptions.ablation``). Shows in the card whether the text earns its
cost; a failure here never stops a run."""

from __future__ import annotations

import dataclasses
from typing import Any

from loguru import logger

from retrain.domain.specs import ModelSpec


def text_ablation(
    engine: Any, spec: ModelSpec, data: Any, metrics: dict[str, Any]
) -> dict[str, Any] | None:
    features = spec.features
    if not (features.text and features.text_options.ablation):
        return None
    if not any(cols for kind, cols in features.by_kind().items() if kind != "text"):
        return None  # a text-only spec has nothing left to fit
    without = dataclasses.replace(spec, features=dataclasses.replace(features, text=()))
    try:
        plain = data.evaluate(engine.fit(without, data))
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]  # no native stack trace
        logger.warning("text ablation not computed: {}: {}", type(exc).__name__, first)
        return None
    scores = ("accuracy", "balanced_accuracy", "macro_f1")
    return {
        "primary_metric": spec.primary_metric,
        "with_text": {m: metrics[m] for m in scores},
        "without_text": {m: plain[m] for m in scores},
    }
