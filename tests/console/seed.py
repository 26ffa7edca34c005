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
