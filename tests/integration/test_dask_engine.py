"""TRAINING_ENGINE=dask on a distributed.LocalCluster (2 worker processes) against real
PostgreSQL: partitions, whole runs through the runner, the score against local training on
the same split, and a worker killed in the middle of a fit (on a scheduler and workers run
as processes of their own). More faults: test_dask_faults.py."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

import retrain
from retrain import bootstrap
from retrain.adapters import demo_data
from retrain.adapters import postgres_partitions as partitions
from retrain.adapters.dask_engine import DaskEngine
from retrain.adapters.sql_source import SqlSource
from retrain.classifiers import default_registry
from retrain.classifiers.estimators import xgboost_hist
from retrain.config import Settings
from retrain.domain.errors import BackendError, DataValidationError
from retrain.domain.runs import Outcome, RunStatus, Stage
from retrain.domain.specs import Registry
from retrain.service.runner import execute_run, window_start
from retrain.service.start import start_runs
from retrain.training import evaluate, fit, holdout, validate
from retrain.training.features import feature_frame
from tests import services
from tests.fakes import RecordingNotifier
from tests.integration.conftest import AS_OF

# bounds a time or kills processes: runs after the parallel tests, alone (Makefile, `test`)
pytestmark = pytest.mark.serial

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ROWS = 20_000  # enough holdout rows (4,000) that two fits of one model agree within 0.01
BASE = default_registry().get("KLASSE_ROH")
SPEC = dataclasses.replace(  # the seed spec (key_column and all) without its text, fewer rounds
    BASE,
    name="KLASSE_ROH_DASK",
    features=dataclasses.replace(BASE.features, text=()),  # text trains in-process
    # the seed's stopping rule: the class-weighted validation error, patience 10
    estimator=lambda: xgboost_hist(
        n_estimators=60, max_depth=4, early_stopping_rounds=10, stop_on="error"
    ),
)


@pytest.fixture(scope="module")
def dask_db(pg: services.Postgres) -> services.Postgres:
    """Its own database beside the session's, with 20,000 demo rows."""
    db = services.Postgres(pg.port, "dask_training")
    pg.psql(f"CREATE DATABASE {db.database}")
    demo_data.write(create_engine(db.superuser_url), demo_data.generate(ROWS, 11, AS_OF))
    db.grant_reader()
    return db


def local_cluster() -> object:
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.CRITICAL,
    )


NO_DASHBOARD = ("--dashboard-address", ":0", "--no-show")
WORKER_OPTIONS = ("--no-dashboard", "--death-timeout", "10")


@contextlib.contextmanager
def scheduler_process(workers: int, nanny: bool = False) -> Iterator[tuple[str, subprocess.Popen]]:
    """``dask scheduler`` and ``workers`` x ``dask worker --nthreads 1`` as processes of
    their own (as on AKS): a scheduler that a test can kill or freeze, and whose end (also
    by XGBoost's tracker, which runs there) does not end the test's process."""
    port = services.free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}"}
    quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    dask = str(Path(sys.executable).parent / "dask")
    procs = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), *NO_DASHBOARD],
            env=env,
            **quiet,
        )
    ]
    try:
        services._wait_for_port(port, 60, procs[0])
        if workers:
            many = ["--nworkers", str(workers)] if nanny else ["--no-nanny"]
            for _ in range(1 if nanny else workers):
                procs.append(
                    subprocess.Popen(
                        [dask, "worker", address, "--nthreads", "1", *many, *WORKER_OPTIONS],
                        env=env,
                        **quiet,
                    )
                )
            from distributed import Client

            with Client(address, timeout=30) as client:
                client.wait_for_workers(workers, timeout=60)
        yield address, procs[0]
    finally:
        for proc in procs:
            with contextlib.suppress(OSError):
                os.kill(proc.pid, signal.SIGCONT)
                proc.kill()
        for proc in procs:
            proc.wait(30)


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    with local_cluster() as running:
        yield running


def dask_services(db: services.Postgres, cluster: object, home, spec=SPEC, **env: str):
    return local_services(
        db,
        home,
        spec,
        TRAINING_ENGINE="dask",
        DASK_SCHEDULER_ADDRESS=cluster.scheduler_address,  # type: ignore[attr-defined]
        DASK_PARTITION_ROWS="4000",
        **env,
    )


