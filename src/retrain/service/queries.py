"""Read-only views for the CLI, the HTTP API and the console.

Lists never read every card: each model's versions come from its summary
(service/version_summary.py), its newest run from one listing of the runs. Per-model reads
run side by side (a few threads), so a list of 50 models costs a handful of round trips, not
200 in a row. One unreadable object is shown as an error naming it and never hides the
others."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from retrain.domain.specs import ModelSpec
from retrain.service.context import Services
from retrain.service.version_summary import UNREADABLE, problem

PARALLEL = 8  # concurrent reads per list request (the Blob SDK pools 10 connections)


def list_models(svc: Services) -> list[dict[str, Any]]:
    specs = list(svc.registry)
    newest = svc.runs.newest_ids()
    with ThreadPoolExecutor(max(1, min(PARALLEL, len(specs)))) as pool:
        return list(pool.map(lambda spec: _model(svc, spec, newest.get(spec.name)), specs))


def _model(svc: Services, spec: ModelSpec, newest_run: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": spec.name,
        "description": spec.description,
        "primary_metric": spec.primary_metric,
        "metric_floor": spec.metric_floor,
        "champion_version": None,
        "champion_score": None,
        "versions": 0,
        "latest_version": None,
        "active_run": svc.runs.active(spec.name),
        "last_run": None,
    }
    champion = None
    try:
        champion = svc.models.champion(spec.name)
    except UNREADABLE as exc:
        entry["error"] = problem(exc)
    if champion is not None:
        entry["champion_version"] = champion.version
        entry["champion_score"] = champion.record.get("score")
    summary = svc.models.summary(spec.name, champion.version if champion else None)
    entry["versions"] = len(summary.versions) + len(summary.unreadable)
    if summary.versions:
        latest = summary.versions[max(summary.versions)]
        entry["latest_version"] = {
            "version": latest["version"],
            "status": latest["status"],
            "score": latest["metrics"].get(spec.primary_metric),
            "created_at": latest["created_at"],
        }
    if newest_run is not None:
        entry["last_run"] = _last_run(svc, newest_run)
    return entry


def _last_run(svc: Services, run_id: str) -> dict[str, Any]:
    try:
        record = svc.runs.find(run_id)
    except UNREADABLE as exc:
        return {"run_id": run_id, "error": problem(exc)}
    if record is None:
        return {"run_id": run_id, "error": {"code": "not_found", "message": "run vanished"}}
    return {
        "run_id": record.run_id,
        "status": str(record.status),
        "stage": str(record.stage),
        "outcome": str(record.outcome) if record.outcome else None,
        "dry_run": record.dry_run,
        "trigger": record.trigger,
        "version": record.version,
        "created_at": record.created_at,
        "finished_at": record.finished_at,
        "error": record.error,
    }


def list_versions(svc: Services, name: str) -> list[dict[str, Any]]:
    spec = svc.registry.get(name)
    try:
        champion = svc.models.champion(spec.name)
    except UNREADABLE:
        champion = None
    current = champion.version if champion else None
    summary = svc.models.summary(spec.name, current)
    out: list[dict[str, Any]] = []
    for version in sorted(set(summary.versions) | set(summary.unreadable)):
        if version in summary.unreadable:
            out.append({"version": version, "error": summary.unreadable[version]})
            continue
        entry = summary.versions[version]
        out.append(
            {
                "version": version,
                "status": entry["status"],
                "champion": version == current,
                "served": version in summary.served,
                "created_at": entry["created_at"],
                "run_id": entry["run_id"],
                "metric": spec.primary_metric,
                "score": entry["metrics"].get(spec.primary_metric),
                "metrics": entry["metrics"],
                "rows": entry["rows"],
                "gate": entry["gate"],
            }
        )
    return out


def get_version(svc: Services, name: str, version: int) -> dict[str, Any]:
    spec = svc.registry.get(name)
    return svc.models.card(spec.name, version)
