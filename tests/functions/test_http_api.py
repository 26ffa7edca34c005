"""The HTTP API in-process: start, queue, train, read, promote; errors say what to fix."""

from __future__ import annotations

import json
import threading

import pytest

from retrain.service.rate_limit import StartLimits
from tests.functions.conftest import build_services, deliver, http


def start(models, **extra):
    return http("start_training", "POST", "training", {"models": models, **extra})


def test_post_queues_then_the_worker_trains_and_get_shows_it(app):
    """End to end on a real seed classifier (XGBoost), through the functions' objects."""
    response, msgs = start(["KLASSE_ROH"], reason="new plant data")
    assert response.status == 202
    (run,) = response.json["runs"]
    assert (run["model"], run["status"], run["dry_run"]) == ("KLASSE_ROH", "queued", False)
    assert run["status_url"] == f"https://app.example.net/api/training/runs/{run['run_id']}"
    assert response.headers["Location"] == run["status_url"]
    assert response.headers["Retry-After"] == "30"
    assert [json.loads(m) for m in msgs.value] == [{"run_id": run["run_id"]}]
    queued, _ = http("get_run", route={"run_id": run["run_id"]})
    assert (queued.json["status"], queued.json["trigger"]) == ("queued", "http")

    deliver(msgs.value)

    status, _ = http("get_run", route={"run_id": run["run_id"]})
    assert status.json["status"] == "succeeded" and status.json["version"] == 1
    assert status.json["outcome"] == "promoted" and status.json["reason"] == "new plant data"
    versions, _ = http("list_versions", route={"name": "KLASSE_ROH"})
    assert [(v["version"], v["champion"]) for v in versions.json["versions"]] == [(1, True)]
    card, _ = http("get_version", route={"name": "KLASSE_ROH", "version": "1"})
    assert card.json["run_id"] == run["run_id"] and card.json["status"] == "promoted"
    models, _ = http("list_models")
    klasse = next(m for m in models.json["models"] if m["name"] == "KLASSE_ROH")
    assert klasse["champion_version"] == 1 and klasse["active_run"] is None
    assert klasse["champion_score"] == card.json["metrics"]["balanced_accuracy"]
    runs, _ = http("list_runs", params={"model": "KLASSE_ROH", "status": "succeeded"})
    assert [r["run_id"] for r in runs.json["runs"]] == [run["run_id"]]


class FewRows:
    """The source with only 10 rows of one model: that model's runs fail validation."""

    def __init__(self, source, model):
        self.source, self.model = source, model

    def load(self, spec, *args, **kwargs):
        frame = self.source.load(spec, *args, **kwargs)
        return frame.head(10) if spec.name == self.model else frame

    def __getattr__(self, name):
        return getattr(self.source, name)


def test_the_models_list_shows_each_models_health_failing_first(quick_app):
    """Issue 25.3: status, reasons, drift findings, last failure and the champion's newest
    score on new data in every row; failing (decaying, drifting) models sort first."""
    for model in ("KLASSE_ROH", "KLASSE_CORE"):
        deliver(start([model])[1].value)
    healthy = quick_app.source
    quick_app.source = FewRows(healthy, "KLASSE_CORE")
    try:
        response, msgs = start(["KLASSE_CORE"], reason="new month")
        deliver(msgs.value)
    finally:
        quick_app.source = healthy
    failed = response.json["runs"][0]["run_id"]
    models, _ = http("list_models")
    assert models.status == 200
    listed = models.json["models"]
    assert [(m["name"], m["status"]) for m in listed] == [
        ("KLASSE_CORE", "failing"),
        ("ARTFAM_ROH", "new"),
        ("KLASSE_ROH", "healthy"),
    ]
    core, artfam, roh = listed
    assert core["last_failure"]["run_id"] == failed
    assert core["last_failure"]["stage"] == "validate"
    assert "min_rows" in core["last_failure"]["message"]
    # the failed run's own record (not last_run: two runs started within one second of the
    # pinned clock share their id's second, and last_run orders by id)
    assert core["last_failure"]["finished_at"] == quick_app.runs.get(failed).finished_at
    assert core["reasons"][0].startswith(f"run {failed} failed in validate: ")
    assert core["champion_version"] == 1  # still serving: the failure is the news
    assert (artfam["reasons"], artfam["drift_findings"], artfam["last_failure"]) == (
        ["no champion yet"],
        None,
        None,
    )
    assert (roh["reasons"], roh["drift_findings"], roh["last_failure"]) == ([], 0, None)
    assert all(m["champion_new_score"] is None for m in listed)  # no decay check, no kept run


