"""A fake Slack Web API on 127.0.0.1: chat.postMessage, chat.update, chat.postEphemeral,
chat.getPermalink and an incoming webhook.

It records every request (method, headers, raw and parsed body) and answers the way Slack
does: ``ok`` (checking the bot token, the channel, the parent of an update and Block Kit's
limits), or, when told with ``answer(...)``, one of ``429:<retry-after>``, ``invalid_auth``,
``channel_not_found``, ``500``, ``echo`` (a proxy's 404 page quoting the request path, as
some do) or ``hang`` (no answer until the client gives up)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

CHANNEL_ID = "C0FAKE0001"


@dataclass
class Call:
    method: str  # "chat.postMessage", "chat.update" or "webhook"
    headers: dict[str, str]
    raw: bytes
    body: dict[str, Any]
    mode: str  # how it was answered
    at: float = field(default_factory=time.monotonic)
    ts: str | None = None  # of the message it created or updated, if accepted

    @property
    def thread_ts(self) -> str | None:
        return self.body.get("thread_ts")


class FakeSlack:
    def __init__(self, token: str, channel: str = "#ml-training", hook: str = "T0/B0/x") -> None:
        self.token, self.channel_name, self.hook = token, channel, hook
        self.calls: list[Call] = []
        self.messages: dict[str, dict[str, Any]] = {}  # ts -> the message as Slack holds it
        self.default = "ok"
        self._script: deque[str] = deque()
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=lambda: self._server.serve_forever(poll_interval=0.05), daemon=True
        )

    # set-up ----------------------------------------------------------------------------
    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/services/{self.hook}"

    def answer(self, *modes: str, then: str = "ok") -> None:
        """Answer the next requests with ``modes`` in turn, then with ``then``."""
        with self._lock:
            self._script = deque(modes)
            self.default = then

    # what it saw -------------------------------------------------------------------------
    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posted(self) -> list[Call]:
        """postMessage calls Slack accepted."""
        return [c for c in self.of("chat.postMessage") if c.mode == "ok"]

    # the server side -------------------------------------------------------------------
    def _next_mode(self) -> str:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def _handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict, str]:
        method = "webhook" if path.startswith("/services/") else path.rsplit("/", 1)[-1]
        body = _parse(raw, headers.get("content-type", ""))
        mode = self._next_mode()
        call = Call(method, headers, raw, body, mode)
        with self._lock:
            self.calls.append(call)
        if mode == "hang":
            self._release.wait(30)
            return 200, {}, json.dumps({"ok": True})
        if mode.startswith("429"):
            retry_after = mode.partition(":")[2] or "1"
            return (
                429,
                {"Retry-After": retry_after},
                json.dumps({"ok": False, "error": "ratelimited"}),
            )
        if mode == "500":
            return 500, {"Content-Type": "text/html"}, "<html>Internal Server Error</html>"
        if mode == "echo":
            page = f"<html>404 Not Found: no route for POST {path}</html>"
            return 404, {"Content-Type": "text/html"}, page
        if method == "webhook":
            return self._webhook(call, path)
        error = mode if mode != "ok" else self._check(call, headers)
        if error:
            call.mode = error
            return 200, {}, json.dumps({"ok": False, "error": error})
        return 200, {}, json.dumps(self._accept(call))

    def _check(self, call: Call, headers: dict[str, str]) -> str | None:
        if headers.get("authorization") != f"Bearer {self.token}":
            return "invalid_auth"
        if call.method not in (
            "chat.postMessage",
            "chat.update",
            "chat.postEphemeral",
            "chat.getPermalink",
        ):
            return "unknown_method"
        channel = call.body.get("channel")
        if call.method == "chat.getPermalink":  # of a message it holds, by the channel's id
            if channel != CHANNEL_ID:
                return "channel_not_found"
            return None if call.body.get("message_ts") in self.messages else "message_not_found"
        if call.method == "chat.postEphemeral":
            if channel != CHANNEL_ID:
                return "channel_not_found"
            if not call.body.get("user"):
                return "user_not_in_channel"
        elif call.method == "chat.update":
            if channel != CHANNEL_ID:  # chat.update needs the channel's id
                return "channel_not_found"
            if call.body.get("ts") not in self.messages:
                return "message_not_found"
        elif channel not in (self.channel_name, CHANNEL_ID):
            return "channel_not_found"
        if not (call.body.get("text") or call.body.get("blocks")):
            return "no_text"
        return block_problem(call.body.get("blocks") or [])

    def _accept(self, call: Call) -> dict[str, Any]:
        if call.method == "chat.getPermalink":
            ts = call.body["message_ts"]
            return {"ok": True, "channel": CHANNEL_ID, "permalink": permalink(ts)}
        if call.method == "chat.postEphemeral":  # seen by one user, never stored
            return {"ok": True, "message_ts": "1790000000.999999"}
        with self._lock:
            if call.method == "chat.update":
                ts = call.body["ts"]
                self.messages[ts].update(call.body, edited=True)
            else:
                ts = f"1790000000.{next(self._ts):06d}"
                self.messages[ts] = {**call.body, "channel": CHANNEL_ID, "ts": ts}
            call.ts = ts
        return {"ok": True, "channel": CHANNEL_ID, "ts": ts, "message": self.messages[ts]}

    def _webhook(self, call: Call, path: str) -> tuple[int, dict, str]:
        if call.mode == "invalid_auth" or path != f"/services/{self.hook}":
            call.mode = "invalid_token"
            return 403, {}, "invalid_token"
        if call.mode == "channel_not_found":
            return 404, {}, "channel_not_found"
        if problem := block_problem(call.body.get("blocks") or []):
            call.mode = problem
            return 400, {}, problem
        return 200, {}, "ok"


def permalink(ts: str) -> str:
    """The address the fake gives a message, as Slack's: workspace, channel, p + digits."""
    return f"https://fake-workspace.slack.com/archives/{CHANNEL_ID}/p{ts.replace('.', '')}"


