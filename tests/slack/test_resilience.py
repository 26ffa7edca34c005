"""Slack misbehaving never touches a run: each test trains a real run through the service
layer (the champion v1 exists, the run makes v2) while the fake Slack API misbehaves."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from retrain import bootstrap
from retrain.adapters.slack_notifier import slack_notifier
from retrain.domain.runs import Outcome, RunRecord, RunStatus
from tests.fake_slack import CHANNEL_ID, FakeSlack
from tests.slack.conftest import QUICK, quick_registry, services, slack_env, train


def _run_once(fake: FakeSlack, home, demo_db, **env: str) -> tuple[RunRecord, object]:
    svc = services(bootstrap.load_settings(slack_env(fake, home, demo_db, **env)), quick_registry())
    assert svc.models.champion(QUICK).version == 1
    _, [record] = train(svc, [QUICK], trigger="http", reason="new data")
    return record, svc


def _assert_run_untouched(record: RunRecord, svc) -> None:
    assert record.status is RunStatus.SUCCEEDED
    assert record.outcome is Outcome.PROMOTED and record.version == 2
    assert svc.models.champion(QUICK).version == 2  # the champion moved
    stored = svc.runs.get(record.run_id)
    assert stored.status is RunStatus.SUCCEEDED and stored.notified
    assert svc.runs.active(QUICK) is None


@pytest.mark.parametrize(
    ("env", "script", "expected_warning", "attempts"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-0000-revoked-token"}, (), "invalid_auth", {1}),
        ({"SLACK_CHANNEL": "#no-such-channel"}, (), "channel_not_found", {1}),
        # retried with backoff (0.5 s, 1 s, ...) while the next wait fits in the 2 s budget
        ({}, ("500",) * 4, "HTTP 500", {2, 3}),
        ({"SLACK_TIMEOUT_S": "1"}, ("hang",), "TimeoutError", {1}),  # not retried: may arrive
    ],
    ids=["invalid_auth", "channel_not_found", "server_error", "hang"],
)
def test_slack_failure_leaves_the_run_succeeded_and_the_champion_moved(
    fake, home, demo_db, warnings, env, script, expected_warning, attempts
):
    fake.answer(*script)
    record, svc = _run_once(fake, home, demo_db, **env)
    _assert_run_untouched(record, svc)
    assert fake.posted() == []
    assert len(fake.of("chat.postMessage")) in attempts
    assert [w for w in warnings if "Slack" in w] == [
        f"Slack: run {record.run_id} not posted ({expected_warning}); the run is not affected"
    ]


def test_rate_limit_is_retried_after_retry_after_and_succeeds(fake, home, demo_db, warnings):
    fake.answer("429:1")
    record, svc = _run_once(fake, home, demo_db)
    _assert_run_untouched(record, svc)
    first, second = fake.of("chat.postMessage")
    assert (first.mode, second.mode) == ("429:1", "ok")
    assert second.raw == first.raw  # the same message, sent again
    assert second.at - first.at >= 1.0  # Retry-After honoured
    assert not [w for w in warnings if "Slack" in w]
    # the second run of the model reports its change against the champion it replaced
    metric = f"*{record.summary['metric']}*\n{record.summary['score']:.4f}"
    c = record.summary["comparison"]
    delta = (
        f"(vs champion v1 {record.summary['champion_score']:.4f}: {c['delta']:+.4f}, "
        f"95 % CI {c['low']:+.4f} to {c['high']:+.4f}, {c['rows']:,} rows)"
    )
    assert second.body["blocks"][1]["fields"][0]["text"] == f"{metric}  {delta}"


def test_a_server_error_once_is_retried_and_posted(fake, home, demo_db):
    fake.answer("500")
    record, svc = _run_once(fake, home, demo_db)
    _assert_run_untouched(record, svc)
    assert [c.mode for c in fake.of("chat.postMessage")] == ["500", "ok"]


def _record() -> RunRecord:
    return RunRecord(
        run_id="20261101T030000Z-KLASSE_ROH-abcd1234",
        model="KLASSE_ROH",
        status=RunStatus.SUCCEEDED,
        outcome=Outcome.PROMOTED,
        version=4,
    )


def _notifier(fake: FakeSlack, **env: str):
    """The notifier alone, for what needs no training."""
    unused = Path("/nonexistent")
    return slack_notifier(bootstrap.load_settings(slack_env(fake, unused, unused, **env)))


def test_a_retry_after_longer_than_the_budget_is_not_waited_for(fake, warnings):
    fake.answer(then="429:30")
    _notifier(fake).run_finished(_record(), None)
    assert [c.mode for c in fake.calls] == ["429:30"]  # gave up at once instead of sleeping
    assert "(HTTP 429 ratelimited)" in warnings[-1]


def test_an_unreachable_slack_is_a_warning(fake, warnings):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/api/"
    _notifier(fake, SLACK_API_URL=closed).run_finished(_record(), None)
    assert "not posted (URLError)" in warnings[-1]


def test_a_vanished_parent_gets_a_new_summary_message(fake, warnings):
    notifier = _notifier(fake)
    gone = {"channel": CHANNEL_ID, "ts": "1234567890.000001"}
    notifier.batch_finished("20261101T030000Z-monthly", [_record()], gone)
    assert [(c.method, c.mode) for c in fake.calls] == [
        ("chat.update", "message_not_found"),
        ("chat.postMessage", "ok"),
    ]
    assert fake.calls[1].thread_ts is None
    assert fake.calls[1].body["text"].startswith("Retraining finished: 1 model")
    assert not warnings


def test_a_refused_permalink_keeps_the_thread_without_its_link(fake, warnings):
    fake.answer("ok", "channel_not_found")  # the parent posted, its link refused
    state = _notifier(fake).batch_started("20261101T030000Z-monthly", [_record()])
    assert [(c.method, c.mode) for c in fake.calls] == [
        ("chat.postMessage", "ok"),
        ("chat.getPermalink", "channel_not_found"),
    ]
    assert state == {"channel": CHANNEL_ID, "ts": fake.calls[0].ts}  # threads still work
    assert not warnings  # a missing link is not a failed notification
