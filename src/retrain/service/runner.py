"""Execute one run: load -> validate -> split -> fit -> evaluate (+ champion on the same
holdout) -> gate -> publish -> move champion -> final record -> notify.

Imports pandas / scikit-learn: entry points import this module only when a run executes."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from loguru import logger

from retrain.domain.errors import (
    ArtifactIntegrityError,
    AttemptSupersededError,
    BackendError,
    ConfigError,
    ConflictError,
    CorruptStateError,
    DataValidationError,
    NotFoundError,
    QueryRejectedError,
    ResourceLimitError,
    RetrainError,
)
from retrain.domain.ports import Holdout, LoadedRows, TrainingEngine
from retrain.domain.runs import Outcome, RunRecord, RunStatus, Stage, iso, progress
from retrain.domain.specs import ModelSpec
from retrain.service import approval, overview
from retrain.service import card as cards
from retrain.service.attempt import Attempt, claim, held_elsewhere
from retrain.service.context import Services
from retrain.service.feedback import join as join_corrections
from retrain.service.notify import announce
from retrain.service.text_ablation import text_ablation
from retrain.training import gate, holdout, memory, serialize, text_card, validate

# Retrying these cannot help: the data, the code or the stored state must change first.
PERMANENT = (
    DataValidationError,
    NotFoundError,
    ConfigError,
    ConflictError,
    ArtifactIntegrityError,
    CorruptStateError,
    QueryRejectedError,
    ResourceLimitError,
)


def window_start(today: date, months: int) -> date:
    month_index = today.year * 12 + today.month - 1 - months
    return date(month_index // 12, month_index % 12 + 1, 1)


@contextmanager
def _stage(attempt: Attempt, stage: Stage) -> Iterator[None]:
    attempt.record.stage = stage
    attempt.record.progress = progress(stage)
    attempt.save()
    attempt.svc.progress.stage(attempt.record.model, str(stage))
    with logger.contextualize(stage=str(stage)):
        logger.info("stage {}", stage)
        started = time.perf_counter()
        yield
    attempt.record.timings[str(stage)] = round(time.perf_counter() - started, 3)


def _on_round(attempt: Attempt, done: int, planned: int) -> None:
    """A boosting round finished: the record's progress (saved with the next heartbeat, so
    the fit writes nothing extra) and whoever watches the terminal."""
    attempt.record.progress = progress(Stage.FIT, done, planned)
    attempt.svc.progress.rounds(attempt.record.model, done, planned)


def execute_run(svc: Services, run_id: str, *, final_attempt: bool = True) -> RunRecord:
    """Run ``run_id`` to its end and return the final record.

    Safe under duplicate and concurrent deliveries: a finished run is returned untouched
    (announced first if its announcement was lost), a run a live attempt holds is left to
    it, and otherwise this delivery claims a new attempt on the run record (see
    service/attempt.py). Permanent errors fail the run at once; other errors fail it only
    on the final attempt and otherwise hand the run back to the queue and propagate."""
    record = svc.runs.get(run_id)
    with logger.contextualize(run_id=run_id, model=record.model):
        if record.status.finished:
            logger.info("run already {}: nothing to do", record.status)
            return _settle(svc, record)
        if held_elsewhere(svc, record):
            logger.info("attempt {} holds this run: duplicate delivery ignored", record.attempts)
            return record
        attempt = claim(svc, record)
        if attempt is None:
            logger.info("another delivery claimed this run first: nothing to do")
            return svc.runs.get(run_id)
        logger.info("run started (attempt {})", record.attempts)
        try:
            with attempt:  # the heartbeat runs until the final record is saved
                final = _attempt(svc, attempt, final_attempt)
        except AttemptSupersededError:
            logger.warning("another attempt took this run over; this one stops, writing nothing")
            return svc.runs.get(run_id)
        return _announced(svc, final)


def _attempt(svc: Services, attempt: Attempt, final_attempt: bool) -> RunRecord:
    record = attempt.record
    try:
        _train(svc, attempt)
        record.status = RunStatus.SUCCEEDED
        record.stage = Stage.DONE
        record.progress = progress(Stage.DONE)
        record.error = None
    except AttemptSupersededError:
        raise
    except Exception as exc:
        record.error = {
            "stage": str(record.stage),
            "type": type(exc).__name__,
            "message": describe(exc),
        }
        if not (final_attempt or isinstance(exc, PERMANENT)):
            record.status = RunStatus.QUEUED  # hand the run back for the queue's next try
            attempt.save()
            logger.warning(
                "attempt {} failed in {}: {}; the queue will retry",
                record.attempts,
                record.stage,
                record.error["message"],
            )
            raise
        record.status = RunStatus.FAILED
        record.outcome = Outcome.FAILED
        if isinstance(exc, DataValidationError):
            record.summary["findings"] = exc.findings
        logger.error(
            "run failed in {}: {}: {}", record.stage, type(exc).__name__, record.error["message"]
        )
        if not isinstance(exc, RetrainError):
            logger.opt(exception=exc).debug("traceback")
    return finish(svc, attempt)


def give_up(svc: Services, run_id: str, message: str) -> RunRecord:
    """Fail a run no attempt finished (its worker died or timed out every time) and announce
    it once, with the last attempt's error when one was recorded. A run a live attempt still
    holds is waited for (its lease runs out when its worker is gone); a finished run is
    returned untouched."""
    deadline = time.monotonic() + svc.lease_s + svc.heartbeat_s
    while True:
        record = svc.runs.get(run_id)
        if record.status.finished:
            return _settle(svc, record)
        if not held_elsewhere(svc, record) or time.monotonic() > deadline:
            break
        time.sleep(min(5.0, max(svc.heartbeat_s, 0.1)))
    with logger.contextualize(run_id=run_id, model=record.model):
        last = record.error
        record.status = RunStatus.FAILED
        record.outcome = Outcome.FAILED
        if last:
            message = (
                f"{message}; last error in {last.get('stage')}: "
                f"{last.get('type')}: {last.get('message')}"
            )
        else:  # a failed attempt that could not save its error left none (storage down)
            message = (
                f"{message}; no attempt recorded an error: each stopped in {record.stage} "
                "(the worker died or hit functionTimeout), or failed while storage was "
                f"unavailable to record why (the function's log has it: run {run_id})"
            )
        record.error = {"stage": str(record.stage), "type": "GaveUp", "message": message}
        logger.error("run failed in {}: {}", record.stage, message)
        return _announced(svc, finish(svc, Attempt(svc, record)))


def _settle(svc: Services, record: RunRecord) -> RunRecord:
    """What a finished run's attempt may not have lived to do: release the model's mark and
    announce (both do nothing when already done)."""
    svc.runs.release(record.model, record.run_id)
    return _announced(svc, record)


def _announced(svc: Services, record: RunRecord) -> RunRecord:
    """Announce a finished run, then tell the overview its final record and its model's
    row (best effort, like the summary: the lists mend what this could not write)."""
    record = announce(svc, record)
    overview.note_model(svc, record.model, [record])
    return record


def finish(svc: Services, attempt: Attempt) -> RunRecord:
    """Final record (compare-and-swap) and release of the model's active mark."""
    record = attempt.record
    record.finished_at = iso(svc.clock())
    attempt.save()
    svc.runs.release(record.model, record.run_id)
    logger.info("run {} {} ({})", record.run_id, record.status, record.outcome)
    return record


