"""Execute one run: load -> validate -> split -> fit -> evaluate (+ champion on the same
holdout) -> gate -> publish -> move champion -> final record -> notify.

Imports pandas / scikit-learn: entry points import this module only when a run executes."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from loguru import logger

from retrain.domain.errors import (
    ArtifactIntegrityError,
    ConfigError,
    ConflictError,
    DataValidationError,
    NotFoundError,
    QueryRejectedError,
    RetrainError,
)
from retrain.domain.runs import Outcome, RunRecord, RunStatus, Stage, iso
from retrain.domain.specs import ModelSpec
from retrain.service import card as cards
from retrain.service.context import Services
from retrain.service.notify import announce
from retrain.training import evaluate, fit, gate, serialize, validate

# Retrying these cannot help: the data, the code or the stored state must change first.
PERMANENT = (
    DataValidationError,
    NotFoundError,
    ConfigError,
    ConflictError,
    ArtifactIntegrityError,
    QueryRejectedError,
)


def window_start(today: date, months: int) -> date:
    month_index = today.year * 12 + today.month - 1 - months
    return date(month_index // 12, month_index % 12 + 1, 1)


@contextmanager
def _stage(svc: Services, record: RunRecord, stage: Stage) -> Iterator[None]:
    record.stage = stage
    svc.runs.save(record)
    logger.info("stage {}", stage)
    started = time.perf_counter()
    yield
    record.timings[str(stage)] = round(time.perf_counter() - started, 3)


def execute_run(svc: Services, run_id: str, *, final_attempt: bool = True) -> RunRecord:
    """Run ``run_id`` to its end and return the final record.

    A run already finished is returned untouched (a redelivered message trains nothing).
    Permanent errors fail the run at once; other errors fail it only on the final attempt
    and otherwise propagate so the queue retries."""
    record = svc.runs.get(run_id)
    if record.status.finished:
        logger.info("run {} already {}: nothing to do", run_id, record.status)
        return record
    with logger.contextualize(run_id=run_id, model=record.model):
        record.status = RunStatus.RUNNING
        record.attempts += 1
        record.started_at = iso(svc.clock())
        record.error = None
        svc.runs.save(record)
        logger.info("run started (attempt {})", record.attempts)
        try:
            _train(svc, record)
            record.status = RunStatus.SUCCEEDED
            record.stage = Stage.DONE
        except Exception as exc:
            record.error = {
                "stage": str(record.stage),
                "type": type(exc).__name__,
                "message": _short(exc),
            }
            if not (final_attempt or isinstance(exc, PERMANENT)):
                svc.runs.save(record)
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
                "run failed in {}: {}: {}",
                record.stage,
                type(exc).__name__,
                record.error["message"],
            )
            if not isinstance(exc, RetrainError):
                logger.opt(exception=exc).debug("traceback")
        return finish(svc, record)


def give_up(svc: Services, run_id: str, message: str) -> RunRecord:
    """Fail a run no attempt finished (its worker died or timed out every time) and announce
    it once. A run already finished is returned untouched."""
    record = svc.runs.get(run_id)
    if record.status.finished:
        return record
    with logger.contextualize(run_id=run_id, model=record.model):
        record.status = RunStatus.FAILED
        record.outcome = Outcome.FAILED
        record.error = {"stage": str(record.stage), "type": "GaveUp", "message": message}
        logger.error("run failed in {}: {}", record.stage, message)
        return finish(svc, record)


def finish(svc: Services, record: RunRecord) -> RunRecord:
    """Final record, release the model's active mark, announce once."""
    record.finished_at = iso(svc.clock())
    svc.runs.save(record)
    svc.runs.release(record.model, record.run_id)
    logger.info("run {} {} ({})", record.run_id, record.status, record.outcome)
    return announce(svc, record)


