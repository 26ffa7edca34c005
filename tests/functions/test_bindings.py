"""What the Functions host reads from the app: routes, methods, auth, schedule, queues."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from retrain.config import Settings
from tests.functions.conftest import FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]


def bindings() -> dict[str, list[dict]]:
    return {
        fn.get_function_name(): json.loads(
            json.dumps(fn.get_bindings_dict()["bindings"], default=str)
        )
        for fn in FUNCTIONS.values()
    }


def test_http_routes_methods_and_auth_levels():
    expected = {
        "start_training": ("training", ["POST"]),
        "model_training_trigger": ("model_training_trigger", ["POST"]),
        "get_run": ("training/runs/{run_id}", ["GET"]),
        "list_runs": ("training/runs", ["GET"]),
        "training_statistics": ("training/statistics", ["GET"]),
        "list_models": ("models", ["GET"]),
        "list_versions": ("models/{name}/versions", ["GET"]),
        "get_version": ("models/{name}/versions/{version}", ["GET"]),
        "set_champion": ("models/{name}/champion", ["POST"]),
        "champion_history": ("models/{name}/history", ["GET"]),
        "decide_approval": ("models/{name}/versions/{version}/approval", ["POST"]),
        "slack_interactions": ("slack/interactions", ["POST"]),
        "post_feedback": ("models/{name}/feedback", ["POST"]),
        "feedback_summary": ("models/{name}/feedback", ["GET"]),
        "health": ("health", ["GET"]),
        "console_page": ("console", ["GET"]),
        "console_asset": ("console/assets/{name}", ["GET"]),
    }
    found = {}
    for name, items in bindings().items():
        for b in items:
            if b["type"] == "httpTrigger":
                methods = [m.split(".")[-1] for m in b["methods"]]
                found[name] = (b["route"], methods, b["authLevel"].split(".")[-1])
    assert {n: v[:2] for n, v in found.items()} == expected
    # they reveal no data; Slack's interactions are authenticated by their signature instead
    anonymous = {"health", "console_page", "console_asset", "slack_interactions"}
    assert {n for n, v in found.items() if v[2] == "ANONYMOUS"} == anonymous
    assert {v[2] for n, v in found.items() if n not in anonymous} == {"FUNCTION"}


def test_queue_and_timer_bindings():
    b = bindings()
    for name, schedule in (
        ("monthly_retraining", "%TRAINING_SCHEDULE%"),
        ("champion_decay", "%DECAY_SCHEDULE%"),
    ):
        timer = next(x for x in b[name] if x["type"] == "timerTrigger")
        assert timer["schedule"] == schedule
        assert timer["useMonitor"] is True and timer["runOnStartup"] is False
    for name, queue in (
        ("train_model", "training-jobs"),
        ("training_gave_up", "training-jobs-poison"),
    ):
        (trigger,) = b[name]
        assert trigger["type"] == "queueTrigger" and trigger["direction"].endswith("IN")
        assert (trigger["queueName"], trigger["connection"]) == (queue, "AzureWebJobsStorage")
    outputs = {
        name: (x["queueName"], x["connection"], x["direction"].split(".")[-1])
        for name, items in b.items()
        for x in items
        if x["type"] == "queue"
    }
    assert outputs == {
        name: ("training-jobs", "AzureWebJobsStorage", "OUT")
        for name in (
            "start_training",
            "model_training_trigger",
            "monthly_retraining",
            "champion_decay",
        )
    }


def test_host_json_retries_agree_with_the_settings():
    host = json.loads((ROOT / "host.json").read_text())
    queues = host["extensions"]["queues"]
    # the runner's final attempt is the host's last dequeue: they must be the same number
    assert queues["maxDequeueCount"] == Settings.from_environ({}).max_attempts == 3
    assert (queues["batchSize"], queues["newBatchThreshold"]) == (1, 0)  # one run at a time
    assert host["version"] == "2.0" and host["functionTimeout"] == "02:00:00"
    assert host["extensionBundle"]["version"] == "[4.*, 5.0.0)"


def test_the_settings_template_is_valid_and_agrees_with_host_json():
    template = json.loads((ROOT / "local.settings.json.template").read_text())["Values"]
    settings = Settings.from_environ(template)  # raises ConfigError naming any bad value
    host = json.loads((ROOT / "host.json").read_text())
    assert settings.max_attempts == host["extensions"]["queues"]["maxDequeueCount"]
    assert settings.training_schedule == "0 0 3 1 * *"
    assert settings.decay_schedule == "0 0 3 28 * *"  # the last day every month has
    assert template["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert template["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"


def test_every_setting_the_app_reads_is_in_the_template():
    import re

    source = (ROOT / "src/retrain/config.py").read_text()
    read = set(re.findall(r'reader\.\w+\(\s*"([A-Z_]+)"', source))
    read |= {"TRAINING_DB_URL", "POSTGRES_CONN_STR", "SLACK_TOKEN"}
    template = json.loads((ROOT / "local.settings.json.template").read_text())["Values"]
    assert read - set(template) == set()


def test_importing_the_app_loads_no_ml_library_and_reads_no_setting():
    code = (
        "import sys, function_app; heavy = {'pandas', 'sklearn', 'xgboost', 'scipy'} & "
        "set(sys.modules); assert not heavy, heavy; print(len(function_app.app.get_functions()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        # settings that would fail at the first invocation: import and indexing read none
        env={
            "PATH": "/usr/bin:/bin",
            "LOG_FORMAT": "xml",
            "TRAINING_DB_URL": "postgresql+psycopg2://nobody@192.0.2.1:5432/unreachable",
        },
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(len(FUNCTIONS)) == "21"