def describe(exc: BaseException, limit: int = 500) -> str:
    """What a run record and Slack may say about ``exc``. Our own errors are written to be
    shown; a library's message is cut to its first line (no native stack trace)."""
    text = str(exc) or type(exc).__name__
    if not isinstance(exc, RetrainError):
        text = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        limit = min(limit, 200)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _train(svc: Services, attempt: Attempt) -> None:
    record = attempt.record
    spec = svc.registry.get(record.model)
    since = window_start(svc.clock().date(), spec.months) if spec.months else None
    champion = svc.models.champion(spec.name)  # unreadable: the run stops, naming it
    if record.attempts > 1 and not record.dry_run:
        adopted = svc.models.version_of_run(spec.name, record.run_id)
        if adopted is not None:  # an earlier attempt published before it died
            logger.info("v{} was published by an earlier attempt: finishing it", adopted)
            _conclude(svc, attempt, spec, adopted, svc.models.card(spec.name, adopted), champion)
            return
    champion_card = _champion_card(svc, spec, champion)

    engine, refused = svc.training_engine(spec)  # local or a cluster: the same steps and results
    if refused:
        logger.warning(
            "the configured engine cannot train it: {}; training in this process", refused
        )
    record.summary["engine"] = _engine(engine, refused)
    with _stage(attempt, Stage.LOAD):
        rows = engine.load(spec, since, svc.max_rows)
        rows, corrections = join_corrections(svc, engine, spec, rows, since)  # issue 27
        window = _outside(svc, spec, since) if since and rows.count < spec.min_rows else None
    record.summary.update(rows_loaded=rows.count, data_window=rows.window(spec, since))
    if corrections:
        record.summary["corrections"] = corrections
    svc.progress.rows(record.model, rows.count)
    logger.info("loaded {} rows{}", rows.count, f" since {since}" if since else " (all rows)")

    with _stage(attempt, Stage.VALIDATE):
        notes = validate.check_row_limit(rows.count, spec, svc.max_rows)
        champion_profile = (champion_card or {}).get("data_profile")
        checked = engine.validate(rows, spec, champion_profile, window)
    checked.findings[:0] = notes
    record.summary["findings"] = checked.findings
    for finding in checked.findings:
        logger.warning("validation: {}", finding["message"])
    if record.dry_run:
        record.outcome = Outcome.VALIDATED
        record.summary["profile"] = checked.profile
        return

    with _stage(attempt, Stage.SPLIT):
        data = engine.split(checked, spec, svc.clock())
    with _stage(attempt, Stage.FIT):
        pipeline = engine.fit(spec, data, on_round=functools.partial(_on_round, attempt))
    with _stage(attempt, Stage.EVALUATE):
        rival, problem = _champion_model(svc, spec, champion)
        comparison = None
        with data.texts_read_once(pipeline, rival):  # both predict the test rows' texts
            metrics = data.evaluate(pipeline)
            if rival is not None:
                comparison, problem = _compare(spec, champion, champion_card, pipeline, rival, data)
        decision = gate.decide(
            spec,
            metrics[spec.primary_metric],
            comparison,
            champion.version if champion else None,
            problem,
        )
        importance = _importance(spec, pipeline, data)
        ablation = text_ablation(engine, spec, data, metrics)
    for held in (data, rows):  # a cluster's partitions: let them go before the publish
        getattr(held, "release", lambda: None)()
    logger.info("{} {:.4f}; gate: {}", spec.primary_metric, decision.candidate, decision.reason)

    with _stage(attempt, Stage.PUBLISH):
        memory.check_model(spec, pipeline, svc.memory_limit_mb)  # before its copies
        artifact = serialize.dumps(pipeline)
        version, card = svc.models.publish(
            spec.name,
            artifact,
            {
                **_card(svc, record, spec, rows, checked, data, pipeline, metrics, decision, since),
                "feature_importance": importance,
                **({"corrections": corrections} if corrections else {}),
                **({"text_ablation": ablation} if ablation else {}),
            },
        )
    _conclude(svc, attempt, spec, version, card, champion)


