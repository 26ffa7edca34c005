"""TRAINING_ENGINE=dask when the cluster fails under a run (issue 28), against real
PostgreSQL: a scheduler killed mid-fit or frozen mid-step, the worker driving the fit killed
(nothing of the abandoned run may keep running or holding memory), another worker killed
(named), and two runs of one model with a champion on one cluster at once (keys unique per
run). Each run must fail once, naming the setting or the worker and the address, and leave
the model free and its champion in place."""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from retrain.adapters import demo_data
from retrain.adapters.dask_engine import DaskEngine
from retrain.adapters.postgres_partitions import Database
from retrain.classifiers import default_registry
from retrain.classifiers.estimators import xgboost_hist
from retrain.config import Secret
from retrain.domain.errors import BackendError
from retrain.domain.runs import Outcome, RunStatus, Stage
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests import services
from tests.integration.conftest import AS_OF
from tests.integration.test_dask_engine import (
    SPEC,
    local_cluster,
    local_services,
    scheduler_process,
)

# bounds a time or kills processes: runs after the parallel tests, alone (Makefile, `test`)
pytestmark = pytest.mark.serial

DB = Database(Secret("postgresql+psycopg2://reader:unused@127.0.0.1:1/x"))
ROWS = 6000
SLOW = dataclasses.replace(  # a fit long enough to kill something in the middle of it
    SPEC,
    estimator=lambda: xgboost_hist(n_estimators=5000, max_depth=6, early_stopping_rounds=None),
)
ARTFAM = dataclasses.replace(  # 51 classes: its profile is over 100 kB (the 'champion' key)
    default_registry().get("ARTFAM_ROH"),
    name="ARTFAM_DASK",
    estimator=lambda: xgboost_hist(n_estimators=20, max_depth=3),
)


@pytest.fixture(scope="module")
def faults_db(pg: services.Postgres) -> services.Postgres:
    db = services.Postgres(pg.port, "dask_faults")
    pg.psql(f"CREATE DATABASE {db.database}")
    demo_data.write(create_engine(db.superuser_url), demo_data.generate(ROWS, 13, AS_OF))
    db.grant_reader()
    return db


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with local_cluster() as running:
        yield running


def on_dask(db: services.Postgres, address: str, home: Path, spec=SPEC, **env: str):
    env = {"TRAINING_MAX_ROWS": "3000", "DASK_PARTITION_ROWS": "1500", **env}
    return local_services(
        db, home, spec, TRAINING_ENGINE="dask", DASK_SCHEDULER_ADDRESS=address, **env
    )[1]


def champion_first(db: services.Postgres, home: Path, spec=SPEC) -> int:
    """v1 of ``spec.name``, trained in this process (quick), promoted."""
    quick = dataclasses.replace(spec, estimator=lambda: xgboost_hist(n_estimators=10))
    _, svc = local_services(db, home, quick, TRAINING_MAX_ROWS="3000")
    record = execute_run(svc, start_runs(svc, [spec.name], trigger="test").runs[0].run_id)
    assert record.outcome is Outcome.PROMOTED, record.error
    return record.version


def when(
    check: Callable[[], bool], seconds: float, what: str, why: Callable[[], str] = str
) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what} {why()}")
        time.sleep(0.1)


class Background(threading.Thread):
    """A daemon thread whose failure its ``join`` raises (a killer that never found its
    moment fails the test as such, not as a run that was never interrupted)."""

    def __init__(self, fn: Callable[[], None]) -> None:
        super().__init__(daemon=True)
        self.fn, self.error = fn, None

    def run(self) -> None:
        try:
            self.fn()
        except BaseException as exc:  # handed to join()
            self.error = exc

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self.error is not None:
            raise self.error


def in_background(fn: Callable[[], None]) -> Background:
    thread = Background(fn)
    thread.start()
    return thread


def assert_free_with_champion(svc, name: str, run_id: str, champion: int) -> None:
    assert svc.models.champion(name).version == champion
    assert svc.models.versions(name) == [champion]  # nothing half-trained was published
    again = start_runs(svc, [name], trigger="test")  # the model is free: no 409
    assert not again.conflicts and again.runs[0].run_id != run_id