def local_services(db: services.Postgres, home, spec=SPEC, **env: str):
    settings = Settings.from_environ(
        {"TRAINING_DB_URL": db.reader_url, "RETRAIN_HOME": str(home), **env}
    )
    svc = bootstrap.build(settings, registry=Registry([spec]), notifier=RecordingNotifier())
    started = time.monotonic()  # never today's calendar, but a clock that runs (leases)
    return settings, dataclasses.replace(
        svc, clock=lambda: NOW + timedelta(seconds=time.monotonic() - started)
    )


def train(svc, name=SPEC.name, final_attempt=True):
    record = start_runs(svc, [name], trigger="test").runs[0]
    return execute_run(svc, record.run_id, final_attempt=final_attempt)


def test_partitions_cover_every_row_once_by_key_range_or_hash(dask_db):
    source = SqlSource(create_engine(dask_db.reader_url))
    since = date(2000, 1, 1)
    text_key = dataclasses.replace(
        SPEC,
        query=SPEC.query.replace(", article_id\n", ", 'A-' || article_id AS article_key\n"),
        key_column="article_key",
    )
    for spec, style in ((SPEC, ">="), (text_key, "hashtextextended")):
        plan = partitions.plan(source, spec, since, None, partition_rows=6000)
        assert plan.rows == ROWS and len(plan.conditions) == 4
        assert all(style in condition for condition in plan.conditions)
        keys = [
            key
            for i in range(len(plan.conditions))
            for key in source.load(partitions.partition_spec(spec, plan, i), since)[spec.key_column]
        ]
        assert len(keys) == len(set(keys)) == ROWS
    newest = partitions.plan(source, SPEC, since, 5000, partition_rows=2000)
    assert newest.rows >= 5000 and newest.cutoff is not None


def test_a_query_without_its_key_or_with_null_keys_is_refused_by_name(dask_db):
    source = SqlSource(create_engine(dask_db.reader_url))
    no_key = dataclasses.replace(SPEC, query=BASE.query.replace(", article_id\n", "\n"))
    with pytest.raises(DataValidationError, match="does not return its key_column 'article_id'"):
        partitions.plan(source, no_key, date(2000, 1, 1), None, 1000)
    null_key = dataclasses.replace(
        SPEC,
        query=SPEC.query.replace(", article_id\n", ", NULLIF(article_id % 100, 7) AS article_id\n"),
    )
    with pytest.raises(DataValidationError, match="null in 200 rows"):
        partitions.plan(source, null_key, date(2000, 1, 1), None, 1000)


def test_runs_on_dask_publish_a_loadable_pipeline_scored_like_local_training(
    dask_db, cluster, tmp_path
):
    settings, svc = dask_services(dask_db, cluster, tmp_path)
    assert isinstance(svc.engine, DaskEngine)
    first, second = train(svc), train(svc)
    assert (first.status, first.outcome, first.version) == (
        RunStatus.SUCCEEDED,
        Outcome.PROMOTED,
        1,
    ), first.error
    assert second.status is RunStatus.SUCCEEDED and second.version == 2
    card1, card2 = svc.models.card(SPEC.name, 1), svc.models.card(SPEC.name, 2)
    score = card1["metrics"]["balanced_accuracy"]
    # the champion (v1) was scored on v2's holdout, where it lives: the same rows, same score
    # (v2 itself may differ a little: xgboost.dask's trees follow how the partitions were
    # spread over the workers)
    assert card2["gate"]["champion"] == score
    assert abs(card2["gate"]["candidate"] - score) <= 0.01
    assert card2["data_fingerprint"] == card1["data_fingerprint"]
    assert card1["rows"]["train"] + card1["rows"]["test"] == card1["data_profile"]["rows"]
    assert card1["estimator"]["class"] == "xgboost.sklearn.XGBClassifier"
    assert card1["estimator"]["params"]["eval_metric"] == "merror"  # four classes
    assert card1["engine"] == {"name": "dask"} == first.summary["engine"]
    assert {f["rule"] for f in card1["validation_findings"]} >= {"target_null"}

    pipeline = retrain.load_model(SPEC.name, version=1, env={"RETRAIN_HOME": str(tmp_path)})
    assert type(pipeline.named_steps["classifier"]).__name__ == "EncodedLabelClassifier"

    # local training on the same rows and the same hash holdout
    since = window_start(svc.clock().date(), SPEC.months)
    frame = SqlSource(create_engine(dask_db.reader_url)).load(SPEC, since)
    checked = validate.validate(frame, SPEC)
    rows = checked.frame
    assert card1["validation_findings"] == checked.findings  # the same rules, the same words
    for col, described in checked.profile["columns"].items():
        dask = card1["data_profile"]["columns"][col]
        assert {k: v for k, v in dask.items() if k not in ("mean", "std")} == {
            k: v for k, v in described.items() if k not in ("mean", "std")
        }, col
    checked.profile.pop("columns")
    assert {k: v for k, v in card1["data_profile"].items() if k != "columns"} == checked.profile
    # the champion's profile against the same rows: no drift on either engine
    assert validate.validate(frame, SPEC, card1["data_profile"]).findings == checked.findings
    assert card2["validation_findings"] == checked.findings
    # one rule for both engines: the card's rule is the local engine's, row for row
    assert card1["holdout"] == fit.split(rows, SPEC).rule.to_card()
    assert card1["holdout"]["columns"] == ["article_id"] and card1["holdout"]["by_key"]
    test = holdout.Rule.from_card(card1).test_mask(rows)
    X, y = feature_frame(rows, SPEC), rows[SPEC.target].astype(str)
    assert int(test.sum()) == card1["rows"]["test"]
    # v1 is compared on v2's test rows, all of which are in v1's own test part
    compared = card2["gate"]["comparison"]
    assert compared["rows"] == card2["rows"]["test"] == card1["rows"]["test"]
    assert compared["caveat"] is None and "recorded holdout rule" in compared["basis"]
    local = fit.fit(SPEC, fit.Split(X[~test], X[test], y[~test], y[test]))
    local_score = evaluate.evaluate(local, X[test], y[test])["balanced_accuracy"]
    assert abs(score - local_score) <= 0.01, (score, local_score)
    assert evaluate.evaluate(pipeline, X[test], y[test])["balanced_accuracy"] == score
    assert settings.secrets() and services.READER_PASSWORD not in str(card1)


