"""`retrain console`'s local server never writes a function key to a log, at any level:
not the request lines http.server logs (a key in ``?code=``, a wrong key, a malformed
request line), not a failed request's traceback; neither through a bare loguru sink at
DEBUG nor through the app's own log configuration, and nothing on stderr from http.server
itself."""

from __future__ import annotations

import dataclasses
import io
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from loguru import logger

from retrain.entrypoints import logs
from retrain.entrypoints.local_server import LocalServer
from retrain.redact import scrub
from tests.functions.conftest import build_services, quick_registry

WRONG = "a-wrong-key-that-is-also-secret-0123456789"


@pytest.fixture
def server(tmp_path, use) -> Iterator[LocalServer]:
    svc, settings = build_services(tmp_path, registry=quick_registry())
    use(svc, settings)
    with LocalServer("127.0.0.1", 0, max_dequeue=1, retry_after_s=0.05) as server:
        server.start(worker=False)
        yield server


def get(server: LocalServer, path: str, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(f"{server.url}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def raw(server: LocalServer, request: bytes) -> bytes:
    """Bytes as sent, for a request line urllib would refuse to write."""
    host, port = server.httpd.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=30) as conn:
        conn.sendall(request)
        return conn.recv(65536)


def every_way_a_key_reaches_the_server(server: LocalServer, monkeypatch: Any) -> None:
    key = server.key
    assert get(server, f"/api/models?code={key}") == 200
    assert get(server, f"/api/models?x=1&code={key}&y=2") == 200
    assert get(server, f"/api/models?code={WRONG}") == 401
    assert get(server, "/api/models", {"x-functions-key": key}) == 200
    answer = raw(server, f"GET /api/models?code={key} HTTP/1.1 extra\r\n\r\n".encode())
    assert b"400" in answer and key.encode() not in answer  # http.server's own answer
    answer = raw(server, f"GET /api/models?code={key} HTTP/9.9\r\n\r\n".encode())
    assert b"505" in answer and key.encode() not in answer

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the handler broke")

    routes = [
        dataclasses.replace(r, handler=broken) if r.name == "list_models" else r
        for r in server.routes
    ]
    monkeypatch.setattr(server, "routes", routes)
    assert get(server, f"/api/models?code={key}") == 500


@pytest.mark.parametrize("configured", [False, True], ids=["bare-sink", "app-logs"])
def test_no_key_reaches_a_log_at_debug(server, monkeypatch, capfd, configured):
    lines: list[str] = []
    if configured:  # as `retrain console` configures it, minus the key: masked at the source
        logs.configure("DEBUG", "json", [], stream=io.StringIO())
        sink = logger.add(lines.append, level="DEBUG", format="{message}")
    else:
        logger.remove()
        logger.configure(patcher=None)
        sink = logger.add(lines.append, level="DEBUG", format="{message}", diagnose=True)
    try:
        every_way_a_key_reaches_the_server(server, monkeypatch)
    finally:
        logger.remove(sink)
    text = "\n".join(lines)
    assert "GET /api/models?code=*** HTTP/1.1" in text  # the request lines are logged
    assert "Bad request" in text and "code 400" in text  # so is http.server's own error
    assert "RuntimeError: the handler broke" in text  # and the failed request's traceback
    assert server.key not in text and WRONG not in text
    captured = capfd.readouterr()
    assert server.key not in captured.err + captured.out
    assert WRONG not in captured.err + captured.out


def test_the_redactor_masks_keys_in_request_lines_and_headers():
    for text in (
        "GET /api/models?code=s3cr3t-k3y HTTP/1.1",
        "GET /api/models?model=X&code=s3cr3t-k3y&limit=5 HTTP/1.1",
        "GET /api/models?CODE=s3cr3t-k3y",
        "{'x-functions-key': 's3cr3t-k3y'}",
        "x-functions-key: s3cr3t-k3y",
    ):
        assert "s3cr3t-k3y" not in scrub(text, []), text
    assert scrub("exit code=2", []) == "exit code=2"  # not a query: left as it is
