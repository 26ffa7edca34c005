"""Planted secrets (bot token, webhook URL, database password, storage account key) never
reach a posted payload or a log line, even when an error message quotes all of them."""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest

from retrain import bootstrap
from retrain.adapters.local_store import LocalObjectStore
from retrain.adapters.slack_notifier import slack_notifier
from retrain.domain.errors import BackendError
from retrain.domain.runs import RunStatus
from tests.fake_slack import FakeSlack
from tests.slack.conftest import QUICK, TOKEN, quick_registry, services, slack_env, train

DB_PASSWORD = "Pl4nted-Db-Passw0rd"
ACCOUNT_KEY = "PLANTEDaccountKEY0123456789abcdefXYZ+/=="
HOOK_SECRET = "planted0webhook0secret0path"
PLANTED = {
    "POSTGRES_CONN_STR": f"postgresql+psycopg2://trainer:{DB_PASSWORD}@db.internal:5432/prod",
    "TRAINING_DB_URL": "",
    "ARTIFACT_CONNECTION_STRING": (
        "DefaultEndpointsProtocol=https;AccountName=prodmodels;"
        f"AccountKey={ACCOUNT_KEY};EndpointSuffix=core.windows.net"
    ),
}


class LeakySource:
    """A driver at its worst: its error message quotes every credential it was given."""

    def __init__(self, leak: str) -> None:
        self.leak = leak

    def load(self, spec, since: date, max_rows=None, on_chunk=None):
        raise BackendError(self.leak)

    def ping(self) -> None:
        pass


def _fragments(settings) -> list[str]:
    """The secrets themselves, and their distinctive parts."""
    return [*settings.secrets(), DB_PASSWORD, ACCOUNT_KEY, HOOK_SECRET, TOKEN]


@pytest.fixture
def fake_with_secret_hook():
    with FakeSlack(TOKEN, hook=f"T0FAKE/B0FAKE/{HOOK_SECRET}") as server:
        yield server


@pytest.mark.parametrize("mode", ["bot", "webhook"])
def test_planted_secrets_never_appear_in_payloads_or_logs(
    fake_with_secret_hook, tmp_path, warnings, caplog, mode
):
    fake = fake_with_secret_hook
    env = {**slack_env(fake, tmp_path, tmp_path / "unused.db"), **PLANTED}
    env["SLACK_WEBHOOK_URL"] = fake.webhook_url
    if mode == "webhook":
        env["SLACK_BOT_TOKEN"] = ""
    settings = bootstrap.load_settings(env)
    secrets = _fragments(settings)
    db_url = settings.training_db_url.reveal()
    head = " | ".join(
        [
            f"storage {settings.artifact_connection_string.reveal()}",
            f"slack {TOKEN} {fake.webhook_url}",
            "could not connect to ",
        ]
    )
    cut_at = db_url.index(DB_PASSWORD) + 6  # the runner keeps 499 characters and adds '…'
    leak = head + "x" * (499 - len(head) - cut_at) + db_url
    svc = services(
        settings,
        quick_registry(),
        source=LeakySource(leak),
        model_store=LocalObjectStore(tmp_path / "models"),
        run_store=LocalObjectStore(tmp_path / "runs"),
    )
    caplog.set_level(logging.DEBUG)
    _, [failed] = train(svc, [QUICK], trigger="http", reason=f"retry {DB_PASSWORD}")
    assert failed.status is RunStatus.FAILED and failed.error["type"] == "BackendError"
    message = failed.error["message"]  # the leak is real, and ends inside the password
    assert ACCOUNT_KEY in message and TOKEN in message
    assert message.endswith(db_url[:cut_at] + "…")

    calls = fake.of("webhook" if mode == "webhook" else "chat.postMessage")
    assert [c.mode for c in calls] == ["ok"]
    raw, shown = calls[0].raw.decode(), json.dumps(calls[0].body, ensure_ascii=False)
    assert "*Failed in* `load` · `BackendError`" in shown and "***" in shown
    for secret in secrets:
        assert secret not in raw and secret not in shown
        assert secret[:6] not in shown  # not even the beginning left by a cut
    if mode == "bot":
        assert calls[0].headers["authorization"] == f"Bearer {TOKEN}"
    slack_logs = [w for w in warnings if "Slack" in w]
    slack_logs += [r.getMessage() for r in caplog.records if "slack" in r.name]
    assert not [s for s in secrets if any(s in line for line in slack_logs)]


