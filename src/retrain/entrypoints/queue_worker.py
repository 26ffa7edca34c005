"""The queue worker: one training run per message, and the poison queue's last word.

Retries: an error that retrying may cure (database, storage) propagates, so the host makes
the message visible again; on attempt ``TRAINING_MAX_ATTEMPTS`` (= host.json
``maxDequeueCount``) the runner fails the run with its reason and announces it once, and
the message is acknowledged. A worker that died or hit ``functionTimeout`` on its last
attempt never gets that far: the host moves its message to the poison queue, where
``training_gave_up`` fails the run and announces it."""

import azure.functions as func
from loguru import logger

from retrain.domain.errors import CorruptStateError, NotFoundError
from retrain.entrypoints import training_queue
from retrain.entrypoints.app_services import services, settings

bp = func.Blueprint()


@bp.function_name("train_model")
@bp.queue_trigger(
    arg_name="msg", queue_name=training_queue.QUEUE, connection=training_queue.CONNECTION
)
def train_model(msg: func.QueueMessage) -> None:
    """Execute the message's run. A run already finished is acknowledged untouched."""
    run_id = _run_id(msg)
    if run_id is None:
        return
    from retrain.service.runner import execute_run  # pandas, scikit-learn: only to train

    attempt = msg.dequeue_count or 1
    final = attempt >= settings().max_attempts
    try:
        execute_run(services(), run_id, final_attempt=final)
    except (NotFoundError, CorruptStateError) as exc:  # retrying cannot fix either
        logger.error("dropping the message {} for run {}: {}", msg.id, run_id, exc)


@bp.function_name("training_gave_up")
@bp.queue_trigger(
    arg_name="msg", queue_name=training_queue.POISON_QUEUE, connection=training_queue.CONNECTION
)
def training_gave_up(msg: func.QueueMessage) -> None:
    """Fail and announce a run whose message exhausted its attempts without an answer."""
    run_id = _run_id(msg)
    if run_id is None:
        return
    from retrain.service.runner import give_up

    try:
        give_up(
            services(),
            run_id,
            f"no attempt of {settings().max_attempts} completed; the message went to the "
            "poison queue",
        )
    except (NotFoundError, CorruptStateError) as exc:
        logger.error("dropping the poison message {} for run {}: {}", msg.id, run_id, exc)


def _run_id(msg: func.QueueMessage) -> str | None:
    try:
        return training_queue.run_id_of(msg.get_body())
    except ValueError as exc:  # retrying cannot fix it: log and acknowledge
        logger.error("dropping the malformed message {}: {}", msg.id, exc)
        return None
