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


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The files the Makefile reads, in a folder of their own (nothing installs there)."""
    for name in ("Makefile", "requirements.txt", "requirements-dev.txt", "pyproject.toml",
                 "package.json", "package-lock.json"):  # fmt: skip
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _make(project: Path, *args: str, path: str | None = None, **env: str):
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "MAKEFLAGS", "MFLAGS")}
    environ.update(env)
    if path is not None:
        environ["PATH"] = path
    return subprocess.run(
        [shutil.which("make") or "make", "--no-print-directory", *args],
        cwd=project, env=environ, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _tools(folder: Path, scripts: dict[str, str]) -> str:
    """A PATH with the few commands the Makefile itself needs, plus ``scripts``."""
    folder.mkdir()
    for tool in ("sh", "cat", "cksum", "cut", "touch", "rm"):
        (folder / tool).symlink_to(shutil.which(tool) or f"/bin/{tool}")
    for name, body in scripts.items():
        (folder / name).write_text("#!/bin/sh\n" + body)
        (folder / name).chmod(0o755)
    return str(folder)


def test_make_names_a_missing_or_wrong_python(project):
    done = _make(project, "PYTHON=python3.11-not-here")
    assert done.returncode != 0
    assert "missing: Python 3.11 ('python3.11-not-here' is not on PATH)" in done.stdout
    old = 'if [ "$1" = --version ]; then echo "Python 3.9.2"; exit 0; fi; exit 1\n'
    path = _tools(project / "bin", {"python-old": old})
    done = _make(project, "PYTHON=python-old", path=path)
    assert done.returncode != 0
    assert "wrong Python: 'python-old' is Python 3.9.2; this project needs 3.11" in done.stdout
    assert not (project / ".venv").exists()


def test_make_names_a_missing_or_old_node(project):
    path = _tools(project / "bin", {})
    done = _make(project, "node_modules/.installed", path=path)
    assert done.returncode != 0 and "missing: Node.js 20 with npm" in done.stdout
    old_node = 'if [ "$1" = --version ]; then echo v18.19.0; exit 0; fi; exit 1\n'
    path = _tools(project / "bin2", {"node": old_node, "npm": "exit 0\n"})
    done = _make(project, "node_modules/.installed", path=path)
    assert done.returncode != 0
    assert "Node.js v18.19.0 is too old: Azurite needs Node.js 20 or newer" in done.stdout


def test_make_says_when_postgresql_is_missing_and_fails_only_under_ci(project):
    done = _make(project, "check-postgres", PG_BIN="/nowhere/bin")
    assert done.returncode == 0
    assert "missing: PostgreSQL 15 server binaries in PG_BIN=/nowhere/bin" in done.stdout
    assert "will be skipped" in done.stdout
    done = _make(project, "check-postgres", PG_BIN="/nowhere/bin", CI="true")
    assert done.returncode != 0 and "will be skipped" not in done.stdout