def _short(exc: BaseException, limit: int = 500) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _train(svc: Services, record: RunRecord) -> None:
    spec = svc.registry.get(record.model)
    since = window_start(svc.clock().date(), spec.months) if spec.months else None
    champion = svc.models.champion(spec.name)
    champion_card = svc.models.card(spec.name, champion.version) if champion else None

    with _stage(svc, record, Stage.LOAD):
        frame = svc.source.load(spec, since, svc.max_rows)
        window = _outside(svc, spec, since) if since and len(frame) < spec.min_rows else None
    record.summary.update(rows_loaded=len(frame), data_window=_window(frame, spec, since))
    logger.info("loaded {} rows{}", len(frame), f" since {since}" if since else " (all rows)")

    with _stage(svc, record, Stage.VALIDATE):
        notes = validate.check_row_limit(len(frame), spec, svc.max_rows)
        champion_profile = (champion_card or {}).get("data_profile")
        checked = validate.validate(frame, spec, champion_profile, window)
    checked.findings[:0] = notes
    record.summary["findings"] = checked.findings
    for finding in checked.findings:
        logger.warning("validation: {}", finding["message"])
    if record.dry_run:
        record.outcome = Outcome.VALIDATED
        record.summary["profile"] = checked.profile
        return

    with _stage(svc, record, Stage.SPLIT):
        data = fit.split(checked.frame, spec)
    with _stage(svc, record, Stage.FIT):
        pipeline = fit.fit(spec, data)
    with _stage(svc, record, Stage.EVALUATE):
        metrics = evaluate.evaluate(pipeline, data.X_test, data.y_test)
        champion_score, problem = _score_champion(svc, spec, champion, data)
        decision = gate.decide(
            spec,
            metrics[spec.primary_metric],
            champion_score,
            champion.version if champion else None,
            problem,
        )
    logger.info("{} {:.4f}; gate: {}", spec.primary_metric, decision.candidate, decision.reason)

    with _stage(svc, record, Stage.PUBLISH):
        artifact = serialize.dumps(pipeline)
        version, card = svc.models.publish(
            spec.name,
            artifact,
            _card(svc, record, spec, frame, checked, data, pipeline, metrics, decision, since),
        )
    record.version = version
    record.outcome = decision.outcome
    record.summary.update(
        metric=spec.primary_metric,
        score=decision.candidate,
        champion_score=decision.champion,
        champion_version=decision.champion_version,
        delta=decision.delta,
        gate_reason=decision.reason,
        rows_train=len(data.y_train),
        rows_test=len(data.y_test),
        artifact_uri=card["artifact"]["uri"],
    )
    if decision.promote:
        with _stage(svc, record, Stage.PROMOTE):
            svc.models.move_champion(
                spec.name,
                version,
                reason=decision.reason,
                actor=f"run:{record.run_id}",
                expected=champion,
                run_id=record.run_id,
                score=decision.candidate,
            )


def _score_champion(
    svc: Services, spec: ModelSpec, champion: Any, data: fit.Split
) -> tuple[float | None, str | None]:
    if champion is None:
        return None, None
    try:
        model, _ = svc.models.load(spec.name, champion.version)
        scores = evaluate.evaluate(model, data.X_test, data.y_test)
        return scores[spec.primary_metric], None
    except Exception as exc:  # reported in the decision; the rule is in training/gate.py
        logger.warning("champion v{} could not score the holdout: {}", champion.version, exc)
        return None, f"{type(exc).__name__}: {_short(exc, 200)}"


def _outside(svc: Services, spec: ModelSpec, since: date) -> validate.Window:
    """What the query holds before the window: for the message when too few rows are in it."""
    try:
        rows, newest = svc.source.count_before(spec, since)
    except RetrainError as exc:
        logger.warning("could not count the rows before the data window: {}", exc)
        return validate.Window(since)
    return validate.Window(since, rows, newest)


def _window(frame: Any, spec: ModelSpec, since: date | None) -> dict[str, str | None]:
    """The data window: its time column, start, and the first and last time loaded (all
    None when the spec trains on all rows)."""
    window = {
        "column": spec.time_column,
        "since": since.isoformat() if since else None,
        "first": None,
        "last": None,
    }
    if spec.time_column in frame.columns and not frame.empty:
        times = frame[spec.time_column]
        with contextlib.suppress(TypeError):  # not comparable: the window stays unnamed
            window.update(first=str(times.min()), last=str(times.max()))
    return window


def _card(
    svc: Services,
    record: RunRecord,
    spec: ModelSpec,
    frame: Any,
    checked: Any,
    data: fit.Split,
    pipeline: Any,
    metrics: dict,
    decision: gate.GateDecision,
    since: date | None,
) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "created_at": iso(svc.clock()),
        "status": str(decision.outcome),
        "gate": decision.to_dict(),
        "rows": {"loaded": len(frame), "train": len(data.y_train), "test": len(data.y_test)},
        "class_distribution": checked.profile["class_counts"],
        "classes": [str(c) for c in pipeline.classes_],
        "feature_schema": cards.feature_schema(spec),
        "estimator": cards.estimator_description(pipeline),
        "metrics": metrics,
        "primary_metric": spec.primary_metric,
        "validation_findings": checked.findings,
        "data_profile": checked.profile,
        "data_window": _window(frame, spec, since),
        "data_fingerprint": cards.fingerprint(spec, frame),
        "random_state": spec.random_state,
        "test_size": spec.test_size,
        "max_rows": svc.max_rows,
        "library_versions": cards.library_versions(),
        "code_version": svc.code_version,
    }