def block_problem(blocks: list[dict[str, Any]]) -> str | None:
    """Block Kit's limits as Slack enforces them ('invalid_blocks'), None if within them."""
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "invalid_blocks"
    for block in blocks:
        kind = block.get("type")
        texts: list[tuple[dict, int]] = []
        if kind == "header":
            if block["text"].get("type") != "plain_text":
                return "invalid_blocks"
            texts.append((block["text"], 150))
        elif kind == "section":
            if "text" in block:
                texts.append((block["text"], 3000))
            if len(block.get("fields", [])) > 10:
                return "invalid_blocks"
            texts += [(f, 2000) for f in block.get("fields", [])]
        elif kind == "context":
            if len(block.get("elements", [])) > 10:
                return "invalid_blocks"
            texts += [(e, 3000) for e in block["elements"]]
        elif kind == "actions":  # buttons: a label of up to 75, a value of up to 2,000
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 25 or any(
                e.get("type") != "button"
                or len(e.get("action_id", "")) > 255
                or len(e.get("value", "")) > 2000
                for e in elements
            ):
                return "invalid_blocks"
            texts += [(e["text"], 75) for e in elements]
        elif kind != "divider":
            return "invalid_blocks"
        if any(not t.get("text") or len(t["text"]) > limit for t, limit in texts):
            return "invalid_blocks"
    return None


def _parse(raw: bytes, content_type: str) -> dict[str, Any]:
    if content_type.startswith("application/json"):
        return json.loads(raw or b"{}")
    form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
    if isinstance(form.get("blocks"), str):
        form["blocks"] = json.loads(form["blocks"])
    return form


def _handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, text = fake._handle(self.path, headers, raw)
            data = text.encode()
            try:
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                if "Content-Type" not in extra:
                    json_body = text.startswith("{")
                    kind = "application/json" if json_body else "text/plain"
                    self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (a hang)
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
