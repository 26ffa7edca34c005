"""The timers: queue every registered classifier once per calendar month; score each
champion on the rows that arrived since it was trained (champion decay)."""

from datetime import UTC, datetime

import azure.functions as func
from loguru import logger

from retrain.domain.errors import BackendError
from retrain.entrypoints import training_queue
from retrain.entrypoints.app_services import services
from retrain.entrypoints.training_queue import Messages
from retrain.service.start import start_runs

bp = func.Blueprint()


def day_start(now: datetime) -> datetime:
    """The first instant of ``now``'s day in UTC: the identity of a daily-or-rarer occurrence."""
    now = now.astimezone(UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC)


def month_start(now: datetime) -> datetime:
    """The first instant of ``now``'s month in UTC: the identity of a monthly occurrence."""
    now = now.astimezone(UTC)
    return datetime(now.year, now.month, 1, tzinfo=UTC)


@bp.function_name("monthly_retraining")
@bp.timer_trigger(
    schedule="%TRAINING_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True
)
@bp.retry(strategy="fixed_delay", max_retry_count="3", delay_interval="00:10:00")
@bp.queue_output(
    arg_name="msgs", queue_name=training_queue.QUEUE, connection=training_queue.CONNECTION
)
def monthly_retraining(timer: func.TimerRequest, msgs: func.Out[Messages]) -> None:
    """Run ids are ``<first of the month>-<MODEL>-monthly``. A duplicate or past-due firing
    in the same month finds those runs and enqueues nothing: each run's message is sent
    exactly once, by the firing that created the run, so no two workers ever train the same
    run. A model busy with another run at that moment is skipped for the month.

    Storage failing for every model raises, so the retry policy fires again in 10 minutes
    (nothing was created: the retry starts clean). Once any run exists the firing returns
    normally, so each created run gets its message; models that failed are logged."""
    svc = services()
    at = month_start(svc.clock())
    reason = "monthly schedule" + (" (past due)" if timer.past_due else "")
    started = start_runs(
        svc, svc.registry.names(), trigger="timer", reason=reason, at=at, tag="monthly"
    )
    msgs.set(training_queue.messages(started.runs))
    if started.failed and not (started.runs or started.existing or started.conflicts):
        raise started.failed[0][1]
    for conflict in started.conflicts:
        logger.warning("{} skipped this month: run {} is active", conflict.model, conflict.run_id)
    for model, exc in started.failed:
        logger.error("{} not started this month: {}", model, exc)
    logger.info(
        "monthly retraining {:%Y-%m}: queued {}, queued before {}",
        at,
        [r.model for r in started.runs] or "none",
        [r.model for r in started.existing] or "none",
    )


@bp.function_name("champion_decay")
@bp.timer_trigger(
    schedule="%DECAY_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True
)
@bp.retry(strategy="fixed_delay", max_retry_count="3", delay_interval="00:10:00")
@bp.queue_output(
    arg_name="msgs", queue_name=training_queue.QUEUE, connection=training_queue.CONNECTION
)
def champion_decay(timer: func.TimerRequest, msgs: func.Out[Messages]) -> None:
    """Score every champion on the rows that arrived since it was trained (service/decay.py),
    store each score, tell Slack about the decaying ones, and queue a run (trigger
    ``decay``) for those whose spec says ``retrain_on_decay``.

    The check stands for its UTC day: points are ``<MODEL>/decay/<day>T000000Z-scheduled``
    and runs ``<day>T000000Z-<MODEL>-decay``, so a duplicate, past-due or retried firing on
    the same day finds them and checks, posts and queues nothing again. Every model failing
    (storage or the database down) raises, so the retry policy fires again in 10 minutes."""
    from retrain.service.decay import check

    svc = services()
    at = day_start(svc.clock())
    checked = check(svc, svc.registry.names(), occurrence=at)
    msgs.set(training_queue.messages(checked.runs))
    failed = [r for r in checked.results if r.status == "error"]
    if failed and len(failed) == len(checked.results) and not checked.runs:
        raise BackendError(f"champion decay: every check failed ({failed[0].message})")
    logger.info(
        "champion decay {:%Y-%m-%d}{}: checked {}, checked before {}, retraining {}",
        at,
        " (past due)" if timer.past_due else "",
        [r.model for r in checked.results] or "none",
        checked.done_before or "none",
        [r.model for r in checked.runs] or "none",
    )
