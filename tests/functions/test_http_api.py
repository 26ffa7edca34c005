"""The HTTP API end to end in-process: start, queue, train, read; errors say what to fix."""

from __future__ import annotations

import json
import threading

import pytest

from retrain.entrypoints import app_services
from tests.functions.conftest import deliver, http


def start(models, **extra):
    return http("start_training", "POST", "training", {"models": models, **extra})


def test_post_queues_then_the_worker_trains_and_get_shows_it(app):
    response, msgs = start(["KLASSE_ROH"], reason="new plant data")
    assert response.status == 202
    run = response.json["runs"][0]
    assert run["status"] == "queued"
    assert response.headers["Location"] == run["status_url"]
    assert run["status_url"].startswith("https://app.example.net/api/training/runs/")
    assert response.headers["Retry-After"] == "30"
    assert [json.loads(m) for m in msgs.value] == [{"run_id": run["run_id"]}]

    deliver(msgs.value)

    status, _ = http("get_run", route={"run_id": run["run_id"]})
    assert status.json["status"] == "succeeded" and status.json["version"] == 1
    assert status.json["reason"] == "new plant data"
    versions, _ = http("list_versions", route={"name": "KLASSE_ROH"})
    assert [v["version"] for v in versions.json["versions"]] == [1]
    card, _ = http("get_version", route={"name": "KLASSE_ROH", "version": "1"})
    assert card.json["run_id"] == run["run_id"] and card.json["status"] == "promoted"
    models, _ = http("list_models")
    klasse = next(m for m in models.json["models"] if m["name"] == "KLASSE_ROH")
    assert klasse["champion_version"] == 1
    runs, _ = http("list_runs", params={"model": "KLASSE_ROH", "status": "succeeded"})
    assert [r["run_id"] for r in runs.json["runs"]] == [run["run_id"]]


def test_the_original_route_starts_one_model(app):
    response, msgs = http(
        "model_training_trigger", "POST", "model_training_trigger", {"model_name": "KLASSE_CORE"}
    )
    assert response.status == 202 and response.json["runs"][0]["model"] == "KLASSE_CORE"
    assert len(msgs.value) == 1


def test_a_model_already_queued_answers_409_with_its_run(app):
    first, _ = start(["KLASSE_ROH"])
    second, msgs = start(["KLASSE_ROH"])
    assert second.status == 409
    assert second.json["error"]["run_id"] == first.json["runs"][0]["run_id"]
    assert msgs.value is None


def test_of_two_simultaneous_posts_exactly_one_starts_a_run(app):
    barrier = threading.Barrier(2)
    results = []

    def post():
        barrier.wait()
        results.append(start(["KLASSE_CORE"])[0].status)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [202, 409]
    assert len(app.runs.list(model="KLASSE_CORE")) == 1


@pytest.mark.parametrize(
    ("kwargs", "status", "says"),
    [
        ({"raw": b"{not json"}, 400, "not valid JSON"),
        (
            {"body": {"models": ["KLASSE_ROH"]}, "content_type": "text/plain"},
            415,
            "Content-Type: application/json",
        ),
        ({"body": {"models": "some"}}, 400, '"all" or a list'),
        ({"body": {"models": [1, 2]}}, 400, "as strings"),
        ({"body": {"models": ["KLASSE_ROH"], "dry_run": "yes"}}, 400, "'dry_run' must be bool"),
        ({"body": {"models": ["KLASSE_ROH"], "priority": 1}}, 400, "unknown field(s) priority"),
        ({"body": {}}, 400, "'models' is required"),
        ({"body": [1]}, 400, "JSON object"),
        ({"raw": b'{"models": "' + b"x" * 70_000 + b'"}'}, 413, "limit is 65536"),
        ({"body": {"models": ["NOPE"]}}, 404, "known models: ARTFAM_ROH, KLASSE_CORE, KLASSE_ROH"),
    ],
)
def test_bad_requests_say_what_to_fix(app, kwargs, status, says):
    response, msgs = http("start_training", "POST", "training", **kwargs)
    assert response.status == status
    assert says in response.json["error"]["message"]
    assert "Traceback" not in response.text
    assert msgs.value is None
    assert app.runs.list() == []


