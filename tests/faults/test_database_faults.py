"""Promise 9 (and 6's retry side) on real PostgreSQL: a network that cuts the connection in
the middle of the training query's result, and a database port that accepts and never
answers. Both are connection-class faults: the queue retries them, the last attempt fails
the run with a message that names the model and no row data, and nothing is published."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import create_engine

from retrain.adapters.sql_source import SqlSource
from retrain.domain.runs import RunStatus
from tests.faults.netfaults import CuttingProxy, deaf_port
from tests.faults.world import TALLY
from tests.functions.conftest import build_services, deliver, http, quick_registry

# bounds a time or kills processes: runs after the parallel tests, alone (Makefile, `test`)
pytestmark = pytest.mark.serial


@pytest.fixture
def proxied(pg, tmp_path, use):
    """The app on quick seed classifiers, reading PostgreSQL through a cutting proxy."""
    proxy = CuttingProxy(pg.port)
    svc, settings = build_services(tmp_path, registry=quick_registry())
    url = pg.reader_url.replace(f":{pg.port}/", f":{proxy.port}/")
    svc.source = SqlSource(create_engine(url, connect_args={"connect_timeout": 5}), 30)
    svc.lease_s, svc.heartbeat_s = 1.0, 0.25
    use(svc, settings)
    yield svc, proxy
    proxy.close()


def _start(model: str) -> tuple[str, list[str]]:
    response, msgs = http("start_training", "POST", "training", {"models": [model]})
    assert response.status == 202
    return response.json["runs"][0]["run_id"], msgs.value


def test_a_connection_cut_mid_result_is_retried_and_then_trains_once(proxied):
    svc, proxy = proxied
    run_id, message = _start("ARTFAM_ROH")
    proxy.cut_after(20_000)  # the result is ~150 kB: it breaks off in the middle
    with pytest.raises(Exception):  # noqa: B017 - the host retries whatever it raises
        deliver(message, dequeue_count=1)
    handed_back = svc.runs.get(run_id)
    assert handed_back.status is RunStatus.QUEUED and handed_back.stage == "load"
    assert handed_back.error["type"] == "BackendError"
    assert "ARTFAM_ROH" in handed_back.error["message"]
    assert proxy.cuts >= 1 and svc.models.versions("ARTFAM_ROH") == []
    proxy.cut_after(None)
    time.sleep(svc.lease_s)
    deliver(message, dequeue_count=2)
    record = svc.runs.get(run_id)
    assert record.status is RunStatus.SUCCEEDED and record.attempts == 2
    assert svc.models.versions("ARTFAM_ROH") == [1]
    TALLY.add(database_cuts=proxy.cuts)


def test_a_cut_on_every_attempt_fails_the_run_once_on_the_last(proxied):
    svc, proxy = proxied
    run_id, message = _start("KLASSE_ROH")
    proxy.cut_after(5_000)
    for attempt in (1, 2):
        with pytest.raises(Exception):  # noqa: B017
            deliver(message, dequeue_count=attempt)
        time.sleep(svc.lease_s)
    deliver(message, dequeue_count=3)  # the last: fails the run and is acknowledged
    record = svc.runs.get(run_id)
    assert (record.status, record.attempts, record.stage) == ("failed", 3, "load")
    assert record.error["message"].startswith("training query of KLASSE_ROH failed")
    assert svc.models.versions("KLASSE_ROH") == [] and svc.models.champion("KLASSE_ROH") is None
    assert [r.run_id for r in svc.notifier.runs] == [run_id]
    assert svc.runs.active("KLASSE_ROH") is None
    TALLY.add(database_cuts=proxy.cuts)


def test_a_database_that_never_answers_is_given_up_on_in_time(tmp_path, use):
    svc, settings = build_services(tmp_path, registry=quick_registry())
    with deaf_port() as port:
        url = f"postgresql+psycopg2://reader:pw@127.0.0.1:{port}/training"
        svc.source = SqlSource(create_engine(url, connect_args={"connect_timeout": 2}), 30)
        use(svc, settings)
        run_id, message = _start("KLASSE_CORE")
        started = time.monotonic()
        deliver(message, dequeue_count=3)
        took = time.monotonic() - started
    record = svc.runs.get(run_id)
    assert record.status is RunStatus.FAILED and record.error["type"] == "BackendError"
    assert took < 20, took  # the connect timeout, not the query timeout
    assert "pw" not in json.dumps(record.to_dict())
    TALLY.add(database_deaf=1)
