"""Read-only views for the CLI, the HTTP API and the console.

Lists never read every card: the two cross-model lists (models, runs) read one overview
(service/overview.py) plus a few checks, a model's versions and history its summary
(service/version_summary.py), its runs one listing of its index. Per-model reads run side by
side (a few threads). One unreadable object is shown as an error naming it and never hides
the others."""

from __future__ import annotations

from typing import Any

from retrain.domain.runs import RunRecord, iso
from retrain.service import approval, health, overview, run_filter, version_summary
from retrain.service.context import Services
from retrain.service.version_summary import UNREADABLE


def list_models(svc: Services) -> list[dict[str, Any]]:
    """Every registered model's row with its health (service/health.py): failing, decaying
    and drifting models first, then the others, by name within each group."""
    specs = list(svc.registry)
    rows = overview.rows(svc, specs)
    active = svc.runs.active_ids()
    now = iso(svc.clock())
    listed = [
        {
            "name": spec.name,
            "description": spec.description,
            "primary_metric": spec.primary_metric,
            "metric_floor": spec.metric_floor,
            **rows[spec.name],
            **health.derive(rows[spec.name], spec.decay_limit, spec.metric_floor, now),
            "active_run": active.get(spec.name),
        }
        for spec in specs
    ]
    return sorted(listed, key=lambda m: health.sort_key(m["name"], m["status"]))


def list_runs(
    svc: Services, model: str | None, status: str | None, limit: int
) -> tuple[list[RunRecord], list[str]]:
    """Newest first: ``model``'s runs, else every registered model's; and the keys of
    unreadable records met on the way."""
    if model is not None:
        return svc.runs.scan(svc.registry.get(model).name, status, limit)
    return overview.runs(svc, status, limit, svc.registry.names())


def find_runs(
    svc: Services, chosen: run_filter.RunFilter, limit: int
) -> tuple[list[RunRecord], list[str]]:
    """``list_runs`` with the run list's other filters (trigger, time, batch:
    service/run_filter.py); model and status alone take list_runs' faster paths."""
    if not chosen.narrow:
        return list_runs(svc, chosen.model, chosen.status, limit)
    return run_filter.scan(svc, chosen, limit)


def list_versions(svc: Services, name: str) -> list[dict[str, Any]]:
    spec = svc.registry.get(name)
    try:
        champion = svc.models.champion(spec.name)
    except UNREADABLE:
        champion = None
    current = champion.version if champion else None
    summary = svc.models.summary(spec.name)
    newest = max(summary.versions, default=None)
    version_summary.check(svc.models, summary, [current, newest])  # the card wins
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
                **({"mended": summary.mended[version]} if version in summary.mended else {}),
            }
        )
        if entry["status"] == approval.AWAITING:  # its decision, deadline, or why it is moot
            out[-1]["approval"] = approval.state(
                svc, spec.name, version, current, newest or version
            )
    return out


def get_version(svc: Services, name: str, version: int) -> dict[str, Any]:
    spec = svc.registry.get(name)
    return svc.models.card(spec.name, version)
