"""`retrain console`'s server without a browser: the app's own routes and handlers, the
function key checked, queue messages run by the app's queue functions with retries."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from retrain.entrypoints.local_queue import LocalQueue
from retrain.entrypoints.local_server import LocalServer
from tests import strict


def call(server, path, key=None, method="GET", body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{server.url}{path}", data=data, method=method)
    if key:
        request.add_header("x-functions-key", key)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_routes_come_from_the_app_and_keys_are_checked(console):
    server, _ = console
    names = {r.name for r in server.routes}
    assert {"list_models", "start_training", "health", "console_page", "console_asset"} <= names
    assert call(server, "/api/health")[0] == 200  # anonymous, as in Azure
    assert call(server, "/api/console")[0] == 200
    assert call(server, "/api/models")[:1] == (401,)
    assert call(server, "/api/models", key="x" * 43)[0] == 401
    status, headers, body = call(server, "/api/models", key=server.key)
    assert status == 200 and headers["content-type"] == "application/json"
    assert [m["name"] for m in strict.loads(body)["models"]] == [
        "ARTFAM_ROH",
        "KLASSE_CORE",
        "KLASSE_ROH",
    ]
    assert call(server, f"/api/models?code={server.key}")[0] == 200  # as the host accepts it
    assert call(server, "/api/models/KLASSE_ROH/versions/1", key=server.key)[0] == 404
    assert call(server, "/api/nothing/here", key=server.key)[0] == 404
    assert call(server, "/elsewhere")[0] == 404
    assert call(server, "/api/models", key=server.key, method="DELETE")[0] == 405


def test_a_started_run_waits_in_the_queue_until_the_worker_trains_it(console):
    server, svc = console
    status, headers, body = call(
        server, "/api/training", server.key, "POST", {"models": ["KLASSE_CORE"]}
    )
    assert status == 202
    (run,) = strict.loads(body)["runs"]
    assert headers["Location"] == f"{server.url}/api/training/runs/{run['run_id']}"
    assert len(server.queue) == 1 and svc.runs.get(run["run_id"]).status == "queued"
    assert server.queue.run_pending() == 1
    record = strict.loads(call(server, f"/api/training/runs/{run['run_id']}", server.key)[2])
    assert (record["status"], record["version"]) == ("succeeded", 1)
    too_big = {"models": ["KLASSE_CORE"], "reason": "x" * 2_000_000}
    assert call(server, "/api/training", server.key, "POST", too_big)[0] == 413


def test_the_queue_retries_then_hands_the_message_to_the_poison_queue():
    seen = []

    def flaky(msg):
        seen.append(("work", msg.dequeue_count, msg.get_body()))
        raise RuntimeError("transient")

    def poison(msg):
        seen.append(("poison", msg.dequeue_count, msg.get_body()))

    queue = LocalQueue({"jobs": flaky, "jobs-poison": poison}, max_dequeue=3, retry_after_s=0)
    queue.put("jobs", ['{"run_id": "r"}'])
    assert queue.run_pending() == 4
    assert seen == [
        ("work", 1, b'{"run_id": "r"}'),
        ("work", 2, b'{"run_id": "r"}'),
        ("work", 3, b'{"run_id": "r"}'),
        ("poison", 1, b'{"run_id": "r"}'),
    ]
    with pytest.raises(ValueError, match="no function listens on queue 'other'"):
        queue.put("other", "x")


def test_the_background_worker_trains_without_being_asked(console):
    server, svc = console
    server.queue.start()
    status, _, body = call(server, "/api/training", server.key, "POST", {"models": ["KLASSE_ROH"]})
    assert status == 202
    run_id = strict.loads(body)["runs"][0]["run_id"]
    deadline = time.monotonic() + 60
    while svc.runs.get(run_id).status != "succeeded" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert svc.runs.get(run_id).status == "succeeded"


def test_a_given_key_is_used_and_a_generated_one_is_long(console):
    server, _ = console
    assert len(server.key) >= 40
    with LocalServer("127.0.0.1", 0, key="fixed-key-for-this-test") as other:
        other.start(worker=False)
        assert call(other, "/api/models", key="fixed-key-for-this-test")[0] == 200
        assert call(other, "/api/models", key=server.key)[0] == 401
