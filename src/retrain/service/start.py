"""Start runs: validate the request, create queued records, claim each model's active mark.
Cheap and import-light: the HTTP API answers from here in milliseconds.

Every run this returns in ``runs`` must get exactly one queue message from the caller, and
no record is left queued that is not in ``runs``: records are created create-only (two
overlapping callers never both own one), a model that cannot start has its record removed
again, and once a record exists nothing raises (a failure is reported per model)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from loguru import logger

from retrain.domain.errors import (
    BackendError,
    ConflictError,
    RateLimitedError,
    RetrainError,
    RunAlreadyActiveError,
)
from retrain.domain.runs import RunRecord, new_run_id
from retrain.service import overview, rate_limit
from retrain.service.context import Services
from retrain.service.notify import start_batch
from retrain.service.rate_limit import StartLimits

CREATE_TRIES = 3  # storage calls each retried by the SDK too


@dataclass
class Started:
    runs: list[RunRecord] = field(default_factory=list)  # new: to execute
    existing: list[RunRecord] = field(default_factory=list)  # same ids started before
    conflicts: list[RunAlreadyActiveError] = field(default_factory=list)
    limited: list[RateLimitedError] = field(default_factory=list)  # over the per-model limit
    failed: list[tuple[str, RetrainError]] = field(default_factory=list)  # (model, why)
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
    caller: str | None = None,
    limits: StartLimits | None = None,
) -> Started:
    """Queue one run per model. Unknown names fail before anything is written.

    Run ids are ``<at>-<MODEL>-<tag>``: a caller that passes the same ``at`` and ``tag``
    again (a duplicate or past-due timer firing) finds the runs already there and gets them
    in ``existing``, not in ``runs``: only ``runs`` are to be executed, so no run is ever
    queued twice. A model with another queued or running run is reported in ``conflicts``
    and gets no new run; one whose storage failed, in ``failed``.

    With ``limits`` (HTTP starts): RateLimitedError before anything is written when
    ``caller`` made too many start requests within the window; a model started too often
    is reported in ``limited`` and gets no new run."""
    specs = [svc.registry.get(name) for name in dict.fromkeys(names)]
    at = at or svc.clock()
    limits = limits or StartLimits()
    rate_limit.check_caller(svc.runs, limits, caller, at)
    tag = tag or secrets.token_hex(4)
    call = secrets.token_hex(8)  # makes this call's records its own, byte for byte
    result = Started(
        batch_id=f"{at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{tag}" if len(specs) > 1 else None
    )
    for spec in specs:
        record = RunRecord(
            run_id=new_run_id(spec.name, at, tag),
            model=spec.name,
            trigger=trigger,
            reason=reason,
            batch_id=result.batch_id,
            dry_run=dry_run,
            created_by=call,
            caller=caller,
        )
        try:
            rate_limit.check_model(svc.runs, limits, spec.name, at)
            _start(svc, record, result)
        except RateLimitedError as exc:
            result.limited.append(exc)
        except RetrainError as exc:
            logger.error("{} not started: {}", spec.name, exc)
            result.failed.append((spec.name, exc))
    if caller and limits.per_caller and result.runs:
        _note_caller(svc, caller, result.runs[0].run_id)
    overview.note_runs(svc, result.runs)  # best effort: the lists mend a lost note
    if result.batch_id and (result.runs or result.existing):
        try:
            start_batch(svc, result.batch_id, result.runs + result.existing, _skipped(result))
        except RetrainError as exc:  # the runs stand; only their batch report suffers
            logger.warning("batch {} not recorded: {}", result.batch_id, exc)
    return result


def _skipped(result: Started) -> list[dict[str, str]]:
    """The models of a batch that got no run, and why: its summary names them too."""
    return [
        *(
            {"model": c.model, "reason": f"run {c.run_id} was queued or running"}
            for c in result.conflicts
        ),
        *({"model": str(r.model), "reason": str(r)} for r in result.limited),
        *({"model": model, "reason": str(exc)[:300]} for model, exc in result.failed),
    ]


def _note_caller(svc: Services, caller: str, run_id: str) -> None:
    """Count the request against its caller; the runs stand if that fails (best effort)."""
    try:
        svc.runs.note_caller(caller, run_id)
    except Exception as exc:
        logger.warning("start request of {} not counted: {}", caller, type(exc).__name__)


def _start(svc: Services, record: RunRecord, result: Started) -> None:
    for _ in range(3):
        if _create(svc, record):
            break
        existing = svc.runs.find(record.run_id)
        if existing is not None:
            result.existing.append(existing)
            return
    else:  # created and removed again, three times over: another caller is busy with it
        raise ConflictError(f"run {record.run_id} keeps changing; not started")
    if not record.dry_run:  # a dry run publishes nothing: it needs no exclusive mark
        try:
            svc.runs.claim(record.model, record.run_id)
        except RunAlreadyActiveError as exc:
            svc.runs.discard(record)
            result.conflicts.append(exc)
            return
        except Exception:
            _undo(svc, record)
            raise
    result.runs.append(record)


def _create(svc: Services, record: RunRecord) -> bool:
    """``runs.create``, asked again when storage fails: a write whose answer was lost may
    have landed, and asking again with the same bytes counts it as ours. If storage keeps
    failing, a record of ours that did land is removed (best effort: if that fails too, the
    record is failed as abandoned once stale, docs/reliability.md)."""
    attempt = 1
    while True:
        try:
            return svc.runs.create(record)
        except BackendError:
            if attempt >= CREATE_TRIES:
                _forget(svc, record)
                raise
            attempt += 1


def _forget(svc: Services, record: RunRecord) -> None:
    """Best effort: remove ``record`` if this call's create stored it after all."""
    try:
        found = svc.runs.find(record.run_id)
        if found is not None and found.created_by == record.created_by:
            svc.runs.discard(found)
    except Exception as exc:  # it stays queued until it is stale (run_repository)
        logger.warning("could not remove run {}: {}", record.run_id, type(exc).__name__)


def _undo(svc: Services, record: RunRecord) -> None:
    """Best effort: remove a record whose model could not be marked active."""
    try:
        svc.runs.discard(record)
        svc.runs.release(record.model, record.run_id)
    except Exception as exc:  # it stays queued until it is stale (run_repository)
        logger.warning("could not remove run {}: {}", record.run_id, type(exc).__name__)
