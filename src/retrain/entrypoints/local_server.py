"""Serve the function app on this machine without Core Tools: ``python -m retrain console``.

The routes, handlers and auth levels are the ones ``function_app.py`` registers (read from
the indexed app, not listed again here). Requests become ``azure.functions.HttpRequest``
objects and responses are encoded by azure.functions' own converter, as the Python worker
does. Queue output bindings go to an in-process queue whose worker thread calls the app's
queue functions (retries and the poison queue included: local_queue.py). Settings come from
the environment, as in Azure: with none set, the embedded default (SQLite + a local folder).

Function keys are checked here (Core Tools does not check them): one key is generated at
start and printed, as Jupyter prints its token. A request without it, or with another key,
gets 401 with an empty body, as from the Functions host. No log line carries a key, at any
level: the request lines http.server logs (``?code=...`` included, a malformed one too) are
masked here, before they reach loguru, and the key is one of the log redactor's secrets."""

from __future__ import annotations

import hmac
import importlib.util
import re
import secrets
import sys
import threading
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func
from azure.functions.http import HttpResponseConverter
from loguru import logger

from retrain import strict_json
from retrain.entrypoints.local_queue import LocalQueue
from retrain.redact import scrub

if TYPE_CHECKING:
    from retrain.config import Settings

APP_ROOT = Path(__file__).resolve().parents[3]  # function_app.py, host.json, src/
PREFIX = "/api/"
MAX_BODY = 1024 * 1024  # the app itself refuses bodies over 64 KiB with a JSON error


class Out(func.Out):
    def __init__(self) -> None:
        self.value: Any = None

    def set(self, val: Any) -> None:
        self.value = val

    def get(self) -> Any:
        return self.value


@dataclass(frozen=True)
class Route:
    name: str
    methods: frozenset[str]
    pattern: re.Pattern[str]
    literals: int  # more literal segments win, as in the host's routing
    anonymous: bool
    handler: Any
    queue_outputs: dict[str, str] = field(default_factory=dict)  # argument -> queue name


def function_app() -> Any:
    """The app ``function_app.py`` builds (imported once, as the worker does)."""
    if "function_app" in sys.modules:
        return sys.modules["function_app"].app
    path = APP_ROOT / "function_app.py"
    spec = importlib.util.spec_from_file_location("function_app", path)
    if spec is None or spec.loader is None or not path.exists():
        raise RuntimeError(f"{path} not found: run the console from the app's folder layout")
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    spec.loader.exec_module(module)
    return module.app


def indexed(app: Any) -> list[Any]:
    """``app.get_functions()``, as the worker indexes the app. Its duplicate-name guard
    remembers earlier calls on the same app object (tests index it too), so it starts empty."""
    seen = app.functions_bindings
    app.functions_bindings = {}
    try:
        return list(app.get_functions())
    finally:
        app.functions_bindings = seen