def test_all_models_start_together_and_a_busy_one_is_reported(quick_app):
    busy, _ = start(["KLASSE_CORE"])
    response, msgs = start("all")
    assert response.status == 202
    assert sorted(r["model"] for r in response.json["runs"]) == ["ARTFAM_ROH", "KLASSE_ROH"]
    (skipped,) = response.json["skipped"]
    assert skipped["active_run_id"] == busy.json["runs"][0]["run_id"]
    assert response.json["batch_id"] and len(msgs.value) == 2


def test_the_original_route_starts_one_model(quick_app):
    response, msgs = http(
        "model_training_trigger", "POST", "model_training_trigger", {"model_name": "KLASSE_CORE"}
    )
    assert response.status == 202 and response.json["runs"][0]["model"] == "KLASSE_CORE"
    assert len(msgs.value) == 1
    wrong, _ = http("model_training_trigger", "POST", body={"model_name": ["KLASSE_CORE"]})
    assert wrong.status == 400 and "'model_name' must be str" in wrong.json["error"]["message"]
    unknown, _ = http("model_training_trigger", "POST", body={"model_name": "KLASSE"})
    assert unknown.status == 404 and "KLASSE_ROH" in unknown.json["error"]["known_models"]


def test_a_model_already_queued_answers_409_with_its_run(quick_app):
    first, _ = start(["KLASSE_ROH"])
    second, msgs = start(["KLASSE_ROH"])
    assert second.status == 409
    assert second.json["error"]["code"] == "run_already_active"
    assert second.json["error"]["run_id"] == first.json["runs"][0]["run_id"]
    assert msgs.value is None
    assert len(quick_app.runs.list(model="KLASSE_ROH")) == 1


def test_of_two_simultaneous_posts_exactly_one_starts_a_run(quick_app):
    barrier = threading.Barrier(2)
    results = []

    def post():
        barrier.wait()
        response, msgs = start(["KLASSE_CORE"])
        results.append((response.status, len(msgs.value or [])))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [(202, 1), (409, 0)]
    assert len(quick_app.runs.list(model="KLASSE_CORE")) == 1


@pytest.mark.parametrize(
    ("kwargs", "status", "says"),
    [
        ({"raw": b"{not json"}, 400, "not valid JSON"),
        ({"raw": b"\xff\xfe"}, 400, "not valid JSON"),
        (
            {"body": {"models": ["KLASSE_ROH"]}, "content_type": "text/plain"},
            415,
            "Content-Type: application/json",
        ),
        ({"body": {"models": "some"}}, 400, '"all" or a list'),
        ({"body": {"models": []}}, 400, "1 to 100 model names"),
        ({"body": {"models": [1, 2]}}, 400, "as strings"),
        ({"body": {"models": ["KLASSE_ROH"], "dry_run": "yes"}}, 400, "'dry_run' must be bool"),
        ({"body": {"models": ["KLASSE_ROH"], "reason": 7}}, 400, "'reason' must be str"),
        ({"body": {"models": ["KLASSE_ROH"], "priority": 1}}, 400, "unknown field(s) priority"),
        ({"body": {}}, 400, "'models' is required"),
        ({"body": [1]}, 400, "JSON object"),
        ({"raw": b'{"models": "' + b"x" * 70_000 + b'"}'}, 413, "limit is 65536"),
        ({"body": {"models": ["NOPE"]}}, 404, "known models: ARTFAM_ROH, KLASSE_CORE, KLASSE_ROH"),
    ],
)
def test_bad_requests_say_what_to_fix(quick_app, kwargs, status, says):
    response, msgs = http("start_training", "POST", "training", **kwargs)
    assert response.status == status
    assert set(response.json) == {"error"} and response.json["error"]["code"]
    assert says in response.json["error"]["message"]
    assert "Traceback" not in response.text
    assert msgs.value is None
    assert quick_app.runs.list() == []


