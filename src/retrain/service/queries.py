"""Read-only views for the CLI and the HTTP API."""

from __future__ import annotations

from typing import Any

from retrain.service.context import Services


def list_models(svc: Services) -> list[dict[str, Any]]:
    out = []
    for spec in svc.registry:
        champion = svc.models.champion(spec.name)
        out.append(
            {
                "name": spec.name,
                "description": spec.description,
                "primary_metric": spec.primary_metric,
                "metric_floor": spec.metric_floor,
                "champion_version": champion.version if champion else None,
                "champion_score": champion.record.get("score") if champion else None,
                "versions": len(svc.models.versions(spec.name)),
                "active_run": svc.runs.active(spec.name),
            }
        )
    return out


def list_versions(svc: Services, name: str) -> list[dict[str, Any]]:
    spec = svc.registry.get(name)
    champion = svc.models.champion(spec.name)
    out = []
    for version in svc.models.versions(spec.name):
        card = svc.models.card(spec.name, version)
        out.append(
            {
                "version": version,
                "status": card.get("status"),
                "champion": bool(champion and champion.version == version),
                "created_at": card.get("created_at"),
                "run_id": card.get("run_id"),
                "metric": spec.primary_metric,
                "score": card.get("metrics", {}).get(spec.primary_metric),
                "rows": card.get("rows"),
            }
        )
    return out


def get_version(svc: Services, name: str, version: int) -> dict[str, Any]:
    spec = svc.registry.get(name)
    return svc.models.card(spec.name, version)