def test_a_scheduler_killed_mid_fit_fails_the_run_once_and_frees_the_model(faults_db, tmp_path):
    champion = champion_first(faults_db, tmp_path, SLOW)
    with scheduler_process(workers=2) as (address, scheduler):
        svc = on_dask(faults_db, address, tmp_path, SLOW, DASK_CONNECT_TIMEOUT_S="3")
        record = start_runs(svc, [SLOW.name], trigger="test").runs[0]
        killed: list[float] = []

        def kill_the_scheduler_during_the_fit() -> None:
            when(lambda: svc.runs.get(record.run_id).stage == Stage.FIT, 60, "the fit")
            time.sleep(1.5)
            scheduler.kill()
            killed.append(time.monotonic())

        killer = in_background(kill_the_scheduler_during_the_fit)
        failed = execute_run(svc, record.run_id, final_attempt=True)
        ended = time.monotonic()
        killer.join()
    assert killed and ended - killed[0] < 10, "the run noticed the scheduler's end at once"
    assert failed.status is RunStatus.FAILED and failed.attempts == 1
    assert failed.error["stage"] == "fit" and failed.error["type"] == "BackendError"
    assert failed.error["message"].startswith(
        f"lost the connection to the Dask scheduler {address} while fitting XGBoost"
    ), failed.error
    assert services.READER_PASSWORD not in failed.error["message"]
    assert_free_with_champion(svc, SLOW.name, record.run_id, champion)


def test_a_scheduler_that_stops_answering_mid_step_fails_the_run_within_its_bound(
    faults_db, tmp_path
):
    """SIGSTOP: the scheduler's port still accepts connections, nothing answers (a deaf
    scheduler after the connect). No workers: the partitions' reads wait for one."""
    champion = champion_first(faults_db, tmp_path)
    with scheduler_process(workers=0) as (address, scheduler):
        svc = on_dask(faults_db, address, tmp_path, DASK_CONNECT_TIMEOUT_S="2")
        engine = svc.engine
        assert isinstance(engine, DaskEngine)
        record = start_runs(svc, [SPEC.name], trigger="test").runs[0]
        frozen: list[float] = []

        def freeze_once_the_reads_are_submitted() -> None:
            when(lambda: bool(engine.dask._client and engine.dask._client.futures), 60, "the reads")
            os.kill(scheduler.pid, signal.SIGSTOP)
            frozen.append(time.monotonic())

        freezer = in_background(freeze_once_the_reads_are_submitted)
        failed = execute_run(svc, record.run_id, final_attempt=True)
        ended = time.monotonic()
        freezer.join()
    assert frozen and ended - frozen[0] < 10  # WATCH_S + DASK_CONNECT_TIMEOUT_S + margin
    assert failed.status is RunStatus.FAILED and failed.error["stage"] == "load"
    assert failed.error["message"] == (
        f"the Dask scheduler {address} did not answer (whether it is still there) within 2 s "
        "(DASK_CONNECT_TIMEOUT_S)"
    )
    assert_free_with_champion(svc, SPEC.name, record.run_id, champion)


def _ring_formed(client) -> bool:
    """Every worker boosts: a task of each is inside XGBoost's Booster.update."""
    stacks = client.call_stack()
    return len(stacks) == len(client.scheduler_info()["workers"]) and all(
        any(
            "xgboost" in line and "in update" in line
            for frames in tasks.values()
            for line in frames
        )
        for tasks in stacks.values()
    )


def _fit_driver(client) -> str | None:
    """The worker running the task that drives the fit, once every worker trains."""
    processing = client.processing()
    drivers = [w for w, keys in processing.items() if any(str(k).startswith("fit-") for k in keys)]
    if drivers and all(processing.values()):
        return drivers[0]
    return None


