"""Slack notifier: a bot token (a batch's parent message, each run's details in its thread,
the parent updated at the end) or an incoming webhook (one message per run, a summary at
the end of a batch; webhooks cannot thread or update).

Never raises: a Slack failure is one warning line (Slack's error code or the exception
class, never a URL or a token). Each notification, retries included, takes at most
``SLACK_TIMEOUT_S`` (see slack_transport.Budget). Every configured secret is scrubbed from
the records before a message is built, and from the payload again before it is sent."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from loguru import logger

from retrain.adapters.slack_messages import batch_message, decay_message, run_message, scrub
from retrain.adapters.slack_transport import (
    BotTransport,
    Budget,
    SlackDeliveryError,
    Transport,
    WebhookTransport,
    bounded_retry_handler,
)
from retrain.domain.decay import DecayResult
from retrain.domain.errors import ConfigError
from retrain.domain.runs import RunRecord
from retrain.service.report import skipped_text

if TYPE_CHECKING:
    from retrain.config import Settings

# chat.update cannot change the parent: post the summary as a new message instead
_STALE_PARENT = {"message_not_found", "cant_update_message", "edit_window_closed"}


class SlackNotifier:
    """The Notifier port over a transport made fresh for each notification."""

    def __init__(
        self,
        connect: Callable[[Budget], Transport],
        timeout_s: float,
        secrets: list[str],
        environment: str = "LOCAL",
    ) -> None:
        self.connect = connect
        self.timeout_s = timeout_s
        self.secrets = secrets
        self.environment = environment

    def batch_started(self, batch_id: str, records: list[RunRecord]) -> dict | None:
        def send(transport: Transport) -> dict | None:
            if not transport.threads:  # a webhook cannot thread or update: summary at the end
                return None
            payload = batch_message(
                batch_id, self._clean(records), final=False, environment=self.environment
            )
            parent = transport.post(payload, None)
            if parent is not None:  # for links to the thread (the console's batch view)
                try:
                    parent["permalink"] = transport.permalink(parent)
                except Exception as exc:  # the thread stands; only its link is missing
                    reason = exc.code if isinstance(exc, SlackDeliveryError) else type(exc).__name__
                    logger.info(
                        "Slack: no link to batch {}'s thread ({})",
                        batch_id,
                        scrub(reason, self.secrets)[:120],
                    )
            return parent

        return self._quietly("batch start", send)

    def run_finished(self, record: RunRecord, batch: dict | None) -> dict | None:
        def send(transport: Transport) -> dict | None:
            parent = _parent(batch) if transport.threads else None
            return transport.post(run_message(self._clean([record])[0], self.environment), parent)

        return self._quietly(f"run {record.run_id}", send)

    def approval_decided(self, record: RunRecord) -> None:
        """The run's message again, its buttons replaced by the decision (chat.update)."""
        message = record.summary.get("message")
        where = _parent(message) if isinstance(message, dict) else None
        if where is None:
            logger.info("Slack: run {} has no message to update", record.run_id)
            return

        def send(transport: Transport) -> None:
            transport.update(where, run_message(self._clean([record])[0], self.environment))

        self._quietly(f"run {record.run_id}'s message", send, unaffected="the decision")

    def batch_finished(self, batch_id: str, records: list[RunRecord], batch: dict | None) -> None:
        def send(transport: Transport) -> None:
            parent = _parent(batch) if transport.threads else None
            payload = batch_message(
                batch_id,
                self._clean(records),
                final=True,
                environment=self.environment,
                corrections=scrub((batch or {}).get("corrections_line"), self.secrets),
                skipped=scrub(skipped_text(batch), self.secrets),
            )
            if parent is not None:
                try:
                    transport.update(parent, payload)
                    return
                except SlackDeliveryError as exc:
                    if exc.code not in _STALE_PARENT:
                        raise
            transport.post(payload, None)

        self._quietly("batch summary", send)

    def decay_checked(self, results: list[DecayResult]) -> None:
        """One top-level message naming each decaying or below-floor model; none when all
        are well (a log line instead)."""
        clean = [DecayResult.from_dict(scrub(r.to_dict(), self.secrets)) for r in results]
        payload = decay_message(clean, self.environment)
        if payload is None:
            logger.info("decay check: no champion below its card; nothing posted to Slack")
            return

        self._quietly(
            "decay check", lambda transport: transport.post(payload, None), unaffected="the check"
        )

    def _clean(self, records: list[RunRecord]) -> list[RunRecord]:
        """Copies of the records with every secret scrubbed before any text is cut short."""
        return [RunRecord.from_dict(scrub(r.to_dict(), self.secrets)) for r in records]

    def _quietly(
        self, what: str, send: Callable[[Transport], Any], unaffected: str = "the run"
    ) -> Any:
        """``send`` over a fresh transport with its own time budget; failures become a
        warning."""
        try:
            return send(self.connect(Budget(self.timeout_s)))
        except Exception as exc:
            reason = exc.code if isinstance(exc, SlackDeliveryError) else type(exc).__name__
            logger.warning(
                "Slack: {} not posted ({}); {} is not affected",
                what,
                scrub(reason, self.secrets)[:120],
                unaffected,
            )
            return None


def _parent(batch: dict | None) -> dict | None:
    if batch and batch.get("channel") and batch.get("ts"):
        return {"channel": batch["channel"], "ts": batch["ts"]}
    return None


def slack_notifier(settings: Settings) -> SlackNotifier:
    """Bot token + channel when set (threads), else the incoming webhook."""
    secrets = settings.secrets()
    sdk_logger = _sdk_logger(secrets)
    token, channel, webhook = (
        settings.slack_bot_token,
        settings.slack_channel,
        settings.slack_webhook_url,
    )
    if not ((token and channel) or webhook):
        raise ConfigError(["ENABLE_SLACK needs SLACK_BOT_TOKEN + SLACK_CHANNEL or a webhook"])
    base_url = (settings.slack_api_url or "https://slack.com/api/").rstrip("/") + "/"

    def connect(budget: Budget) -> Transport:
        handlers: list[Any] = [bounded_retry_handler(budget)]
        options: dict[str, Any] = {
            "logger": sdk_logger,
            "timeout": budget.remaining(),
            "retry_handlers": handlers,
        }
        if token and channel:
            from slack_sdk import WebClient

            client = WebClient(token=token.reveal(), base_url=base_url, **options)
            budget.clients.append(client)
            return BotTransport(client, channel, budget, secrets)
        from slack_sdk.webhook import WebhookClient

        hook = WebhookClient(webhook.reveal(), **options)  # type: ignore[union-attr]
        budget.clients.append(hook)
        return WebhookTransport(hook, budget, secrets)

    return SlackNotifier(connect, settings.slack_timeout_s, secrets, settings.environment)


def _sdk_logger(secrets: list[str]) -> logging.Logger:
    """slack_sdk's own log lines: warnings and errors only (its debug lines name URLs and
    proxies), with secrets masked, written by the app's own log at DEBUG (its format, its
    run and model fields): the notifier's own warning says what failed ("not posted (HTTP
    500)"); with no handler, Python printed the SDK's lines as bare text beside
    LOG_FORMAT=json's."""
    sdk = logging.getLogger("retrain.slack_sdk")
    sdk.setLevel(logging.WARNING)

    def mask(record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage(), secrets), None
        return True

    sdk.filters = [mask]
    sdk.handlers = [_ToAppLog()]
    sdk.propagate = False  # the app's log forwards to logging itself where it should
    return sdk


class _ToAppLog(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        logger.debug("slack_sdk {}: {}", record.levelname.lower(), record.getMessage())
