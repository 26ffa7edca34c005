"""Start runs: validate the request, write queued records, claim each model's active mark.
Cheap and import-light: the HTTP API answers from here in milliseconds."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from retrain.domain.errors import RunAlreadyActiveError
from retrain.domain.runs import RunRecord, new_run_id
from retrain.service.context import Services
from retrain.service.notify import start_batch


@dataclass
class Started:
    runs: list[RunRecord] = field(default_factory=list)  # new: to execute
    existing: list[RunRecord] = field(default_factory=list)  # same ids started before
    conflicts: list[RunAlreadyActiveError] = field(default_factory=list)
    batch_id: str | None = None


def start_runs(
    svc: Services,
    names: list[str],
    *,
    trigger: str,
    reason: str = "",
    dry_run: bool = False,
    at: datetime | None = None,
    tag: str | None = None,
) -> Started:
    """Queue one run per model. Unknown names fail before anything is written.

    Run ids are ``<at>-<MODEL>-<tag>``: a caller that passes the same ``at`` and ``tag``
    again (a duplicate or past-due timer firing) finds the runs already there and gets them
    in ``existing``, not in ``runs``: only ``runs`` are to be executed, so no run is ever
    queued twice. A model with another queued or running run is reported in ``conflicts``
    and gets no new run."""
    specs = [svc.registry.get(name) for name in dict.fromkeys(names)]
    at = at or svc.clock()
    tag = tag or secrets.token_hex(4)
    result = Started(
        batch_id=f"{at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{tag}" if len(specs) > 1 else None
    )
    for spec in specs:
        run_id = new_run_id(spec.name, at, tag)
        existing = svc.runs.find(run_id)
        if existing is not None:
            result.existing.append(existing)
            continue
        record = RunRecord(
            run_id=run_id,
            model=spec.name,
            trigger=trigger,
            reason=reason,
            batch_id=result.batch_id,
            dry_run=dry_run,
        )
        svc.runs.save(record)
        if dry_run:  # publishes nothing: needs no exclusive mark
            result.runs.append(record)
            continue
        try:
            svc.runs.claim(spec.name, run_id)
        except RunAlreadyActiveError as exc:
            svc.runs.discard(run_id)
            result.conflicts.append(exc)
            continue
        result.runs.append(record)
    if result.batch_id and result.runs:
        start_batch(svc, result.batch_id, result.runs)
    return result
