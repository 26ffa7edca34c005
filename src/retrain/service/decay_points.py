"""The stored champion-decay points, read back: ``<MODEL>/decay/<UTC time>-<tag>.json`` in
the models store (service/decay.py writes them create-only; keys sort by time). Apart from
service/decay.py so that a list can read them without importing pandas or scikit-learn."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from retrain.domain.decay import DecayResult
from retrain.domain.errors import CorruptStateError
from retrain.service import stored
from retrain.service.context import Services

FOLDER = "decay"


def point_key(model: str, at: datetime, tag: str) -> str:
    return f"{model}/{FOLDER}/{at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{tag}.json"


def keys(svc: Services, model: str) -> list[str]:
    """``model``'s point keys, oldest first."""
    return [k for k in svc.models.store.list(f"{model}/{FOLDER}/") if k.endswith(".json")]


def points(svc: Services, model: str, limit: int | None = None) -> list[dict[str, Any]]:
    """``model``'s stored checks, oldest first (the newest ``limit``), each with its ``key``;
    an unreadable one is ``{"key", "error"}``."""
    found = keys(svc, model)
    out: list[dict[str, Any]] = []
    for key in found[-limit:] if limit else found:
        point = read(svc, model, key)
        if point is not None:  # else deleted since the listing
            out.append(point)
    return out


def read(svc: Services, model: str, key: str) -> dict[str, Any] | None:
    """The point at ``key`` with its ``key``; ``{"key", "error"}`` if it cannot be read as
    a point of ``model``; None if it is gone."""
    obj = svc.models.store.get(key)
    if obj is None:
        return None
    try:
        point = stored.parse(obj, "decay point", key, DecayResult.from_dict)
        if point.model != model:
            raise CorruptStateError("decay point", key, f"names model {point.model[:64]!r}")
    except CorruptStateError as exc:
        return {"key": key, "error": str(exc)}
    return {"key": key, **point.to_dict()}