@pytest.mark.parametrize("value", ["-5", "0", "501", "five", "2.5", "\u0663"])
def test_the_runs_limit_is_refused_with_the_message_the_cli_gives(quick_app, value):
    """The same rule and words as `retrain runs --limit` (tests/test_cli.py)."""
    refused, _ = http("list_runs", params={"limit": value})
    assert refused.status == 400 and refused.json["error"]["code"] == "bad_request"
    message = f"limit must be a whole number from 1 to 500, not {value!r}"
    assert refused.json["error"]["message"] == message


def test_read_endpoints_validate_their_input(quick_app):
    assert http("get_run", route={"run_id": "../etc"})[0].status == 404
    assert http("get_version", route={"name": "KLASSE_ROH", "version": "x"})[0].status == 400
    missing = http("get_version", route={"name": "KLASSE_ROH", "version": "7"})[0]
    assert missing.status == 404 and missing.json["error"]["code"] == "not_found"
    assert http("list_runs", params={"status": "done"})[0].status == 400
    assert http("list_runs", params={"limit": "0"})[0].status == 400
    assert http("list_runs", params={"model": "nope"})[0].status == 404
    unknown = http("list_versions", route={"name": "nope"})[0]
    assert unknown.status == 404 and unknown.json["error"]["known_models"]
    assert http("champion_history", route={"name": "nope"})[0].status == 404


def test_dry_run_over_http_returns_the_profile_and_publishes_nothing(quick_app):
    response, msgs = start(["KLASSE_CORE"], dry_run=True)
    assert response.json["runs"][0]["dry_run"] is True
    deliver(msgs.value)
    run, _ = http("get_run", route={"run_id": response.json["runs"][0]["run_id"]})
    assert (run.json["status"], run.json["outcome"]) == ("succeeded", "validated")
    profile = run.json["summary"]["profile"]
    assert profile["rows"] > 2000 and profile["class_counts"]
    assert quick_app.models.versions("KLASSE_CORE") == []
    assert quick_app.models.champion("KLASSE_CORE") is None


def champion(version, reason="v2 misroutes plant P04", **kwargs):
    body = {"version": version, "reason": reason}
    return http("set_champion", "POST", route={"name": "KLASSE_ROH"}, body=body, **kwargs)[0]


def test_rollback_over_http_is_recorded_and_a_tampered_version_is_refused(quick_app):
    for _ in range(2):
        _, msgs = start(["KLASSE_ROH"])
        deliver(msgs.value)
    assert quick_app.models.versions("KLASSE_ROH") == [1, 2]
    assert champion(2, reason="v2 is the newest").status == 200  # whatever its gate said

    moved = champion(1, headers={"x-ms-client-principal-name": "ops@example.com"})
    assert moved.status == 200 and moved.json["version"] == 1
    history, _ = http("champion_history", route={"name": "KLASSE_ROH"})
    last = history.json["history"][-1]
    assert (last["previous_version"], last["version"]) == (2, 1)
    assert (last["actor"], last["reason"]) == ("http:ops@example.com", "v2 misroutes plant P04")

    artifact = quick_app.models.store.root / "KLASSE_ROH/versions/2/model.skops"
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    artifact.write_bytes(bytes(data))
    refused = champion(2, reason="try again")
    assert refused.status == 422 and refused.json["error"]["code"] == "promotion_refused"
    assert "cannot become champion" in refused.json["error"]["message"]
    assert quick_app.models.champion("KLASSE_ROH").version == 1
    assert len(http("champion_history", route={"name": "KLASSE_ROH"})[0].json["history"]) == len(
        history.json["history"]
    )

    assert champion("2").status == 400
    assert champion(1, reason="").status == 400  # a reason is required
    assert champion(9).status == 404
    anonymous = champion(1, reason="re-affirmed")  # a function key names no one
    assert anonymous.status == 200 and anonymous.json["actor"] == "http"


def test_health_is_anonymous_and_reveals_no_secret(quick_app):
    ok, _ = http("health")
    assert ok.status == 200 and ok.json == {
        "status": "ok",
        "checks": {"training_db": "ok", "model_store": "ok", "run_store": "ok"},
    }


