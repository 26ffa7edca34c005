"""The monthly timer and the queue worker that trains one model per message."""

import json
from datetime import UTC, datetime

# typing.List, not list: the worker's queue output check only recognises typing generics
import azure.functions as func
from loguru import logger

from retrain.domain.errors import NotFoundError
from retrain.entrypoints.app_services import QUEUE, QUEUE_CONNECTION, services, settings
from retrain.service.start import start_runs

bp = func.Blueprint()


def month_start(now: datetime) -> datetime:
    return datetime(now.year, now.month, 1, tzinfo=UTC)


@bp.function_name("monthly_retraining")
@bp.timer_trigger(
    schedule="%TRAINING_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True
)
@bp.queue_output(arg_name="msgs", queue_name=QUEUE, connection=QUEUE_CONNECTION)
def monthly_retraining(timer: func.TimerRequest, msgs: func.Out[list[str]]) -> None:
    """Queue every registered classifier once per calendar month.

    Run ids are ``<first of the month>-<MODEL>-monthly``: a duplicate or past-due firing in
    the same month finds them and queues nothing again."""
    svc = services()
    at = month_start(svc.clock())
    reason = "monthly schedule" + (" (past due)" if timer.past_due else "")
    started = start_runs(
        svc, svc.registry.names(), trigger="timer", reason=reason, at=at, tag="monthly"
    )
    msgs.set([json.dumps({"run_id": record.run_id}) for record in started.runs])
    for conflict in started.conflicts:
        logger.warning("{} skipped this month: run {} is active", conflict.model, conflict.run_id)
    logger.info(
        "monthly retraining {:%Y-%m}: queued {}, already there {}",
        at,
        [r.model for r in started.runs],
        [r.model for r in started.existing],
    )


@bp.function_name("train_model")
@bp.queue_trigger(arg_name="msg", queue_name=QUEUE, connection=QUEUE_CONNECTION)
def train_model(msg: func.QueueMessage) -> None:
    """Execute one run. A finished run is acknowledged without training again. Transient
    errors propagate so the queue retries; on the last attempt (maxDequeueCount = the
    TRAINING_MAX_ATTEMPTS setting) the run is failed and reported once instead."""
    try:
        run_id = json.loads(msg.get_body())["run_id"]
        if not isinstance(run_id, str):
            raise TypeError("run_id must be a string")
    except (ValueError, KeyError, TypeError) as exc:
        logger.error("dropping malformed queue message {}: {}", msg.id, exc)
        return
    from retrain.service.runner import execute_run  # heavy ML imports: only when training

    attempt = getattr(msg, "dequeue_count", None) or 1
    try:
        execute_run(services(), run_id, final_attempt=attempt >= settings().max_attempts)
    except NotFoundError:
        logger.error("dropping message for unknown run {}", run_id)