@pytest.mark.parametrize("victim", ["driver", "peer"])
def test_a_worker_killed_mid_fit_is_named_and_nothing_of_the_run_stays(victim, faults_db, tmp_path):
    """Issue 28.8: killing the worker that drives the fit left the scheduler re-running the
    fit on the survivor, with the dead run's data (585 MB vs 313 MB); killing the other one
    failed the run with XGBoost's words, cut to one line, naming no worker. The workers have
    a nanny (it restarts the killed one, on another address, as on AKS)."""
    from distributed import Client

    with scheduler_process(workers=2, nanny=True) as (address, scheduler):
        svc = on_dask(faults_db, address, tmp_path, SLOW)
        record = start_runs(svc, [SLOW.name], trigger="test").runs[0]
        with Client(address, timeout=30) as client:
            pids = client.run(os.getpid)
            killed: list[str] = []

            def kill_one_worker_during_the_fit() -> None:
                when(lambda: svc.runs.get(record.run_id).stage == Stage.FIT, 60, "the fit")
                when(lambda: _fit_driver(client) is not None, 60, "every worker training")
                # the ring has formed: every member joined it and trains (a member killed
                # before then leaves the others waiting in XGBoost's bootstrap instead)
                when(lambda: _ring_formed(client), 60, "XGBoost's ring on every worker")
                time.sleep(1)
                driver = _fit_driver(client) or ""
                target = driver if victim == "driver" else next(w for w in pids if w != driver)
                os.kill(pids[target], signal.SIGKILL)
                killed.append(target)

            killer = in_background(kill_one_worker_during_the_fit)
            with pytest.raises(BackendError) as info:
                execute_run(svc, record.run_id, final_attempt=False)
            killer.join()
            assert killed
            if scheduler.poll() is not None:
                # XGBoost 3.2's tracker (on the scheduler) may abort its process when a ring
                # member dies: the run then names the lost scheduler (the test above)
                assert str(info.value).startswith("lost the connection to the Dask scheduler")
                pytest.skip("XGBoost's tracker ended the scheduler process (library abort)")
            assert str(info.value).startswith(
                f"Dask worker {killed[0]} left the cluster during the fit"
            ), info.value
            assert svc.runs.get(record.run_id).error["stage"] == "fit"
            assert svc.models.versions(SLOW.name) == []

            # nothing of the abandoned run runs or stays anywhere (the exception above
            # still holds the run's futures: released all the same), and nothing starts
            # again (the fit is not re-run on the survivor)
            def left_behind() -> str:
                tasks = client.run_on_scheduler(
                    lambda dask_scheduler: {
                        str(k): t.state for k, t in dask_scheduler.tasks.items()
                    }
                )
                held = client.run(
                    lambda dask_worker: (len(dask_worker.data), len(dask_worker.state.executing)),
                    on_error="return",
                )
                busy = {w: n for w, n in held.items() if isinstance(n, tuple) and any(n)}
                return (
                    f"scheduler: {tasks}, workers (keys, executing): {busy}"
                    if tasks or busy
                    else ""
                )

            try:
                when(lambda: not left_behind(), 15, "the cluster lets go of the run", left_behind)
                time.sleep(2)
                assert not left_behind(), left_behind()
            except OSError:
                if scheduler.poll() is None:
                    raise
                # the same library abort, a moment after the run failed
                pytest.skip("XGBoost's tracker ended the scheduler process (library abort)")


def test_two_runs_of_one_model_with_a_champion_share_a_cluster_at_once(
    faults_db, cluster, tmp_path
):
    """Issue 28.8: with a champion, ARTFAM_ROH's runs failed or hung in validation with
    AssertionError(<TaskState 'champion' processing>): Client.map stores a keyword argument
    whose (sampled) dask sizeof is over 100 kB under the argument's name, a key that every
    run's map shared. Two stores (two apps' worth of runs), one engine and one client (one
    app process), one cluster. (Whether sizeof samples the champion's profile over 100 kB
    varies from run to run; the next test pins the rule itself.)"""
    homes = [tmp_path / "a", tmp_path / "b"]
    every_row = {"TRAINING_MAX_ROWS": "", "DASK_PARTITION_ROWS": "2000"}
    svcs = [
        on_dask(faults_db, cluster.scheduler_address, home, ARTFAM, **every_row) for home in homes
    ]
    svcs[1] = dataclasses.replace(svcs[1], engine=svcs[0].engine)
    for svc in svcs:
        first = execute_run(svc, start_runs(svc, [ARTFAM.name], trigger="test").runs[0].run_id)
        assert first.outcome is Outcome.PROMOTED, first.error

    records = [start_runs(svc, [ARTFAM.name], trigger="test").runs[0] for svc in svcs]
    done: dict[int, Any] = {}
    threads = [
        in_background(lambda i=i: done.__setitem__(i, execute_run(svcs[i], records[i].run_id)))
        for i in range(2)
    ]
    for thread in threads:
        thread.join(120)
    for i in range(2):
        assert done[i].status is RunStatus.SUCCEEDED, done[i].error
        card = svcs[i].models.card(ARTFAM.name, 2)
        assert card["gate"]["champion_version"] == 1 and card["gate"]["champion"] is not None


def rows_of(part: list[int], champion: dict[str, list[int]]) -> int:
    return len(part) + len(champion["values"])


def test_large_keyword_arguments_travel_under_keys_of_their_own(cluster):
    """Two runs map with a keyword argument far over 100 kB at once: each gets its own
    value, and no task is named after the argument."""
    from retrain.adapters.dask_cluster import Run

    engine = DaskEngine(None, DB, cluster.scheduler_address)
    runs = [Run("M"), Run("M")]
    parts = [engine.dask.scatter(run, [1, 2, 3], broadcast=False) for run in runs]
    mapped = [
        engine.dask.map(run, rows_of, [part], champion={"values": list(range(n))})
        for run, part, n in zip(runs, parts, (50_000, 60_000), strict=True)
    ]
    client = engine.dask.client()
    keys = client.run_on_scheduler(lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks])
    assert "champion" not in keys
    assert all(runs[0].token in f.key for f in mapped[0])
    assert [engine.dask.gather(run, m) for run, m in zip(runs, mapped, strict=True)] == [
        [50_003],
        [60_003],
    ]