def test_a_worker_killed_mid_fit_fails_the_attempt_and_the_retry_publishes_a_whole_model(
    dask_db, tmp_path
):
    """The scheduler and the workers run as processes of their own (as on AKS; the workers
    with a nanny, which restarts the killed one): XGBoost's tracker, which runs in the
    scheduler, may end that process when a ring member dies (docs/scaling.md), and must not
    take the test's process with it."""
    from distributed import Client

    rounds = 600
    slow = dataclasses.replace(
        SPEC,
        estimator=lambda: xgboost_hist(
            n_estimators=rounds, max_depth=6, early_stopping_rounds=None
        ),
    )
    with (
        scheduler_process(workers=2, nanny=True) as (address, scheduler),
        Client(address, timeout=30) as client,
    ):
        svc = local_services(
            dask_db,
            tmp_path,
            slow,
            TRAINING_ENGINE="dask",
            DASK_SCHEDULER_ADDRESS=address,
            DASK_PARTITION_ROWS="4000",
            TRAINING_MAX_ROWS="3000",
        )[1]
        record = start_runs(svc, [slow.name], trigger="test").runs[0]
        pids = client.run(os.getpid)
        killed: list[int] = []

        def kill_one_worker_during_the_fit() -> None:
            deadline = time.monotonic() + 120
            while svc.runs.get(record.run_id).stage != Stage.FIT:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.1)
            time.sleep(1.5)
            pid = sorted(pids.values())[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

        killer = threading.Thread(target=kill_one_worker_during_the_fit, daemon=True)
        killer.start()
        with pytest.raises(BackendError) as info:
            execute_run(svc, record.run_id, final_attempt=False)
        killer.join()
        assert killed
        if scheduler.poll() is not None:  # XGBoost's tracker ended the scheduler's process
            assert str(info.value).startswith("lost the connection to the Dask scheduler")
            pytest.skip("XGBoost's tracker ended the scheduler process (library abort)")
        assert "left the cluster during the fit" in str(info.value), info.value
        attempt = svc.runs.get(record.run_id)
        assert attempt.error and attempt.error["stage"] == "fit"
        assert svc.models.versions(slow.name) == []  # nothing half-trained was published
        assert svc.models.champion(slow.name) is None

        client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed worker
        retried = execute_run(svc, record.run_id, final_attempt=True)
        assert retried.status is RunStatus.SUCCEEDED, retried.error
        model, _ = svc.models.load(slow.name, retried.version)
        booster = model.named_steps["classifier"].estimator_.get_booster()
        assert booster.num_boosted_rounds() == rounds


def test_a_spec_without_time_column_trains_on_dask_with_max_rows_cut_by_its_order_column(
    dask_db, cluster, tmp_path
):
    query = BASE.query.replace("WHERE created_at >= :since", "")
    untimed = dataclasses.replace(
        SPEC, name="UNTIMED_DASK", query=query, time_column=None, window_months=None
    )
    _, svc = dask_services(dask_db, cluster, tmp_path, untimed, TRAINING_MAX_ROWS="5000")
    with pytest.raises(DataValidationError, match="names no column to keep the newest by"):
        svc.engine.load(untimed, None, 5000)

    ordered = dataclasses.replace(untimed, order_by="article_id")
    _, svc = dask_services(dask_db, cluster, tmp_path, ordered, TRAINING_MAX_ROWS="5000")
    record = train(svc, ordered.name)
    assert record.status is RunStatus.SUCCEEDED, record.error
    card = svc.models.card(ordered.name, record.version)
    assert card["rows"]["loaded"] == 5000 and card["data_window"]["since"] is None
    assert card["validation_findings"][0]["message"] == (
        "kept the 5000 rows with the largest article_id (TRAINING_MAX_ROWS)"
    )
    local = SqlSource(create_engine(dask_db.reader_url)).load(ordered, None, 5000)
    assert card["validation_findings"][1:] == validate.validate(local, ordered).findings


def test_an_empty_window_stops_with_the_local_engine_s_words(dask_db, cluster, tmp_path):
    old = dataclasses.replace(
        SPEC,
        name="OLD_ROWS_DASK",
        query=BASE.query.replace(
            "WHERE created_at >= :since", "WHERE created_at >= :since AND created_at < '2025-01-01'"
        ),
        window_months=3,
    )
    errors = []
    for build in (dask_services, lambda db, _cluster, home, spec: local_services(db, home, spec)):
        _, svc = build(dask_db, cluster, tmp_path / str(len(errors)), old)
        record = train(svc, old.name)
        assert record.status is RunStatus.FAILED
        errors.append(record.error["message"])
    assert errors[0] == errors[1]
    assert "older rows lie outside it" in errors[0] and "widen window_months" in errors[0]


def test_a_growing_table_on_dask_compares_on_rows_the_champion_never_trained_on(
    pg, cluster, tmp_path
):
    """v1 trains on the older 6,000 rows; 3,000 newer rows arrive; v2 is compared with v1 on
    its test rows, each of which v1 either held out by the same rule or never loaded."""
    db = services.Postgres(pg.port, "dask_growing")
    pg.psql(f"CREATE DATABASE {db.database}")
    rows = demo_data.generate(9000, 12, AS_OF)  # oldest first, article_id in that order
    demo_data.write(create_engine(db.superuser_url), rows.iloc[:6000])
    db.grant_reader()
    _, svc = dask_services(db, cluster, tmp_path)
    first = train(svc)
    assert first.outcome is Outcome.PROMOTED, first.error
    demo_data.write(create_engine(db.superuser_url), rows)
    db.grant_reader()
    second = train(svc)
    assert second.status is RunStatus.SUCCEEDED, second.error
    card1, card2 = svc.models.card(SPEC.name, 1), svc.models.card(SPEC.name, 2)
    assert card1["holdout"] == card2["holdout"]
    compared = card2["gate"]["comparison"]
    assert compared["rows"] == card2["rows"]["test"] > card1["rows"]["test"]
    assert compared["caveat"] is None and compared["low"] <= compared["delta"] <= compared["high"]
    # v1's score on the compared rows is v1's score on rows it never saw
    since = window_start(NOW.date(), SPEC.months)
    frame = validate.validate(SqlSource(create_engine(db.reader_url)).load(SPEC, since), SPEC).frame
    test = frame[holdout.Rule.from_card(card2).test_mask(frame)]
    assert not set(test["article_id"]) & _trained_on(card1, rows.iloc[:6000])
    v1 = retrain.load_model(SPEC.name, version=1, env={"RETRAIN_HOME": str(tmp_path)})
    seen = evaluate.evaluate(v1, feature_frame(test, SPEC), test[SPEC.target].astype(str))
    assert seen[SPEC.primary_metric] == pytest.approx(compared["champion"], abs=1e-6)


def _trained_on(card: dict, rows) -> set[int]:
    """The keys of the rows a card's model trained on: those its rule kept out of the test."""
    return set(rows["article_id"][~holdout.Rule.from_card(card).test_mask(rows)])
