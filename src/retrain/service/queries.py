"""Read-only views for the CLI, the HTTP API and the console.

Lists never read every card: each model's versions come from its summary
(service/version_summary.py), its newest run from one listing of the runs. Per-model reads
run side by side (a few threads), so a list of 50 models costs a handful of round trips, not
200 in a row. One unreadable object is shown as an error naming it and never hides the
others."""

from __future__ import annotations

from typing import Any

from retrain.domain.specs import ModelSpec
from retrain.service import version_summary
from retrain.service.context import Services
from retrain.service.parallel import read_all
from retrain.service.version_summary import UNREADABLE, problem


def list_models(svc: Services) -> list[dict[str, Any]]:
    specs = list(svc.registry)
    newest = svc.runs.newest_ids([spec.name for spec in specs])
    active = svc.runs.active_ids()
    return read_all(
        lambda spec: _model(svc, spec, newest.get(spec.name), active.get(spec.name)), specs
    )


def _model(
    svc: Services, spec: ModelSpec, newest_run: str | None, active_run: str | None
) -> dict[str, Any]:
    """One row: the alias and the summary as stored (two reads), the newest run from the
    summary when it published a version, else from its record (a third read)."""
    entry: dict[str, Any] = {
        "name": spec.name,
        "description": spec.description,
        "primary_metric": spec.primary_metric,
        "metric_floor": spec.metric_floor,
        "champion_version": None,
        "champion_score": None,
        "versions": 0,
        "latest_version": None,
        "active_run": active_run,
        "last_run": None,
    }
    try:
        champion = svc.models.champion(spec.name)
    except UNREADABLE as exc:
        champion = None
        entry["error"] = problem(exc)
    if champion is not None:
        entry["champion_version"] = champion.version
        entry["champion_score"] = champion.record.get("score")
    summary = version_summary.stored(svc.models, spec.name)
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
        published = {e["run_id"]: e for e in summary.versions.values()}
        if newest_run in published and newest_run != active_run:
            version = published[newest_run]
            entry["last_run"] = {
                "run_id": newest_run,
                "status": "succeeded",
                "stage": "done",
                "outcome": version["status"],
                "dry_run": False,
                "version": version["version"],
                "finished_at": version["created_at"],
            }
        else:
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
    summary = svc.models.summary(spec.name)
    out: list[dict[str, Any]] = []
    served = summary.served
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
                "served": version in served or version == current,
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