def _pattern(template: str) -> tuple[re.Pattern[str], int]:
    parts = []
    literals = 0
    for segment in template.strip("/").split("/"):
        if m := re.fullmatch(r"\{(\w+)(?::[^}?]*)?\??\}", segment):
            parts.append(f"(?P<{m[1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
            literals += 1
    return re.compile("^" + "/".join(parts) + "$"), literals


def routes(functions: list[Any]) -> list[Route]:
    found = []
    for fn in functions:
        trigger = fn.get_trigger()
        if type(trigger).__name__ != "HttpTrigger":
            continue
        pattern, literals = _pattern(trigger.route or fn.get_function_name())
        outputs = {b.name: b.queue_name for b in fn.get_bindings() if b.type == "queue"}
        level = str(getattr(trigger.auth_level, "value", trigger.auth_level) or "").lower()
        found.append(
            Route(
                fn.get_function_name(),
                frozenset(str(getattr(m, "value", m)).upper() for m in trigger.methods or ()),
                pattern,
                literals,
                level == "anonymous",
                fn.get_user_function(),
                outputs,
            )
        )
    return sorted(found, key=lambda r: -r.literals)


def queue_handlers(functions: list[Any]) -> dict[str, Any]:
    return {
        fn.get_trigger().queue_name: fn.get_user_function()
        for fn in functions
        if type(fn.get_trigger()).__name__ == "QueueTrigger"
    }


class LocalServer:
    """The app's HTTP functions on ``host:port`` plus an in-process queue. ``port=0`` picks
    a free port. ``start_worker=False`` leaves messages queued until ``queue.run_pending()``
    (tests use it to see a run queued, then finished)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 7071,
        key: str | None = None,
        *,
        max_dequeue: int = 3,
        retry_after_s: float = 5.0,
    ) -> None:
        functions = indexed(function_app())
        self.routes = routes(functions)
        self.key = key or secrets.token_urlsafe(32)
        self.queue = LocalQueue(queue_handlers(functions), max_dequeue, retry_after_s)
        self.httpd = ThreadingHTTPServer((host, port), _handler_class(self))
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def key_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.key.encode())

    def masked(self, text: str) -> str:
        """``text`` (a request line, a path) without this server's key or any other key a
        request named (``?code=``, ``x-functions-key``)."""
        return str(scrub(text, [self.key]))

    def start(self, worker: bool = True) -> LocalServer:
        """Serve in a background thread (and deliver queue messages, if ``worker``)."""
        if worker:
            self.queue.start()
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self.queue.stop()
        if self._thread is not None:
            self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Any:
        """Route one request to its function; returns (status, headers, body)."""
        parts = urlsplit(target)
        if not parts.path.startswith(PREFIX):
            return _json(404, "not_found", f"no function at {parts.path}; the API is under /api/")
        path = parts.path[len(PREFIX) :].strip("/")
        matches = [(r, m) for r in self.routes if (m := r.pattern.match(path))]
        if not matches:
            return _json(404, "not_found", f"no function at {parts.path}")
        allowed = [(r, m) for r, m in matches if method in r.methods]
        if not allowed:
            methods = sorted({m for r, _ in matches for m in r.methods})
            return _json(405, "method_not_allowed", f"use {', '.join(methods)}")
        route, match = allowed[0]
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if not route.anonymous:
            lowered = {k.lower(): v for k, v in headers.items()}
            if not self.key_ok(lowered.get("x-functions-key") or params.get("code")):
                return 401, {"Content-Length": "0"}, b""
        host = headers.get("Host") or headers.get("host") or "localhost"
        request = func.HttpRequest(
            method,
            f"http://{host}{target}",
            headers=headers,
            params=params,
            route_params=match.groupdict(),
            body=body,
        )
        outs = {name: Out() for name in route.queue_outputs}
        response = route.handler(request, **outs)
        for name, out in outs.items():
            if out.value:
                self.queue.put(route.queue_outputs[name], out.value)
        datum = HttpResponseConverter.encode(response, expected_type=None)
        value = datum.value
        payload = value["body"].value or b""
        out_headers = {k: str(getattr(v, "value", v)) for k, v in value["headers"].items()}
        return int(value["status_code"].value), out_headers, payload


def _json(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    body = strict_json.dumps({"error": {"code": code, "message": message}}).encode()
    return status, {"Content-Type": "application/json"}, body


def _handler_class(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "retrain-local"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                while length > 0:  # read and drop it, so the client hears the answer
                    length -= len(self.rfile.read(min(length, 65536)) or b"x" * length)
                status, headers, body = _json(413, "body_too_large", f"limit {MAX_BODY} bytes")
                self.close_connection = True
            else:
                data = self.rfile.read(length) if length else b""
                try:
                    status, headers, body = server.dispatch(
                        self.command, self.path, dict(self.headers.items()), data
                    )
                except Exception:
                    # the traceback as masked text, not attached: a sink with loguru's
                    # ``diagnose`` would print each frame's variables (the request's key)
                    logger.error(
                        "local server: {} {} failed\n{}",
                        self.command,
                        server.masked(self.path),
                        server.masked(traceback.format_exc().rstrip()),
                    )
                    status, headers, body = _json(500, "internal_error", "see the console log")
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

        def send_error(
            self, code: int, message: str | None = None, explain: str | None = None
        ) -> None:
            """http.server's own answers (a malformed request line) quote the request line:
            masked there too."""
            masked = None if message is None else server.masked(message)
            super().send_error(code, masked, explain)

        def log_message(self, format: str, *args: Any) -> None:
            """http.server's one log path (each request, and each error it answers itself,
            such as a malformed request line): masked, then to loguru at DEBUG."""
            logger.debug("local server: {}", server.masked(format % args))

    return Handler


def serve(
    host: str = "127.0.0.1",
    port: int = 7071,
    key: str | None = None,
    settings: Settings | None = None,
) -> None:
    """Serve until Ctrl-C, printing the console's address and its function key. Settings:
    ``settings``, else the environment's (a ConfigError names every bad one, at start)."""
    from retrain import bootstrap
    from retrain.entrypoints import app_services, logs

    if settings is None:
        settings = bootstrap.load_settings()
    app_services.override(bootstrap.build(settings), settings)
    key = key or secrets.token_urlsafe(32)
    logs.configure(
        settings.log_level,
        settings.log_format,
        [*settings.secrets(), key],  # the function key is masked in every log line too
        environment=settings.environment,
    )
    with LocalServer(host, port, key, max_dequeue=settings.max_attempts) as server:
        server.start()
        print(
            f"retrain console: {server.url}/api/console\n"
            f"function key (paste it when the page asks; keep it to yourself):\n"
            f"    {server.key}\n"
            "Queued runs train in this process. Stop with Ctrl-C.",
            flush=True,
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopped", flush=True)
