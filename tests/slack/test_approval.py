"""Approve / Reject from Slack, end to end: a real run posts its message with the buttons to
the fake Slack API; clicks arrive at the function app's interaction route as Slack sends
them (form-encoded ``payload=``, signed with the signing secret by slack_sdk's own signer),
and the answers go back to the fake Slack (chat.update, chat.postEphemeral)."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier

from retrain import bootstrap
from retrain.domain.runs import Outcome
from retrain.domain.specs import Registry
from retrain.entrypoints import app_services
from retrain.entrypoints.local_server import LocalServer
from retrain.service import approval
from tests.fake_slack import CHANNEL_ID
from tests.functions.conftest import http
from tests.slack.conftest import QUICK, quick_registry, services, slack_env, train

SECRET = "8f742231b10e8888abcd990001118a5f"  # a signing secret: 32 hex digits
ALICE = {"id": "U0ALICE01", "username": "alice", "name": "alice"}
BOB = {"id": "U0BOB0002", "username": "bob", "name": "bob"}


@pytest.fixture
def use() -> Iterator[Any]:
    """``use(svc, settings)`` makes the function app run on them until the test ends."""
    yield app_services.override
    app_services.override(None)


@pytest.fixture
def world(fake, home, demo_db, use):
    """KLASSE_ROH needs approval; v1 serves; a run made v2, which awaits approval and was
    posted with its buttons. ``use`` runs the function app on these services."""
    env = slack_env(fake, home, demo_db, SLACK_SIGNING_SECRET=SECRET)
    registry = Registry([dataclasses.replace(quick_registry().get(QUICK), approval="required")])
    cfg = bootstrap.load_settings(env)
    svc = services(cfg, registry)
    _, [record] = train(svc, [QUICK], trigger="http", reason="new data")
    assert record.outcome is Outcome.AWAITING_APPROVAL and record.version == 2
    use(svc, cfg)
    return svc, cfg


def posted(fake) -> tuple[str, dict[str, Any]]:
    """The newest message with buttons, as the fake Slack holds it."""
    ts, message = next((ts, m) for ts, m in reversed(fake.messages.items()) if _buttons(m))
    return ts, message


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def click(fake, svc, action: str, user=ALICE, secret=SECRET, age_s=0, ts=None) -> tuple:
    """The request Slack sends for a click on ``action`` in the newest message with buttons:
    its form body and its signed headers."""
    ts, message = (ts, fake.messages[ts]) if ts else posted(fake)
    button = next(b for b in _buttons(message) if b["action_id"] == action)
    payload = {
        "type": "block_actions",
        "user": {**user, "team_id": "T0FAKE"},
        "container": {"type": "message", "channel_id": CHANNEL_ID, "message_ts": ts},
        "channel": {"id": CHANNEL_ID, "name": "ml-training"},
        "message": message,
        "response_url": "https://hooks.slack.com/actions/T0/1/x",
        "actions": [{**button, "block_id": "approval", "action_ts": "1790000001.000001"}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    stamp = str(int(svc.clock().timestamp()) - age_s)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return body, {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def send(body: bytes, headers: dict[str, str]):
    response, _ = http(
        "slack_interactions",
        "POST",
        "slack/interactions",
        raw=body,
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )
    return response


def ephemerals(fake) -> list[str]:
    return [c.body["text"] for c in fake.of("chat.postEphemeral") if c.mode == "ok"]


def test_the_message_shows_both_scores_and_the_two_buttons(world, fake):
    _, message = posted(fake)
    text = json.dumps(message["blocks"])
    assert "awaiting approval" in message["blocks"][0]["text"]["text"]
    assert "vs champion v1" in text and "*Gate:*" in text and "Awaiting approval" in text
    buttons = _buttons(message)
    assert [b["action_id"] for b in buttons] == ["approve", "reject"]
    value = json.loads(buttons[0]["value"])
    assert set(value) == {"model", "version", "run_id"} and value["version"] == 2
    assert SECRET not in json.dumps([c.body for c in fake.calls])


def test_approve_moves_the_champion_names_the_user_and_updates_the_message(world, fake):
    svc, _ = world
    ts, _ = posted(fake)
    response = send(*click(fake, svc, "approve"))
    assert response.status == 200, response.text
    assert svc.models.champion(QUICK).version == 2
    move = svc.models.history(QUICK)[-1]
    assert move["actor"] == "slack:alice (U0ALICE01)" and move["previous_version"] == 1
    (update,) = fake.of("chat.update")
    assert update.mode == "ok" and update.body["ts"] == ts
    blocks = update.body["blocks"]
    assert not [b for b in blocks if b["type"] == "actions"]
    assert "*Approved* by <@U0ALICE01> at 2026-11-01 03:0" in blocks[-1]["text"]["text"]
    assert ephemerals(fake) == []


def test_the_local_server_serves_the_route_without_a_function_key(world, fake):
    svc, _ = world
    body, headers = click(fake, svc, "approve")
    with LocalServer("127.0.0.1", 0, max_dequeue=3, retry_after_s=0.05) as server:
        server.start(worker=False)
        url = f"{server.url}/api/slack/interactions"
        content = {"Content-Type": "application/x-www-form-urlencoded"}
        request = urllib.request.Request(url, body, {**headers, **content}, method="POST")
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 200 and json.load(answer)["text"] == "KLASSE_ROH v2 approved"
        unsigned = urllib.request.Request(url, body, content, method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(unsigned, timeout=30)
        assert refused.value.code == 401
        assert json.load(refused.value)["error"]["code"] == "invalid_signature"
    assert svc.models.champion(QUICK).version == 2


@pytest.mark.parametrize("where", ["cli", "console"])
def test_a_decision_outside_slack_replaces_the_buttons_of_the_run_message(world, fake, where):
    """The run's message keeps no buttons that could only answer "decided" (the CLI's
    approve, the console's reject through the HTTP API)."""
    svc, _ = world
    ts, message = posted(fake)
    if where == "cli":
        approval.decide(svc, QUICK, 2, "approve", actor="cli:bob@host", reason="looked fine")
        line = ":white_check_mark: *Approved* by cli:bob@host at 2026-11-01 03:0"
        assert svc.models.champion(QUICK).version == 2
    else:
        response, _ = http(
            "decide_approval",
            "POST",
            f"models/{QUICK}/versions/2/approval",
            body={"decision": "reject", "reason": "drift in plant W2"},
            route={"name": QUICK, "version": "2"},
            headers={"X-MS-CLIENT-PRINCIPAL-NAME": "carol@example.com"},
        )
        assert response.status == 200, response.text
        line = ":no_entry: *Rejected* by http:carol@example.com at 2026-11-01 03:0"
        assert svc.models.champion(QUICK).version == 1
    (update,) = fake.of("chat.update")
    assert update.mode == "ok" and (update.body["channel"], update.body["ts"]) == (CHANNEL_ID, ts)
    blocks = update.body["blocks"]
    assert not [b for b in blocks if b["type"] == "actions"]
    assert blocks[0] == message["blocks"][0] and "vs champion v1" in json.dumps(blocks)
    assert any(line in json.dumps(b) for b in blocks)
    assert ephemerals(fake) == []