def test_health_reports_an_unreachable_database_without_its_url(tmp_path, use):
    from sqlalchemy import create_engine

    from retrain.adapters.sql_source import SqlSource

    svc, settings = build_services(tmp_path)
    url = "postgresql+psycopg2://app:s3cret-pw@127.0.0.1:1/train"
    svc.source = SqlSource(create_engine(url, connect_args={"connect_timeout": 1}))
    use(svc, settings)
    down, _ = http("health")
    assert down.status == 503
    assert down.json["checks"] == {
        "training_db": "unavailable (BackendError)",
        "model_store": "ok",
        "run_store": "ok",
    }
    assert "s3cret" not in down.text and "127.0.0.1" not in down.text


def test_bad_settings_answer_500_naming_each_setting_but_no_value(monkeypatch, use):
    use(None)
    monkeypatch.setenv("LOG_FORMAT", "xml-format")
    monkeypatch.setenv("TRAINING_MAX_ATTEMPTS", "zero-attempts")
    monkeypatch.setenv("ENABLE_SLACK", "true")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-planted-token")
    response, _ = http("list_models")
    assert response.status == 500
    error = response.json["error"]
    assert error["code"] == "config_error"
    assert sorted(error["settings"]) == ["ENABLE_SLACK", "LOG_FORMAT", "TRAINING_MAX_ATTEMPTS"]
    for value in ("xml-format", "zero-attempts", "xoxb-planted"):
        assert value not in response.text
    health, _ = http("health")  # anonymous: says it is misconfigured, names nothing
    assert health.status == 503 and health.json["status"] == "misconfigured"
    assert "LOG_FORMAT" not in health.text


def test_starts_over_the_rate_limit_answer_429_with_retry_after(quick_app):
    """Issue 20.3: per model and per caller key within a window, besides the 409."""
    quick_app.start_limits = StartLimits(per_model=1, per_caller=2, window_s=3600)
    key = {"x-functions-key": "the-callers-function-key"}
    first, msgs = http(
        "start_training", "POST", "training", {"models": ["KLASSE_CORE"]}, headers=key
    )
    assert first.status == 202
    deliver(msgs.value)
    again, msgs = http(
        "start_training", "POST", "training", {"models": ["KLASSE_CORE"]}, headers=key
    )
    assert again.status == 429 and msgs.value is None
    error = again.json["error"]
    assert error["code"] == "rate_limited" and error["model"] == "KLASSE_CORE"
    assert 3500 < error["retry_after_s"] <= 3600
    assert again.headers["Retry-After"] == str(error["retry_after_s"])
    both, msgs = http(
        "start_training", "POST", "training", {"models": ["KLASSE_CORE", "KLASSE_ROH"]}, headers=key
    )
    assert both.status == 202 and [r["model"] for r in both.json["runs"]] == ["KLASSE_ROH"]
    (skipped,) = both.json["skipped"]
    assert skipped["model"] == "KLASSE_CORE" and skipped["retry_after_s"] == error["retry_after_s"]
    deliver(msgs.value)
    record, _ = http("get_run", route={"run_id": first.json["runs"][0]["run_id"]})
    assert record.json["caller"].startswith("key-")
    assert "the-callers-function-key" not in record.text + again.text + both.text
    over, _ = http("start_training", "POST", "training", {"models": "all"}, headers=key)
    assert over.status == 429 and over.json["error"]["model"] is None
    message = over.json["error"]["message"]  # the refused request counted nothing
    assert "this caller made 2 start request(s) in the last hour (limit 2)" in message
    other, _ = http(
        "start_training",
        "POST",
        "training",
        {"models": ["ARTFAM_ROH"]},
        headers={"x-functions-key": "another-key"},
    )
    assert other.status == 202


def test_a_running_run_reports_its_stage_and_fraction(quick_app):
    response, msgs = start(["KLASSE_CORE"])
    run_id = response.json["runs"][0]["run_id"]
    queued, _ = http("get_run", route={"run_id": run_id})
    assert queued.json["progress"] == {}
    deliver(msgs.value)
    done, _ = http("get_run", route={"run_id": run_id})
    assert done.json["progress"] == {"stage": "done", "fraction": 1.0}
