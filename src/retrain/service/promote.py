"""Promote or roll back: move the champion alias to a version that verifiably loads."""

from __future__ import annotations

from typing import Any

from retrain.domain.errors import PromotionRefusedError, RetrainError
from retrain.service.context import Services


def promote(svc: Services, name: str, version: int, *, reason: str, actor: str) -> dict[str, Any]:
    if not reason.strip():
        raise PromotionRefusedError("a reason is required to move the champion")
    spec = svc.registry.get(name)
    card = svc.models.card(spec.name, version)  # NotFoundError names the version
    try:
        svc.models.load(spec.name, version)  # sha256 + trusted types
    except RetrainError as exc:
        raise PromotionRefusedError(
            f"{spec.name} v{version} cannot become champion: {exc}"
        ) from exc
    current = svc.models.champion(spec.name)
    return svc.models.move_champion(
        spec.name,
        version,
        reason=reason,
        actor=actor,
        expected=current,
        score=card.get("metrics", {}).get(spec.primary_metric),
    )
