"""Champion decay: each champion scored on the rows that arrived since it was trained.

For every registered model with a champion: the rows whose time column is strictly later
than the newest row its card's data window records (labels known), scored with the spec's
primary metric by the gate's metric functions. A model without a time column is scored on
all rows, and the result says so. A score more than ``decay_limit`` below the card's, or
below ``metric_floor``, is an alarm: the notifier is told, and a spec with
``retrain_on_decay=True`` gets a run (trigger ``decay``).

Each result is stored create-only as ``<MODEL>/decay/<UTC time>-<tag>.json`` in the models
store (keys sort by time; ``points`` reads them back). A scheduled check passes its
``occurrence``: its keys and run ids are then fixed for that occurrence, so a duplicate or
retried firing finds a model's point there and checks, reports and starts nothing again
for it (a check that failed is stored under a key of its own and done again). A model
without a champion stores nothing. A stored point is noted in the overview (the models
list's health, service/health.py); service/decay_points.py reads points back.

Imports pandas / scikit-learn: entry points import this module when a check runs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loguru import logger

from retrain.domain.decay import MIN_ROWS, DecayResult, DecayStatus
from retrain.domain.errors import CorruptStateError, RetrainError
from retrain.domain.ports import AlreadyExists
from retrain.domain.runs import RunRecord, iso
from retrain.domain.specs import ModelSpec
from retrain.service import feedback, overview, stored
from retrain.service.context import Services
from retrain.service.decay_points import FOLDER as FOLDER  # re-exported: where points live
from retrain.service.decay_points import point_key
from retrain.service.decay_points import points as points  # re-exported
from retrain.service.report import decay_line
from retrain.service.runner import describe, window_start
from retrain.service.start import start_runs
from retrain.training import decay as scoring

SCHEDULED = "scheduled"  # the tag of a scheduled check's keys
NO_TIME_COLUMN = (
    "no time column: scored on all rows, which include the champion's own training rows"
)
NO_WINDOW = (
    "the card records no training window: scored on the spec's window, which may include "
    "the champion's own training rows"
)


@dataclass
class Checked:
    results: list[DecayResult] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)  # started: one queue message each
    done_before: list[str] = field(default_factory=list)  # checked for this occurrence already


def check(
    svc: Services, names: list[str] | None = None, *, occurrence: datetime | None = None
) -> Checked:
    """Check ``names`` (default: every registered model), store each point, start the runs
    the specs ask for and tell the notifier once. ``occurrence``: the scheduled time this
    check stands for (see the module's note); None: a check of its own, now."""
    specs = [svc.registry.get(name) for name in dict.fromkeys(names or svc.registry.names())]
    at = occurrence or svc.clock()
    tag = SCHEDULED if occurrence else secrets.token_hex(3)
    checked = Checked()
    for spec in specs:
        key = point_key(spec.name, at, tag)
        with logger.contextualize(model=spec.name):
            if occurrence is not None and _exists(svc, key):
                logger.info("decay: already checked for {}", iso(at))
                checked.done_before.append(spec.name)
                continue
            result = _check_one(svc, spec)
            if result.status.alarm and spec.retrain_on_decay:
                checked.runs += _retrain(svc, spec, result, occurrence)
            if result.status is DecayStatus.ERROR:  # a retried firing checks it again
                key = point_key(spec.name, at, f"error-{secrets.token_hex(3)}")
            if result.status is not DecayStatus.NO_CHAMPION and not _store(svc, key, result):
                checked.done_before.append(spec.name)
                continue
            log = logger.warning if result.status.told else logger.info
            log("decay: {}", decay_line(result))
            checked.results.append(result)
    if checked.results:
        try:
            svc.notifier.decay_checked(checked.results)
        except Exception as exc:  # a notifier must not fail the check (as for runs)
            logger.warning("decay notification failed ({}); the check stands", type(exc).__name__)
    return checked


def _check_one(svc: Services, spec: ModelSpec) -> DecayResult:
    result = DecayResult(
        model=spec.name,
        status=DecayStatus.ERROR,
        checked_at=iso(svc.clock()),
        metric=spec.primary_metric,
        tolerance=spec.decay_limit,
        floor=spec.metric_floor,
    )
    try:
        champion = svc.models.champion(spec.name)
        if champion is None or champion.version is None:
            result.status = DecayStatus.NO_CHAMPION
            return result
        result.version = champion.version
        model, card = svc.models.load(spec.name, champion.version)
        _score(svc, spec, model, card, result)
    except Exception as exc:  # a model that cannot be checked is reported, the rest go on
        result.status = DecayStatus.ERROR
        result.message = f"{type(exc).__name__}: {describe(exc, 300)}"
        if not isinstance(exc, RetrainError):
            logger.opt(exception=exc).debug("traceback")
    return result


def _score(
    svc: Services, spec: ModelSpec, model: Any, card: dict[str, Any], result: DecayResult
) -> None:
    card_score = (card.get("metrics") or {}).get(spec.primary_metric)
    if not isinstance(card_score, int | float) or isinstance(card_score, bool):
        key = f"{spec.name}/versions/{result.version}/card.json"
        raise CorruptStateError("model card", key, f"no {spec.primary_metric} in its metrics")
    result.card_score = float(card_score)
    window = card.get("data_window") or {}
    column = spec.time_column
    last = window.get("last") if column and window.get("column") == column else None
    after = scoring.utc_naive(str(last)) if last else None
    if column is None:
        since, result.note = None, NO_TIME_COLUMN
    elif after is None:
        since, result.note = window_start(svc.clock().date(), spec.months or 1), NO_WINDOW
    else:
        since = after.date()  # the query's window from that day; later rows are kept below
    loaded, corrected = feedback.labelled(
        svc, spec, svc.source.load(spec, since, svc.max_rows), since
    )
    rows = scoring.new_rows(loaded, spec, after)
    result.rows = len(rows.frame)
    result.window = {
        "column": column,
        "after": str(after) if after is not None else None,
        "first": rows.first,
        "last": rows.last,
        "unlabelled": rows.unlabelled,
        **({"corrections": corrected} if corrected else {}),  # people's labels (issue 27)
    }
    if result.rows < MIN_ROWS:
        result.status = DecayStatus.NOT_ENOUGH_ROWS
        result.message = f"{result.rows} labelled new rows; at least {MIN_ROWS} are needed"
        return
    result.score = float(scoring.score(model, rows.frame, spec)[spec.primary_metric])
    if result.score < spec.metric_floor:
        result.status = DecayStatus.BELOW_FLOOR
    elif round(result.card_score - result.score, 6) > spec.decay_limit:
        result.status = DecayStatus.DECAYING
    else:
        result.status = DecayStatus.OK


def _retrain(
    svc: Services, spec: ModelSpec, result: DecayResult, occurrence: datetime | None
) -> list[RunRecord]:
    """Start one run of ``spec`` (a scheduled check: the occurrence's own run id, so a
    repeated check finds it instead of starting another); note in ``result`` what happened."""
    reason = f"decay: {decay_line(result)}"[:500]
    tag = "decay" if occurrence else None
    started = start_runs(svc, [spec.name], trigger="decay", reason=reason, at=occurrence, tag=tag)
    if started.runs:
        result.retrain = {"run_id": started.runs[0].run_id}
    elif started.existing:
        run_id = started.existing[0].run_id
        result.retrain = {"run_id": run_id, "skipped": f"run {run_id} was started before"}
    elif started.conflicts:
        run_id = started.conflicts[0].run_id
        result.retrain = {"run_id": run_id, "skipped": f"run {run_id} is active"}
    elif started.failed:
        result.retrain = {"skipped": f"not started: {describe(started.failed[0][1], 200)}"}
    return started.runs


def _exists(svc: Services, key: str) -> bool:
    try:
        return svc.models.store.get(key) is not None
    except RetrainError as exc:  # checked anyway: the create-only write decides
        logger.warning("decay: could not look for {}: {}", key, exc)
        return False


def _store(svc: Services, key: str, result: DecayResult) -> bool:
    """Write the point create-only; False when the key is taken (another firing of the
    same occurrence stored and reports it). A storage failure is logged: the check is
    still reported."""
    try:
        svc.models.store.create(key, stored.dumps(result.to_dict()))
        overview.note_decay(svc, key, result)  # the models list's health (never raises)
    except AlreadyExists:
        logger.info("decay: {} was stored by another check of the same occurrence", key)
        return False
    except RetrainError as exc:
        logger.error("decay: point {} not stored: {}", key, exc)
    return True
