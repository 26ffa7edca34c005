"""Slack's side of an approval: verify an interaction request, parse the button click, and
answer in Slack (the message updated in place, an ephemeral note to the clicker).

A request counts only if slack_sdk's SignatureVerifier accepts it: an HMAC-SHA256 of
``v0:<timestamp>:<body>`` with the app's signing secret, and a timestamp within five minutes
of our clock. The body is parsed only after that. Replies never raise: a Slack failure is a
warning naming Slack's error code, and the decision stands."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from loguru import logger

from retrain.adapters.slack_messages import APPROVAL_BLOCK, decided_line, scrub
from retrain.adapters.slack_notifier import _sdk_logger
from retrain.adapters.slack_transport import Budget, SlackDeliveryError, bounded_retry_handler

if TYPE_CHECKING:
    from retrain.config import Settings

ACTIONS = ("approve", "reject")
_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_CHANNEL = re.compile(r"^[CDG][A-Z0-9]{2,20}$")
_TS = re.compile(r"^\d{1,12}\.\d{1,8}$")
_RUN = re.compile(r"^[0-9A-Za-z_-]{1,120}$")


def verified(secret: str, body: bytes, headers: Mapping[str, str], now: float) -> bool:
    """Whether Slack signed this request with ``secret`` within five minutes of ``now``
    (seconds since the epoch: the app's clock)."""
    from slack_sdk.signature import Clock, SignatureVerifier

    class _Now(Clock):
        def now(self) -> float:
            return now

    try:
        return SignatureVerifier(secret, _Now()).is_valid_request(body, dict(headers))
    except (ValueError, TypeError, UnicodeDecodeError):  # a timestamp that is no number, ...
        return False


@dataclass(frozen=True)
class Click:
    """One Approve / Reject click, as typed values."""

    action: str  # "approve" or "reject"
    model: str
    version: int
    run_id: str
    user_id: str
    user_name: str
    channel: str | None
    ts: str | None
    message: dict[str, Any] | None  # the message the buttons are in, as Slack sent it

    @property
    def actor(self) -> str:
        """Who clicked, for the alias history: ``slack:<name> (<user id>)``."""
        name = re.sub(r"[^\w@.+\-]", "_", self.user_name)[:80]
        return f"slack:{name} ({self.user_id})" if name else f"slack:{self.user_id}"


def parse(body: bytes) -> Click:
    """The click in a ``payload=`` form body; ValueError saying what is wrong."""
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True, max_num_fields=5)
        payload = json.loads(form["payload"][0])
    except (KeyError, ValueError, UnicodeDecodeError, RecursionError):
        raise ValueError("the body must be a form with one field payload=<JSON>") from None
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        raise ValueError("only block_actions interactions (button clicks) are handled")
    actions = payload.get("actions")
    action = actions[0] if isinstance(actions, list) and len(actions) == 1 else None
    if not isinstance(action, dict) or action.get("action_id") not in ACTIONS:
        raise ValueError(f"the action must be one of {', '.join(ACTIONS)}")
    try:
        value = json.loads(action.get("value") or "")
    except (TypeError, ValueError, RecursionError):
        value = None
    if not (
        isinstance(value, dict)
        and isinstance(value.get("model"), str)
        and isinstance(value.get("version"), int)
        and not isinstance(value.get("version"), bool)
        and isinstance(value.get("run_id"), str)
        and _RUN.match(value["run_id"])
    ):
        raise ValueError("the button's value must name a model, a version and a run")
    user = _object(payload.get("user"))
    user_id = user.get("id")
    if not isinstance(user_id, str) or not _USER.match(user_id):
        raise ValueError("the interaction names no Slack user")
    name = user.get("username") or user.get("name") or ""
    container = _object(payload.get("container"))
    channel, ts = container.get("channel_id"), container.get("message_ts")
    message = payload.get("message")
    return Click(
        action=action["action_id"],
        model=value["model"][:100],
        version=value["version"],
        run_id=value["run_id"],
        user_id=user_id,
        user_name=name if isinstance(name, str) else "",
        channel=channel if isinstance(channel, str) and _CHANNEL.match(channel) else None,
        ts=ts if isinstance(ts, str) and _TS.match(ts) else None,
        message=message if isinstance(message, dict) else None,
    )


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def decided_message(click: Click, decided: Mapping[str, Any]) -> dict[str, Any]:
    """The clicked message with its buttons replaced by who decided, when and the result."""
    original = click.message or {}
    blocks = [
        b
        for b in original.get("blocks") or []
        if isinstance(b, dict)
        and b.get("block_id") not in (APPROVAL_BLOCK, f"{APPROVAL_BLOCK}-note")
    ]
    label = f"{decided['model']} v{decided['version']}"
    line = decided_line(decided["model"], decided["version"], decided, f"<@{click.user_id}>")
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": line}})
    text = str(original.get("text") or label)[:2500]
    return {"text": f"{text} · {decided['decision']} by {click.actor}", "blocks": blocks[:50]}


class SlackReplies:
    """chat.update and chat.postEphemeral with the bot token; never raises."""

    def __init__(
        self, client: Callable[[Budget], Any] | None, timeout_s: float, secrets: list[str]
    ):
        self.client, self.timeout_s, self.secrets = client, timeout_s, secrets

    def update(self, click: Click, payload: dict[str, Any]) -> None:
        if click.channel and click.ts:
            self._call(
                "message update", "chat_update", channel=click.channel, ts=click.ts, **payload
            )

    def ephemeral(self, click: Click, text: str) -> None:
        if click.channel:
            self._call(
                "ephemeral answer",
                "chat_postEphemeral",
                channel=click.channel,
                user=click.user_id,
                text=text,
            )

    def _call(self, what: str, method: str, **args: Any) -> None:
        if self.client is None:
            logger.info("Slack: no bot token: the {} is not sent", what)
            return
        try:
            budget = Budget(self.timeout_s)
            client = self.client(budget)
            budget.fit()
            getattr(client, method)(**scrub(args, self.secrets))
        except Exception as exc:
            from slack_sdk.errors import SlackApiError

            code = type(exc).__name__
            if isinstance(exc, SlackApiError):
                code = str(exc.response.get("error") or code)
            elif isinstance(exc, SlackDeliveryError):
                code = exc.code
            logger.warning(
                "Slack: {} not sent ({}); the decision stands", what, scrub(code, self.secrets)[:80]
            )


def slack_replies(settings: Settings) -> SlackReplies:
    """Replies through the bot token (SLACK_BOT_TOKEN, SLACK_API_URL); without one, none."""
    token = settings.slack_bot_token
    if token is None:
        return SlackReplies(None, settings.slack_timeout_s, settings.secrets())
    base_url = (settings.slack_api_url or "https://slack.com/api/").rstrip("/") + "/"
    sdk_logger = _sdk_logger(settings.secrets())  # slack_sdk's own lines, masked

    def client(budget: Budget) -> Any:
        from slack_sdk import WebClient

        options: dict[str, Any] = {
            "logger": sdk_logger,
            "timeout": budget.remaining(),
            "retry_handlers": [bounded_retry_handler(budget)],
        }
        made = WebClient(token=token.reveal(), base_url=base_url, **options)
        budget.clients.append(made)
        return made

    return SlackReplies(client, settings.slack_timeout_s, settings.secrets())
