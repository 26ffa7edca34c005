"""Promote or roll back: move the champion alias to a version that verifiably loads.

An unreadable alias does not block this: it is replaced (compare-and-swap on what is stored)
and the history entry says what was repaired."""

from __future__ import annotations

from typing import Any

from retrain.domain.errors import NotFoundError, PromotionRefusedError, RetrainError
from retrain.domain.specs import ModelSpec
from retrain.service import overview
from retrain.service.context import Services


def promote(svc: Services, name: str, version: int, *, reason: str, actor: str) -> dict[str, Any]:
    """Move the champion to ``version``. Refused for a version rejected on approval (its
    rejection says it never serves) and for one still awaiting approval (approve it, so that
    the decision is recorded and the version lists show it)."""
    if not reason.strip():
        raise PromotionRefusedError("a reason is required to move the champion")
    spec = svc.registry.get(name)
    score = verified_score(svc, spec, version)  # its card and artifact checked first
    _not_refused_on_approval(svc, spec, version)
    moved = svc.models.move_champion(
        spec.name,
        version,
        reason=reason,
        actor=actor,
        expected=svc.models.champion_for_update(spec.name),
        score=score,
    )
    overview.note_model(svc, spec.name)
    return moved


def _not_refused_on_approval(svc: Services, spec: ModelSpec, version: int) -> None:
    from retrain.service import approval

    label = f"{spec.name} v{version}"
    held = approval.decision_of(svc, spec.name, version)
    if held is not None and held["decision"] == "rejected":
        raise PromotionRefusedError(
            f"{label} was rejected on approval by {held['actor']} at {held['decided_at']} "
            f"({held['reason']}): a rejected version never serves; train a new one"
        )
    if held is None and approval.awaiting(svc, spec, version) is not None:
        champion = svc.models.champion(spec.name)
        newest = max(svc.models.versions(spec.name), default=version)
        current = champion.version if champion else None
        if approval.state(svc, spec.name, version, current, newest)["state"] == "awaiting":
            raise PromotionRefusedError(
                f"{label} awaits approval: approve it (`retrain approve {spec.name} "
                f"{version} --reason ...`, the console or Slack) so the decision is recorded"
            )


def verified_score(svc: Services, spec: ModelSpec, version: int) -> float | None:
    """``version``'s primary score, once it verifiably loads (its own card, sha256, identity,
    trusted types); PromotionRefusedError when it cannot serve."""
    try:
        _, card = svc.models.load(spec.name, version)
    except NotFoundError:
        raise
    except RetrainError as exc:  # tampered, untrusted, unreadable or another version's
        raise PromotionRefusedError(
            f"{spec.name} v{version} cannot become champion: {exc}"
        ) from exc
    metrics = card.get("metrics")
    score = metrics.get(spec.primary_metric) if isinstance(metrics, dict) else None
    return score if isinstance(score, int | float) else None
