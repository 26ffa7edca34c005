"""The set-up the docs describe, as written: the Azurite command of docs/functions.md with
local.settings.json.template's settings, and what `make` says when a prerequisite is missing."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# UseDevelopmentStorage=true means Azurite's default ports on 127.0.0.1
BLOB, QUEUE, TABLE = 10000, 10001, 10002


def _documented_azurite_command() -> str:
    text = (ROOT / "docs" / "functions.md").read_text()
    line = next(x for x in text.splitlines() if x.strip().startswith("npx azurite"))
    return line.split("&")[0].strip()  # without the trailing "&  # comment"


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@contextlib.contextmanager
def _running(command: str, cwd: Path, log: Path):
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command, shell=True, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: npx and node, nothing else
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_for(port: int, proc: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not _port_taken(port):
        assert proc.poll() is None, f"Azurite exited: {log.read_text()[-2000:]}"
        assert time.monotonic() < deadline, f"nothing on port {port}: {log.read_text()[-2000:]}"
        time.sleep(0.2)


def test_the_documented_azurite_command_serves_the_templates_settings(tmp_path):
    if not (ROOT / "node_modules" / ".bin" / "azurite").exists():
        _unavailable("node_modules/.bin/azurite missing: run `make install`")
    if any(_port_taken(p) for p in (BLOB, QUEUE, TABLE)):
        _unavailable("Azurite's default ports 10000-10002 are taken by another process")
    command = _documented_azurite_command()
    assert "--skipApiVersionCheck" in command and "--disableTelemetry" in command
    # a folder like the repository root: npx finds the pinned Azurite in ./node_modules
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    shutil.copy(ROOT / "package.json", tmp_path / "package.json")
    log = tmp_path / "azurite.log"
    values = json.loads((ROOT / "local.settings.json.template").read_text())["Values"]
    with _running(command, tmp_path, log) as proc:
        for port in (BLOB, QUEUE, TABLE):
            _wait_for(port, proc, log)
        from azure.storage.blob import BlobServiceClient

        from retrain import bootstrap

        # the host's storage: the SDK's current API version is accepted
        host = BlobServiceClient.from_connection_string(values["AzureWebJobsStorage"])
        host.create_container("azure-webjobs-hosts")
        assert [c.name for c in host.list_containers()] == ["azure-webjobs-hosts"]
        # the app's artifact store, built from the template's settings as the app builds it
        settings = bootstrap.load_settings(values)
        models, runs = bootstrap.object_stores(settings)
        models.create("PROBE/versions/1/card.json", b"{}")
        assert models.list("PROBE/") == ["PROBE/versions/1/card.json"]
        runs.ping()
    output = log.read_text()
    assert (tmp_path / ".retrain" / "azurite").is_dir()  # --location, relative to the cwd
    assert not re.search(r"(?i)telemetry|ingestion endpoint|ECONNREFUSED|ENOTFOUND", output), output