def test_a_decision_stands_when_the_run_kept_no_message(world, fake):
    """A webhook cannot update a message, and the run may have failed to keep where its
    message is: the decision is made all the same, and the buttons answer who decided."""
    svc, _ = world
    record = svc.runs.get(svc.models.card(QUICK, 2)["run_id"])
    del record.summary["message"]
    svc.runs.save(record)
    decided = approval.decide(svc, QUICK, 2, "approve", actor="cli:bob", reason="fine")
    assert decided["champion_version"] == 2 and fake.of("chat.update") == []
    assert send(*click(fake, svc, "reject")).status == 200
    assert "already approved by cli:bob" in ephemerals(fake)[0]


def test_reject_moves_nothing_and_says_who_rejected(world, fake):
    svc, _ = world
    assert send(*click(fake, svc, "reject")).status == 200
    assert svc.models.champion(QUICK).version == 1
    held = approval.decision_of(svc, QUICK, 2)
    assert (held["decision"], held["actor"]) == ("rejected", "slack:alice (U0ALICE01)")
    (update,) = fake.of("chat.update")
    assert "*Rejected* by <@U0ALICE01>" in update.body["blocks"][-1]["text"]["text"]


@pytest.mark.parametrize(
    "forge",
    [
        {"secret": "0" * 32},  # signed with another secret
        {"age_s": 301},  # replayed: older than five minutes
        {"age_s": -301},  # from the future
    ],
    ids=["forged", "replayed", "future"],
)
def test_a_forged_or_stale_request_gets_401_and_changes_nothing(world, fake, forge):
    svc, _ = world
    response = send(*click(fake, svc, "approve", **forge))
    assert response.status == 401 and response.json["error"]["code"] == "invalid_signature"
    assert svc.models.champion(QUICK).version == 1
    assert approval.decision_of(svc, QUICK, 2) is None
    assert fake.of("chat.update") == fake.of("chat.postEphemeral") == []