def test_read_endpoints_validate_their_input(app):
    assert http("get_run", route={"run_id": "../etc"})[0].status == 404
    assert http("get_version", route={"name": "KLASSE_ROH", "version": "x"})[0].status == 400
    assert http("get_version", route={"name": "KLASSE_ROH", "version": "7"})[0].status == 404
    assert http("list_runs", params={"status": "done"})[0].status == 400
    assert http("list_runs", params={"limit": "0"})[0].status == 400
    unknown = http("list_versions", route={"name": "nope"})[0]
    assert unknown.status == 404 and unknown.json["error"]["known_models"]


def test_dry_run_over_http_returns_the_profile_and_publishes_nothing(app):
    response, msgs = start(["KLASSE_CORE"], dry_run=True)
    assert response.json["runs"][0]["dry_run"] is True
    deliver(msgs.value)
    run, _ = http("get_run", route={"run_id": response.json["runs"][0]["run_id"]})
    assert run.json["outcome"] == "validated"
    assert run.json["summary"]["profile"]["rows"] > 2000
    assert app.models.versions("KLASSE_CORE") == []


def test_rollback_over_http_is_recorded_and_a_tampered_version_is_refused(app):
    for _ in range(2):
        _, msgs = start(["KLASSE_ROH"])
        deliver(msgs.value)
    moved, _ = http(
        "set_champion",
        "POST",
        route={"name": "KLASSE_ROH"},
        body={"version": 1, "reason": "v2 misroutes plant P04"},
    )
    assert moved.status == 200 and moved.json["version"] == 1
    history, _ = http("champion_history", route={"name": "KLASSE_ROH"})
    last = history.json["history"][-1]
    assert (last["previous_version"], last["version"], last["actor"]) == (2, 1, "http:http")

    app.models.store.root.joinpath("KLASSE_ROH/versions/2/model.skops").write_bytes(b"junk")
    refused, _ = http(
        "set_champion",
        "POST",
        route={"name": "KLASSE_ROH"},
        body={"version": 2, "reason": "try again"},
    )
    assert refused.status == 422 and "cannot become champion" in refused.json["error"]["message"]
    assert app.models.champion("KLASSE_ROH").version == 1
    bad, _ = http("set_champion", "POST", route={"name": "KLASSE_ROH"}, body={"version": "2"})
    assert bad.status == 400


def test_health_is_anonymous_and_reveals_no_secret(app):
    ok, _ = http("health")
    assert ok.status == 200 and ok.json == {
        "status": "ok",
        "checks": {"training_db": "ok", "model_store": "ok", "run_store": "ok"},
    }


def test_health_reports_an_unreachable_database_without_its_url(tmp_path):
    from tests.functions.conftest import build_services

    svc, settings = build_services(tmp_path)
    from sqlalchemy import create_engine

    from retrain.adapters.sql_source import SqlSource

    url = "postgresql+psycopg2://app:s3cret-pw@127.0.0.1:1/train"
    svc.source = SqlSource(create_engine(url, connect_args={"connect_timeout": 1}))
    app_services.override(svc, settings)
    try:
        down, _ = http("health")
    finally:
        app_services.override(None)
    assert down.status == 503
    assert down.json["checks"]["training_db"] == "unavailable (BackendError)"
    assert "s3cret" not in down.text and "127.0.0.1" not in down.text


def test_bad_settings_fail_the_first_call_naming_each(monkeypatch):
    app_services.override(None)
    monkeypatch.setenv("LOG_FORMAT", "xml")
    monkeypatch.setenv("TRAINING_MAX_ATTEMPTS", "zero")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-planted")
    response, _ = http("list_models")
    assert response.status == 500
    message = response.json["error"]["message"]
    assert "LOG_FORMAT" in message and "TRAINING_MAX_ATTEMPTS" in message
    assert "xoxb-planted" not in response.text
    app_services.override(None)
