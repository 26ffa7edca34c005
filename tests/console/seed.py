"""State for the browser tests, written quickly: versions published as copies of a trained
one (with changes), finished run records without training."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from retrain.domain.runs import Outcome, RunRecord, RunStatus, Stage, iso, new_run_id
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.functions.conftest import NOW

COMPLETED = ("model", "version", "artifact")  # publish() writes these itself


def train(svc: Any, model: str) -> Any:
    (run,) = start_runs(svc, [model], trigger="cli").runs
    return execute_run(svc, run.run_id)


def publish_copy(svc: Any, model: str, version: int, change: Any = None) -> int:
    """A new version of ``model``: ``version``'s card and artifact, the card passed through
    ``change(card)`` first (it edits in place). Returns the new version's number."""
    card = copy.deepcopy(svc.models.card(model, version))
    artifact = svc.models.store.get(card["artifact"]["path"]).data
    for name in COMPLETED:
        card.pop(name, None)
    if change is not None:
        change(card)
    return svc.models.publish(model, artifact, card)[0]


def finished_runs(svc: Any, model: str, n: int) -> list[str]:
    """``n`` failed run records of ``model``, a minute apart, oldest first (after NOW, so
    they are the newest runs)."""
    ids = []
    for i in range(n):
        at = NOW + timedelta(minutes=10 + i)
        record = RunRecord(
            run_id=new_run_id(model, at, f"seed{i:03d}"),
            model=model,
            status=RunStatus.FAILED,
            stage=Stage.LOAD,
            created_at=iso(at),
            started_at=iso(at),
            finished_at=iso(at + timedelta(seconds=2)),
            attempts=1,
            outcome=Outcome.FAILED,
            error={"stage": "load", "type": "BackendError", "message": f"seeded failure {i}"},
        )
        assert svc.runs.create(record)
        ids.append(record.run_id)
    return ids


def batch_runs(
    svc: Any,
    at: Any,
    tag: str,
    trigger: str,
    results: dict[str, tuple[str, float | None, float | None]],
    slack: dict[str, str] | None = None,
) -> str:
    """A finished batch started at ``at`` by ``trigger``: per model (outcome, score, the
    champion's score on the same rows); ``failed`` fails in fit. Run ``i`` took 30 + 10 i
    seconds. ``slack``: what the notifier recorded with the batch. Returns the batch id."""
    batch_id = f"{at:%Y%m%dT%H%M%SZ}-{tag}"
    ids = []
    for i, (model, (outcome, score, champion)) in enumerate(results.items()):
        failed = outcome == "failed"
        record = RunRecord(
            run_id=new_run_id(model, at, tag),
            model=model,
            status=RunStatus.FAILED if failed else RunStatus.SUCCEEDED,
            stage=Stage.FIT if failed else Stage.DONE,
            trigger=trigger,
            reason="monthly retraining" if trigger == "timer" else "",
            batch_id=batch_id,
            created_at=iso(at),
            started_at=iso(at + timedelta(seconds=i)),
            finished_at=iso(at + timedelta(seconds=31 + 11 * i)),
            attempts=1,
            outcome=Outcome(outcome),
            version=None if failed else 2 + i,
            error={"stage": "fit", "type": "MemoryError", "message": "out of memory"}
            if failed
            else None,
            summary={}
            if failed
            else {
                "metric": "f1_macro",
                "score": score,
                "champion_score": champion,
                "champion_version": 1 if champion is not None else None,
                "delta": None if champion is None or score is None else round(score - champion, 6),
                "findings": [
                    {"severity": "warning", "rule": "drift", "column": "x", "message": "m"}
                ]
                * i,
            },
        )
        assert svc.runs.create(record)
        ids.append(record.run_id)
    svc.runs.claim_batch(batch_id, ids)
    if slack:
        svc.runs.update_batch(batch_id, slack)
    return batch_id