def test_an_unsigned_or_tampered_request_gets_401(world, fake):
    svc, _ = world
    body, headers = click(fake, svc, "approve")
    assert send(body, {}).status == 401
    tampered = body.replace(b"approve", b"reject")
    assert send(tampered, headers).status == 401
    assert send(body, {**headers, "X-Slack-Request-Timestamp": "9" * 5000}).status == 401
    assert approval.decision_of(svc, QUICK, 2) is None


def test_without_a_signing_secret_every_request_is_refused(fake, home, demo_db, use):
    cfg = bootstrap.load_settings(slack_env(fake, home, demo_db))
    svc = services(cfg, quick_registry())
    use(svc, cfg)
    response = send(*click_on_nothing(svc))
    assert response.status == 401
    assert response.json["error"]["code"] == "slack_not_configured"
    assert "SLACK_SIGNING_SECRET" in response.json["error"]["message"]


def click_on_nothing(svc) -> tuple[bytes, dict[str, str]]:
    body = urlencode({"payload": "{}"}).encode()
    stamp = str(int(svc.clock().timestamp()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body)
    return body, {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def test_a_duplicated_delivery_changes_nothing_more(world, fake):
    svc, _ = world
    request = click(fake, svc, "approve")
    assert send(*request).status == 200
    history = svc.models.history(QUICK)
    again = send(*request)  # Slack delivers the same signed request again
    assert again.status == 200 and "already approved by slack:alice" in again.json["text"]
    assert svc.models.history(QUICK) == history and len(fake.of("chat.update")) == 1
    assert ephemerals(fake) == [f":warning: {again.json['text']}"]


def test_a_second_click_is_answered_with_who_decided_first(world, fake):
    svc, _ = world
    alice = click(fake, svc, "approve")  # she clicks on the message as it was, a moment later
    assert send(*click(fake, svc, "reject", user=BOB)).status == 200
    response = send(*alice)
    assert response.status == 200
    assert svc.models.champion(QUICK).version == 1
    (note,) = ephemerals(fake)
    assert "KLASSE_ROH v2 was already rejected by slack:bob (U0BOB0002)" in note
    assert "nothing changed" in note


def test_a_click_on_an_outdated_candidate_changes_nothing(world, fake):
    svc, _ = world
    old_ts, _ = posted(fake)
    train(svc, [QUICK], trigger="http", reason="newer data")  # v3 awaits now
    assert posted(fake)[0] != old_ts
    response = send(*click(fake, svc, "approve", ts=old_ts))
    assert response.status == 200
    assert svc.models.champion(QUICK).version == 1
    assert approval.decision_of(svc, QUICK, 2) is None
    (note,) = ephemerals(fake)
    assert "KLASSE_ROH v2 is outdated: v3 was published since" in note


def test_a_click_after_the_deadline_changes_nothing(world, fake):
    svc, _ = world
    clock = svc.clock
    svc.clock = lambda: clock() + timedelta(days=7, minutes=1)
    response = send(*click(fake, svc, "approve"))  # signed now: fresh, but too late
    assert response.status == 200
    assert svc.models.champion(QUICK).version == 1
    (note,) = ephemerals(fake)
    assert "expired" in note and "approval_expires_days=7" in note


def test_the_signing_secret_reaches_no_log_answer_or_slack(world, fake, capfd):
    from loguru import logger

    svc, _ = world
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG", format="{message}")
    requests = [click(fake, svc, a) for a in ("approve", "reject")]  # before either lands
    try:
        answers = [
            send(*click(fake, svc, "approve", secret="1" * 32)).text,
            *(send(*request).text for request in requests),
        ]
    finally:
        logger.remove(sink)
    seen = [*lines, *answers, *(c.raw.decode() for c in fake.calls), *capfd.readouterr()]
    assert lines and not [s for s in seen if SECRET in s]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    payload=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: urlencode({"payload": t}).encode()),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(
                    st.sampled_from(["type", "user", "actions", "container", "value", "id"]), inner
                )
            ),
            max_leaves=10,
        ).map(lambda v: urlencode({"payload": json.dumps(v)}).encode()),
    )
)
def test_any_signed_body_gets_an_answer_not_a_500(world, payload):
    svc, _ = world
    stamp = str(int(svc.clock().timestamp()))
    # Slack's scheme over the raw bytes (slack_sdk's signer takes only UTF-8 bodies)
    mac = hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + payload, hashlib.sha256)
    headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + mac.hexdigest()}
    response = send(payload, headers)
    assert response.status < 500, response.text
    assert svc.models.champion(QUICK).version == 1
