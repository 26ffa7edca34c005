"""The console in a real headless Chromium (Debian's chromium + chromium-driver, driven by
Selenium) against the local server (`retrain console`) on a temp SQLite database and local
stores, with quick estimators.

The browser is installed by this set-up when missing (apt-get, as root; nothing else is
downloaded: Selenium is given the driver's path, so Selenium Manager never runs). Under
CI=true a browser that cannot be had fails the run; elsewhere its tests are skipped.
Screenshots go to test-output/console/ (ignored by git)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from retrain.entrypoints import app_services
from retrain.entrypoints.local_server import LocalServer
from tests.functions.conftest import build_services, quick_registry

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
DRIVER = Path(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
OUTPUT = ROOT / "test-output" / "console"
# headless as root on a closed network: no sandbox (root), no GPU, no background traffic
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--metrics-recording-only",
    "--password-store=basic",
    "--window-size=1280,900",
)


def install_browser() -> str | None:
    """Chromium and its driver from Debian's packages if missing; None or the problem."""
    if CHROMIUM.exists() and DRIVER.exists():
        return None
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return f"{CHROMIUM} or {DRIVER} missing: apt-get install chromium chromium-driver"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    packages = ["chromium", "chromium-driver", "fonts-dejavu-core"]
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
    ):
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=900, env=env, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{' '.join(command)}: {exc}"
        if done.returncode != 0:
            return f"{' '.join(command)} failed: {done.stderr[-800:]}"
    return None if CHROMIUM.exists() and DRIVER.exists() else "installed, yet not found"


@pytest.fixture(scope="session")
def browser(tmp_path_factory) -> Iterator[Any]:
    problem = install_browser()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no browser for the console tests: {problem}", pytrace=False)
        pytest.skip(f"no browser for the console tests: {problem}")
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=str(DRIVER))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture
def console(tmp_path) -> Iterator[tuple[LocalServer, Any]]:
    """The local server on a free port, its queue worker not started (tests deliver the
    messages with ``server.queue.run_pending()``), on the seed classifiers' data with quick
    estimators. Yields (server, services)."""
    svc, settings = build_services(tmp_path, registry=quick_registry())
    app_services.override(svc, settings)
    try:
        with LocalServer("127.0.0.1", 0, max_dequeue=3, retry_after_s=0.05) as server:
            server.start(worker=False)
            yield server, svc
    finally:
        app_services.override(None)