def _conclude(
    svc: Services,
    attempt: Attempt,
    spec: ModelSpec,
    version: int,
    card: dict[str, Any],
    champion: Any,
) -> None:
    """Record the published version's gate decision and move the champion if it says so.
    ``champion`` is the alias as read before training: the move is a compare-and-swap on it,
    so a champion moved meanwhile is never overwritten."""
    record = attempt.record
    decision = card["gate"]
    record.version = version
    awaiting = card.get("status") == Outcome.AWAITING_APPROVAL  # approval="required"
    record.outcome = Outcome.AWAITING_APPROVAL if awaiting else Outcome(decision["outcome"])
    record.summary.update(
        metric=decision["metric"],
        score=decision["candidate"],
        champion_score=decision["champion"],
        champion_version=decision["champion_version"],
        delta=decision["delta"],
        gate_reason=decision["reason"],
        comparison=decision.get("comparison"),
        rows_train=card["rows"]["train"],
        rows_test=card["rows"]["test"],
        artifact_uri=card["artifact"]["uri"],
    )
    if awaiting:
        record.summary["approval_expires_at"] = approval.expires_at(card)
    if record.outcome is not Outcome.PROMOTED:
        return
    current = champion.version if champion else None
    if current == version:  # an earlier attempt moved it already: complete what it left
        svc.models.complete_history(spec.name, champion.record, decision["champion_version"])
        return
    if current != decision["champion_version"]:
        raise ConflictError(
            f"{spec.name}: the champion alias changed since v{version} was judged against "
            f"v{decision['champion_version']}; v{version} was stored but not promoted. "
            "Promote it explicitly if it should serve."
        )
    with _stage(attempt, Stage.PROMOTE):
        svc.models.move_champion(
            spec.name,
            version,
            reason=decision["reason"],
            actor=f"run:{record.run_id}",
            expected=champion,
            run_id=record.run_id,
            score=decision["candidate"],
        )


