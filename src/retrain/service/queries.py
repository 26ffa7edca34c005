"""Read-only views for the CLI and the HTTP API. One unreadable state object never hides
the others: it is shown as an error naming it."""

from __future__ import annotations

from typing import Any

from retrain.domain.errors import CorruptStateError
from retrain.service.context import Services


def list_models(svc: Services) -> list[dict[str, Any]]:
    out = []
    for spec in svc.registry:
        entry: dict[str, Any] = {
            "name": spec.name,
            "description": spec.description,
            "primary_metric": spec.primary_metric,
            "metric_floor": spec.metric_floor,
            "champion_version": None,
            "champion_score": None,
            "versions": len(svc.models.versions(spec.name)),
            "active_run": svc.runs.active(spec.name),
        }
        try:
            champion = svc.models.champion(spec.name)
        except CorruptStateError as exc:
            entry["error"] = {"code": exc.code, "message": str(exc)}
        else:
            if champion is not None:
                entry["champion_version"] = champion.version
                entry["champion_score"] = champion.record.get("score")
        out.append(entry)
    return out


def list_versions(svc: Services, name: str) -> list[dict[str, Any]]:
    spec = svc.registry.get(name)
    try:
        champion = svc.models.champion(spec.name)
    except CorruptStateError:
        champion = None
    out = []
    for version in svc.models.versions(spec.name):
        try:
            card = svc.models.card(spec.name, version)
        except CorruptStateError as exc:
            out.append({"version": version, "error": {"code": exc.code, "message": str(exc)}})
            continue
        metrics = card.get("metrics")
        out.append(
            {
                "version": version,
                "status": card.get("status"),
                "champion": bool(champion and champion.version == version),
                "created_at": card.get("created_at"),
                "run_id": card.get("run_id"),
                "metric": spec.primary_metric,
                "score": metrics.get(spec.primary_metric) if isinstance(metrics, dict) else None,
                "rows": card.get("rows"),
            }
        )
    return out


def get_version(svc: Services, name: str, version: int) -> dict[str, Any]:
    spec = svc.registry.get(name)
    return svc.models.card(spec.name, version)