def test_a_webhook_posts_one_message_per_run_and_a_summary(fake, monthly, warnings):
    settings = bootstrap.load_settings(
        {"ENABLE_SLACK": "true", "SLACK_WEBHOOK_URL": fake.webhook_url, "SLACK_TIMEOUT_S": "2"}
    )
    notifier = slack_notifier(settings)
    records = monthly.records
    assert notifier.batch_started("b1", records) is None  # nothing to thread under
    for record in records:
        notifier.run_finished(record, {"batch_id": "b1"})
    notifier.batch_finished("b1", records, {"batch_id": "b1"})
    assert [(c.method, c.mode) for c in fake.calls] == [("webhook", "ok")] * 4
    assert all(c.thread_ts is None for c in fake.calls)
    assert fake.calls[-1].body["text"].startswith("Retraining finished: 3 models (timer)")
    assert all(fake.hook not in c.raw.decode() for c in fake.calls)
    assert not warnings


def test_a_refused_webhook_is_a_warning(fake, warnings):
    settings = bootstrap.load_settings(
        {"ENABLE_SLACK": "true", "SLACK_WEBHOOK_URL": fake.webhook_url + "-revoked"}
    )
    slack_notifier(settings).batch_finished("b1", [], None)
    assert [c.mode for c in fake.calls] == ["invalid_token"]
    assert warnings == [
        "Slack: batch summary not posted (HTTP 403 invalid_token); the run is not affected"
    ]


@pytest.mark.parametrize("mode", ["echo", "500", "invalid_auth"])
def test_an_error_page_quoting_the_webhook_path_never_reaches_a_log(
    fake_with_secret_hook, tmp_path, warnings, caplog, mode
):
    """Nothing a remote server sends back is logged verbatim: a webhook's path is its key."""
    fake = fake_with_secret_hook
    env = {**slack_env(fake, tmp_path, tmp_path / "unused.db"), "SLACK_BOT_TOKEN": ""}
    env["SLACK_WEBHOOK_URL"] = fake.webhook_url
    settings = bootstrap.load_settings(env)
    fake.answer(mode, then=mode)
    with caplog.at_level(logging.DEBUG):
        slack_notifier(settings).run_finished(_finished_record(), None)
    assert fake.of("webhook")  # it was tried
    logged = "\n".join(warnings) + caplog.text
    assert "not posted" in logged
    assert HOOK_SECRET not in logged and "/services/" not in logged


def test_the_log_redactor_masks_a_webhook_path_quoted_on_its_own(capsys):
    from loguru import logger

    from retrain.config import Settings
    from retrain.entrypoints import logs

    hook = f"https://hooks.example.net/services/T0/B0/{HOOK_SECRET}"
    settings = Settings.from_environ({"SLACK_WEBHOOK_URL": hook})
    logs.configure("INFO", "text", settings.secrets())
    try:
        logger.warning("upstream said: no route for /services/T0/B0/{}", HOOK_SECRET)
    finally:
        logs.configure("WARNING")
    err = capsys.readouterr().err
    assert "upstream said" in err and HOOK_SECRET not in err


def _finished_record():
    from retrain.domain.runs import Outcome, RunRecord

    return RunRecord(
        run_id="20261101T030000Z-KLASSE_ROH-abcd1234",
        model="KLASSE_ROH",
        status=RunStatus.SUCCEEDED,
        outcome=Outcome.PROMOTED,
        version=2,
    )