def _champion_card(svc: Services, spec: ModelSpec, champion: Any) -> dict[str, Any] | None:
    """The champion's card for drift checks; None (and a warning) if it cannot be read: the
    gate then finds that the champion cannot score the holdout."""
    if champion is None:
        return None
    try:
        return svc.models.card(spec.name, champion.version)
    except (NotFoundError, CorruptStateError) as exc:
        logger.warning("champion v{}: {}", champion.version, exc)
        return None


def _champion_model(svc: Services, spec: ModelSpec, champion: Any) -> tuple[Any, str | None]:
    """The champion's model, or why it cannot be loaded (None, None: there is none). A
    storage or database error, or running out of memory, says nothing about the champion:
    it fails the attempt (retried like any other), so the champion stays."""
    if champion is None:
        return None, None
    try:
        model, _ = svc.models.load(spec.name, champion.version)
        return model, None
    except (BackendError, MemoryError):
        raise
    except Exception as exc:  # reported in the decision; the rule is in training/gate.py
        return None, _unusable(champion, exc)


def _compare(
    spec: ModelSpec,
    champion: Any,
    champion_card: dict[str, Any] | None,
    candidate: Any,
    model: Any,
    data: Holdout,
) -> tuple[gate.Comparison | None, str | None]:
    """Candidate and champion (``model``) on the test rows the champion did not train on
    (by what its card records), or why the champion could not score them."""
    try:
        sight = holdout.Sight.from_card(champion.version, champion_card or {}, spec)
        unseen, every, basis = data.triples(candidate, model, sight)
        return gate.compare(spec, unseen, every, basis, champion.version), None
    except (BackendError, MemoryError):
        raise
    except Exception as exc:
        return None, _unusable(champion, exc)


def _unusable(champion: Any, exc: Exception) -> str:
    logger.warning(
        "champion v{} could not score the holdout: {}", champion.version, describe(exc, 200)
    )
    return f"{type(exc).__name__}: {describe(exc, 200)}"


def _importance(spec: ModelSpec, pipeline: Any, data: Holdout) -> dict[str, Any] | None:
    """Permutation importance for the card; a model it cannot score still publishes."""
    try:
        return data.feature_importance(pipeline, spec.primary_metric, spec.random_state)
    except Exception as exc:
        logger.warning("feature importance not computed: {}: {}", type(exc).__name__, describe(exc))
        return None


def _outside(svc: Services, spec: ModelSpec, since: date) -> validate.Window:
    """What the query holds before the window: for the message when too few rows are in it."""
    try:
        rows, newest = svc.source.count_before(spec, since)
    except RetrainError as exc:
        logger.warning("could not count the rows before the data window: {}", exc)
        return validate.Window(since)
    return validate.Window(since, rows, newest)


def _engine(engine: TrainingEngine, refused: str | None) -> dict[str, Any]:
    """Which engine trained the run, and why the configured one did not (if it did not)."""
    return {"name": engine.name, **({"instead_of_configured": refused} if refused else {})}


def _card(
    svc: Services,
    record: RunRecord,
    spec: ModelSpec,
    rows: LoadedRows,
    checked: Any,
    data: Holdout,
    pipeline: Any,
    metrics: dict,
    decision: gate.GateDecision,
    since: date | None,
) -> dict[str, Any]:
    now = svc.clock()
    awaits = spec.approval_required and decision.outcome is Outcome.PROMOTED
    return {
        "run_id": record.run_id,
        "created_at": iso(now),
        "status": str(Outcome.AWAITING_APPROVAL if awaits else decision.outcome),
        **({"approval": approval.card_approval(spec, now)} if awaits else {}),
        "gate": decision.to_dict(),
        "rows": {"loaded": rows.count, "train": data.rows_train, "test": data.rows_test},
        "holdout": data.rule.to_card() if data.rule else None,
        "class_distribution": checked.profile["class_counts"],
        "classes": [str(c) for c in pipeline.classes_],
        "feature_schema": cards.feature_schema(spec),
        "estimator": cards.estimator_description(pipeline),
        "engine": record.summary.get("engine"),
        **({"text_features": text} if (text := text_card.text_summary(pipeline, spec)) else {}),
        "metrics": metrics,
        "primary_metric": spec.primary_metric,
        "validation_findings": checked.findings,
        "data_profile": checked.profile,
        "data_window": rows.window(spec, since),
        "data_fingerprint": rows.fingerprint(spec),
        "random_state": spec.random_state,
        "test_size": spec.test_size,
        "max_rows": svc.max_rows,
        "library_versions": cards.library_versions(),
        "environment": svc.environment,
        "code_version": svc.code_version,
    }
