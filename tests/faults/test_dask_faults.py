"""TRAINING_ENGINE=dask against schedulers that misbehave, without PostgreSQL: a port that
accepts TCP and never speaks (a run, /api/health), and the read-only CLI commands, which
never need the engine. (A scheduler or a worker killed mid-fit: tests/integration/
test_dask_faults.py.)"""

from __future__ import annotations

import dataclasses
import json
import logging
import time

import pytest

from retrain import bootstrap
from retrain.adapters.dask_engine import DaskEngine
from retrain.adapters.postgres_partitions import Database
from retrain.classifiers import default_registry
from retrain.classifiers.estimators import xgboost_hist
from retrain.config import Secret, Settings
from retrain.domain.runs import Outcome, RunStatus
from retrain.domain.specs import Registry
from retrain.entrypoints import cli
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.faults.netfaults import deaf_port
from tests.functions.conftest import build_services, http

# bounds a time or kills processes: runs after the parallel tests, alone (Makefile, `test`)
pytestmark = pytest.mark.serial

BASE = default_registry().get("KLASSE_ROH")
SPEC = dataclasses.replace(  # trainable on Dask (no text), quick
    BASE,
    name="KLASSE_ROH_DASK",
    features=dataclasses.replace(BASE.features, text=()),
    estimator=lambda: xgboost_hist(n_estimators=20, max_depth=3),
)
PASSWORD = "s3cret-pw"
DB = Database(Secret(f"postgresql+psycopg2://reader:{PASSWORD}@db.internal/training"))


def test_a_run_against_a_scheduler_that_never_speaks_fails_once_within_its_bound(tmp_path):
    """Issue 28.1: the run waited without bound (killed after 590 s), kept the model busy
    (409) and its heartbeat alive."""
    svc, _ = build_services(tmp_path, registry=Registry([SPEC]))
    champion = execute_run(svc, start_runs(svc, [SPEC.name], trigger="test").runs[0].run_id)
    assert champion.outcome is Outcome.PROMOTED, champion.error  # v1, trained in-process

    with deaf_port() as port:
        address = f"tcp://127.0.0.1:{port}"
        svc.engine = DaskEngine(svc.source, DB, address, connect_timeout_s=2)  # type: ignore[arg-type]
        record = start_runs(svc, [SPEC.name], trigger="test").runs[0]
        started = time.monotonic()
        failed = execute_run(svc, record.run_id, final_attempt=True)
        took = time.monotonic() - started
    assert took < 10, took  # 2 s (DASK_CONNECT_TIMEOUT_S) and the library's import
    assert failed.status is RunStatus.FAILED and failed.attempts == 1
    assert failed.error == {
        "stage": "load",
        "type": "BackendError",
        "message": f"could not connect to the Dask scheduler {address} within 2 s "
        "(DASK_CONNECT_TIMEOUT_S): it accepted the connection but never answered",
    }
    assert PASSWORD not in json.dumps(failed.to_dict())
    assert svc.models.champion(SPEC.name).version == 1  # the champion is kept
    assert svc.models.versions(SPEC.name) == [1]
    # the model is free again: a new start is accepted (no 409)
    again = start_runs(svc, [SPEC.name], trigger="test")
    assert not again.conflicts and again.runs[0].run_id != record.run_id
    busy = start_runs(svc, [SPEC.name], trigger="test")  # ... and that one holds it now
    assert [c.run_id for c in busy.conflicts] == [again.runs[0].run_id]


def test_a_retried_attempt_is_handed_back_then_the_last_one_fails_the_run(tmp_path):
    """A non-final attempt hands the run back to the queue (no hang); the last fails it."""
    svc, _ = build_services(tmp_path, registry=Registry([SPEC]))
    with deaf_port() as port:
        svc.engine = DaskEngine(svc.source, DB, f"tcp://127.0.0.1:{port}", connect_timeout_s=1)  # type: ignore[arg-type]
        record = start_runs(svc, [SPEC.name], trigger="test").runs[0]
        started = time.monotonic()
        with pytest.raises(Exception, match="DASK_CONNECT_TIMEOUT_S"):
            execute_run(svc, record.run_id, final_attempt=False)
        assert svc.runs.get(record.run_id).status is RunStatus.QUEUED
        last = execute_run(svc, record.run_id, final_attempt=True)
        took = time.monotonic() - started
    assert last.status is RunStatus.FAILED and last.attempts == 2
    assert took < 10, took


def test_the_connect_bound_is_a_setting_with_a_default():
    env = {
        "TRAINING_ENGINE": "dask",
        "DASK_SCHEDULER_ADDRESS": "tcp://dask-scheduler:8786",
        "TRAINING_DB_URL": f"postgresql+psycopg2://reader:{PASSWORD}@127.0.0.1:1/x",
    }
    assert Settings.from_environ(env).dask_connect_timeout_s == 10
    settings = Settings.from_environ({**env, "DASK_CONNECT_TIMEOUT_S": "3"})
    engine = bootstrap.training_engine(settings, None)  # type: ignore[arg-type]
    assert isinstance(engine, DaskEngine) and engine.connect_timeout_s == 3
    with pytest.raises(Exception, match="DASK_CONNECT_TIMEOUT_S"):
        Settings.from_environ({**env, "DASK_CONNECT_TIMEOUT_S": "0"})


def test_health_asks_the_scheduler_a_question_within_its_own_bound(tmp_path, use):
    """A port that accepts connections is not a scheduler that answers."""
    from distributed import LocalCluster

    svc, settings = build_services(tmp_path)
    svc.engine = engine = DaskEngine(svc.source, DB, "tcp://127.0.0.1:1")  # type: ignore[arg-type]
    use(svc, settings)
    with deaf_port() as port:
        engine.address = f"tcp://127.0.0.1:{port}"
        started = time.monotonic()
        response, _ = http("health")
        took = time.monotonic() - started
    assert took < 5, took
    assert response.status == 503
    assert response.json["checks"]["dask_scheduler"] in (
        "unavailable (BackendError)",
        "no answer within 4 s",  # a machine too busy to import distributed in time
    )
    assert str(port) not in response.text
    with LocalCluster(
        n_workers=0, processes=False, dashboard_address=":0", silence_logs=logging.CRITICAL
    ) as cluster:
        engine.address = cluster.scheduler_address
        response, _ = http("health")
    assert response.json["checks"]["dask_scheduler"] == "ok"
    assert response.status == 200, response.json


@pytest.mark.parametrize(
    "argv", [["models"], ["versions", "ARTFAM_ROH"], ["runs"], ["history", "ARTFAM_ROH"]]
)
def test_read_only_commands_work_with_the_dask_engine_set(argv, tmp_path, capsys):
    """Issue 28.8: they failed saying the scheduler and database settings were missing
    although both were set. Nothing listens on either address: they connect to neither."""
    env = {
        "TRAINING_ENGINE": "dask",
        "DASK_SCHEDULER_ADDRESS": "tcp://127.0.0.1:1",
        "TRAINING_DB_URL": f"postgresql+psycopg2://reader:{PASSWORD}@127.0.0.1:1/x",
        "RETRAIN_HOME": str(tmp_path),
    }
    assert cli.main([*argv, "--json"], env=env) == 0, capsys.readouterr().err
    out = capsys.readouterr()
    assert json.loads(out.out) and "DASK_SCHEDULER_ADDRESS" not in out.err
