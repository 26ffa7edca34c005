"""Announce each run once, and a batch (e.g. the monthly timer's) once when it completes.
A notifier failure is logged and never touches the run."""

from __future__ import annotations

from loguru import logger

from retrain.domain.runs import RunRecord
from retrain.service.context import Services


def announce(svc: Services, record: RunRecord) -> RunRecord:
    if not record.notified:
        batch = svc.runs.batch(record.batch_id) if record.batch_id else None
        try:
            svc.notifier.run_finished(record, batch)
        except Exception as exc:  # a notifier must not fail a finished run
            logger.warning(
                "notification failed ({}); the run stays {}", type(exc).__name__, record.status
            )
        record.notified = True
        svc.runs.save(record)
    if record.batch_id:
        _maybe_finish_batch(svc, record.batch_id)
    return record


def start_batch(svc: Services, batch_id: str, records: list[RunRecord]) -> None:
    """Tell the notifier a batch began, once per batch id (a duplicate timer firing finds the
    claim taken); its answer (e.g. the Slack thread) is stored with the batch."""
    if not svc.runs.claim_batch(batch_id, [r.run_id for r in records]):
        return
    try:
        state = svc.notifier.batch_started(batch_id, records) or {}
    except Exception as exc:
        logger.warning("batch notification failed ({})", type(exc).__name__)
        state = {}
    svc.runs.update_batch(batch_id, state)


def _maybe_finish_batch(svc: Services, batch_id: str) -> None:
    batch = svc.runs.batch(batch_id)
    if batch is None:
        return
    records = [r for run_id in batch.get("run_ids", []) if (r := svc.runs.find(run_id))]
    if not records or not all(r.status.finished and r.notified for r in records):
        return
    if not svc.runs.claim_batch_report(batch_id):
        return
    try:
        svc.notifier.batch_finished(batch_id, records, batch)
    except Exception as exc:
        logger.warning("batch summary failed ({})", type(exc).__name__)
