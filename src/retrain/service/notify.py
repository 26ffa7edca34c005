"""Announce each run once, and a batch (e.g. the monthly timer's) once when it completes.
A notifier failure is logged and never touches the run.

"Once" is claimed before posting: ``notified`` is set with a compare-and-swap on the run
record, and only the writer that set it posts. A worker that dies between the claim and the
post loses that one message; no interleaving of deliveries posts it twice."""

from __future__ import annotations

import contextlib
import secrets

from loguru import logger

from retrain.domain.errors import BackendError, CorruptStateError, RetrainError
from retrain.domain.ports import PreconditionFailed
from retrain.domain.runs import Outcome, RunRecord
from retrain.service.context import Services


def announce(svc: Services, record: RunRecord) -> RunRecord:
    """Post a finished run once, then report its batch if it was the batch's last run.
    Safe to call again (a redelivered message): nothing is posted twice."""
    batch = _batch(svc, record.batch_id)  # before the claim: a storage error here retries
    claimed, record = _claim_announcement(svc, record)
    if claimed:
        try:
            where = svc.notifier.run_finished(record, batch)
        except Exception as exc:  # a notifier must not fail a finished run
            where = None
            logger.warning(
                "notification failed ({}); the run stays {}", type(exc).__name__, record.status
            )
        if where and record.outcome is Outcome.AWAITING_APPROVAL:
            record = _keep_message(svc, record, where)
    if record.batch_id:
        _maybe_finish_batch(svc, record.batch_id)
    return record


def _claim_announcement(svc: Services, record: RunRecord) -> tuple[bool, RunRecord]:
    """Set ``notified`` with a compare-and-swap, naming this claim; True for the one claim
    that stands (also when its answer was lost and the stored record shows it)."""
    token = secrets.token_hex(8)
    failure: BackendError | None = None
    for _ in range(5):
        if record.notified:
            return record.notified_by == token, record
        record.notified, record.notified_by = True, token
        try:
            return True, svc.runs.save(record)
        except PreconditionFailed:  # someone else wrote the record: see what they did
            failure = None
        except BackendError as exc:  # failed, or landed with its answer lost
            failure = exc
        record = _reread(svc, record.run_id)
    if failure is not None and not record.notified:
        raise failure  # unclaimed because storage fails: the message is delivered again
    return False, record


def _keep_message(svc: Services, record: RunRecord, where: dict) -> RunRecord:
    """Where the run's message is (``summary["message"]``), so that a decision made in the
    CLI or the console can replace its buttons (service/approval.py). Best effort: without
    it the message keeps its buttons, and a click on them says who decided."""
    for _ in range(3):
        record.summary["message"] = where
        try:
            return svc.runs.save(record)
        except PreconditionFailed:  # another writer (a decision): again on its version
            pass
        except BackendError:
            break
        try:
            record = svc.runs.get(record.run_id)
        except BackendError:
            break
    logger.warning("run {}: where its message is was not kept", record.run_id)
    return record


def _reread(svc: Services, run_id: str) -> RunRecord:
    """The stored record, asked up to three times: it says whose claim landed."""
    for _ in range(2):
        with contextlib.suppress(BackendError):
            return svc.runs.get(run_id)
    return svc.runs.get(run_id)


def _batch(svc: Services, batch_id: str | None) -> dict | None:
    if not batch_id:
        return None
    try:
        return svc.runs.batch(batch_id)
    except CorruptStateError as exc:
        logger.warning("{}; the run is reported outside its batch", exc)
        return None


def start_batch(
    svc: Services,
    batch_id: str,
    records: list[RunRecord],
    skipped: list[dict[str, str]] | None = None,
) -> None:
    """Tell the notifier a batch began, once per batch id (a duplicate timer firing finds the
    claim taken and only adds its runs); its answer (e.g. the Slack thread) is stored with
    the batch, and so are the models that got no run (``skipped``: model, reason), for the
    batch's summary."""
    if not svc.runs.claim_batch(batch_id, [r.run_id for r in records]):
        return
    try:
        state = svc.notifier.batch_started(batch_id, records) or {}
    except Exception as exc:
        logger.warning("batch notification failed ({})", type(exc).__name__)
        state = {}
    svc.runs.update_batch(batch_id, {**state, **({"skipped": skipped} if skipped else {})})


def _maybe_finish_batch(svc: Services, batch_id: str) -> None:
    batch = _batch(svc, batch_id)
    if batch is None:
        return
    records = []
    for run_id in batch.get("run_ids", []):
        try:
            if found := svc.runs.find(run_id):
                records.append(found)
        except RetrainError as exc:
            logger.warning("{}", exc)
    if not records or not all(r.status.finished and r.notified for r in records):
        return
    if not svc.runs.claim_batch_report(batch_id):
        return
    if records[0].trigger == "timer":  # the monthly summary says what people corrected
        batch = {**batch, "corrections_line": _corrections_line(svc, records)}
    try:
        svc.notifier.batch_finished(batch_id, records, batch)
    except Exception as exc:
        logger.warning("batch summary failed ({})", type(exc).__name__)


def _corrections_line(svc: Services, records: list[RunRecord]) -> str | None:
    """This month's corrections per model (service/feedback.py), best effort: a storage
    problem leaves the line out, never the summary."""
    from retrain.service.feedback import month_line

    try:
        return month_line(svc, [r.model for r in records if r.model in svc.registry])
    except RetrainError as exc:
        logger.warning("corrections line left out of the summary: {}", exc)
        return None
