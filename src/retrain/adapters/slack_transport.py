"""How messages reach Slack: a bot (WebClient: post, reply in a thread, update) or an
incoming webhook (post only), each request and retry inside one notification's time Budget.

Retries (slack_sdk's RetryHandler interface): connection errors, HTTP 429 after its
Retry-After, 5xx with backoff; at most MAX_RETRIES, and only when the wait plus one more
attempt fits in what is left of the budget. A timeout is not retried: the message may have
arrived. slack_sdk is imported inside functions."""

from __future__ import annotations

import functools
import random
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

from retrain.adapters.slack_messages import scrub

MIN_ATTEMPT_S = 0.5  # a request gets at least this much time, or is not made
MAX_RETRIES = 3
JITTER_S = 0.25


class SlackDeliveryError(Exception):
    """Slack did not take a message; ``code`` is Slack's short error (safe to log)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def error_code(text: object) -> str:
    """Slack's error code when ``text`` is one (``channel_not_found``), else nothing:
    whatever else a server sends back (an error page echoing the request path of a secret
    webhook, say) never reaches a log."""
    value = str(text or "").strip()
    return value if re.fullmatch(r"[a-z][a-z0-9_]{1,59}", value) else ""


class Budget:
    """The time one notification may take, shared by its requests and their retries."""

    def __init__(self, total_s: float) -> None:
        self.until = time.monotonic() + total_s
        self.clients: list[Any] = []

    def remaining(self) -> float:
        return max(0.0, self.until - time.monotonic())

    def allows(self, wait_s: float) -> bool:
        return self.remaining() - wait_s >= MIN_ATTEMPT_S

    def fit(self) -> None:
        """Before each request: its timeout is what is left (or give up)."""
        if self.remaining() < MIN_ATTEMPT_S:
            raise SlackDeliveryError("time budget used up")
        for client in self.clients:
            client.timeout = self.remaining()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
        self.fit()


class Transport(Protocol):
    threads: bool

    def post(self, payload: dict, thread: dict | None) -> dict | None: ...

    def update(self, where: dict, payload: dict) -> None: ...

    def permalink(self, where: dict) -> str | None: ...


class BotTransport:
    threads = True

    def __init__(self, client: Any, channel: str, budget: Budget, secrets: list[str]) -> None:
        self.client, self.channel, self.budget, self.secrets = client, channel, budget, secrets

    def post(self, payload: dict, thread: dict | None) -> dict | None:
        args = {
            "channel": thread["channel"] if thread else self.channel,
            "unfurl_links": False,
            "unfurl_media": False,
            **scrub(payload, self.secrets),
        }
        if thread:
            args["thread_ts"] = thread["ts"]
        response = self._call(self.client.chat_postMessage, args)
        return {"channel": response["channel"], "ts": response["ts"]}

    def update(self, where: dict, payload: dict) -> None:
        self._call(self.client.chat_update, {**where, **scrub(payload, self.secrets)})

    def permalink(self, where: dict) -> str | None:
        """The message's web address (chat.getPermalink, a form POST like every call here),
        or None if Slack answers none that is https."""
        args = {"channel": where["channel"], "message_ts": where["ts"]}
        response = self._call(
            self.client.api_call, {"api_method": "chat.getPermalink", "data": args}
        )
        link = response.get("permalink")
        return link if isinstance(link, str) and link.startswith("https://") else None

    def _call(self, method: Callable[..., Any], args: dict) -> Any:
        from slack_sdk.errors import SlackApiError

        self.budget.fit()
        try:
            return method(**args)
        except SlackApiError as exc:
            status, error = exc.response.status_code, error_code(exc.response.get("error"))
            if status != 200:  # 429 or 5xx once the retries are spent
                error = f"HTTP {status} {error}".strip()
            raise SlackDeliveryError(error or "unknown error") from None


class WebhookTransport:
    threads = False

    def __init__(self, client: Any, budget: Budget, secrets: list[str]) -> None:
        self.client, self.budget, self.secrets = client, budget, secrets

    def post(self, payload: dict, thread: dict | None) -> dict | None:
        self.budget.fit()
        body = {"unfurl_links": False, "unfurl_media": False, **scrub(payload, self.secrets)}
        response = self.client.send_dict(body)
        if response.status_code != 200:
            code = error_code(response.body)
            raise SlackDeliveryError(f"HTTP {response.status_code} {code}".strip())
        return None

    def update(self, where: dict, payload: dict) -> None:
        raise SlackDeliveryError("webhooks cannot update messages")

    def permalink(self, where: dict) -> str | None:
        return None  # a webhook's messages have no address it could ask for


def bounded_retry_handler(budget: Budget) -> Any:
    return _handler_class()(budget)


@functools.cache
def _handler_class() -> type:
    from http.client import RemoteDisconnected
    from urllib.error import URLError

    from slack_sdk.http_retry.handler import RetryHandler

    class BoundedRetryHandler(RetryHandler):
        """See the module docstring."""

        def __init__(self, budget: Budget) -> None:
            super().__init__(max_retry_count=MAX_RETRIES)
            self.budget = budget

        def _can_retry(
            self, *, state: Any, request: Any, response: Any = None, error: Any = None
        ) -> bool:
            wait = self._wait(state, response, error)
            return wait is not None and self.budget.allows(wait + JITTER_S)

        def prepare_for_next_attempt(
            self, *, state: Any, request: Any, response: Any = None, error: Any = None
        ) -> None:
            state.next_attempt_requested = True
            wait = self._wait(state, response, error) or 0.0
            self.budget.sleep(wait + random.uniform(0, JITTER_S))
            state.increment_current_attempt()

        def _wait(self, state: Any, response: Any, error: Any) -> float | None:
            if response is not None and response.status_code == 429:
                return _retry_after(response.headers)
            if response is not None and response.status_code in (500, 502, 503, 504):
                return 0.5 * 2**state.current_attempt
            timed_out = isinstance(getattr(error, "reason", error), TimeoutError)
            if (
                response is None
                and not timed_out
                and isinstance(error, URLError | ConnectionResetError | RemoteDisconnected)
            ):
                return 0.5 * 2**state.current_attempt
            return None

    return BoundedRetryHandler


def _retry_after(headers: Any) -> float:
    for name, value in dict(headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                break
    return 1.0
