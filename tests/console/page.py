"""What the browser tests do on the page: open it, wait for text, click, take screenshots."""

from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import Iterator
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.console.conftest import OUTPUT, ROOT

WAIT_S = 30  # generous: the machine may be shared
DOC_IMAGES = ROOT / "docs" / "img"
DESKTOP = (1400, 900)
PHONE = (390, 844)


def wait(driver: Any, condition: Any, seconds: float = WAIT_S) -> Any:
    return WebDriverWait(driver, seconds, poll_frequency=0.1).until(condition)


def visible(driver: Any, css: str, seconds: float = WAIT_S) -> Any:
    return wait(driver, EC.visibility_of_element_located((By.CSS_SELECTOR, css)), seconds)


def text_in(driver: Any, css: str, text: str, seconds: float = WAIT_S) -> Any:
    """The element once it shows ``text`` (found again if the page re-rendered it)."""
    wait(driver, EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text), seconds)
    return driver.find_element(By.CSS_SELECTOR, css)


def click_link(driver: Any, text: str) -> None:
    wait(driver, EC.element_to_be_clickable((By.LINK_TEXT, text))).click()


def heading(driver: Any, text: str) -> None:
    text_in(driver, "main h1", text)


def open_console(driver: Any, server: Any, key: str | None) -> None:
    """Load the page on a fresh origin (sessionStorage empty) and enter ``key``."""
    driver.get(f"{server.url}/api/console")
    field = visible(driver, "#key-input")
    if key is not None:
        field.send_keys(key)
        driver.find_element(By.CSS_SELECTOR, ".key-form button[type=submit]").click()


def shot(driver: Any, name: str, full_page: bool = True) -> str:
    """A PNG of the page under test-output/console/: the whole page, or the viewport (for
    a modal dialog, which sits in the viewport)."""
    path = OUTPUT / f"{name}.png"
    if not full_page:
        driver.save_screenshot(str(path))
        return str(path)
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    # captured beyond the viewport the page has no scroll bar: it is laid out that much wider
    width = max(size["width"], driver.execute_script("return innerWidth"))
    clip = {"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    return str(path)


def doc_shot(driver: Any, name: str, top: str, height: int, scale: float) -> None:
    """A small PNG for docs/console.md: ``height`` CSS px of the page from the top of the
    element ``top`` (a CSS selector), scaled by ``scale``. Written to docs/img/ only when
    RETRAIN_DOC_SHOTS=1 (a tracked file is not rewritten by every test run)."""
    if os.environ.get("RETRAIN_DOC_SHOTS") != "1":
        return
    y = driver.execute_script(
        "return document.querySelector(arguments[0]).getBoundingClientRect().top + scrollY - 8",
        top,
    )
    width = driver.execute_script("return document.documentElement.clientWidth")
    clip = {"x": 0, "y": max(0, y), "width": width, "height": height, "scale": scale}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    DOC_IMAGES.mkdir(parents=True, exist_ok=True)
    (DOC_IMAGES / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


def no_horizontal_scroll(driver: Any) -> bool:
    return driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1"
    )


def urls_loaded(driver: Any) -> list[str]:
    """The page's address and every resource and API call it made."""
    return driver.execute_script(
        "return [location.href, ...performance.getEntriesByType('resource').map(e => e.name)]"
    )


def table_rows(driver: Any, section_title: str) -> list[str]:
    """Text of each body row of the table under the section headed ``section_title``, read
    in one script call (the page re-renders polled tables while the test reads them)."""
    return driver.execute_script(
        """
        const section = [...document.querySelectorAll('main section')]
          .find((s) => s.querySelector('h2')?.textContent.trim() === arguments[0]);
        return section ? [...section.querySelectorAll('tbody tr')].map((r) => r.innerText) : [];
        """,
        section_title,
    )


def severe_console_errors(driver: Any, allowed: tuple[str, ...] = ()) -> list[str]:
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and not any(a in entry["message"] for a in allowed)
    ]


@contextlib.contextmanager
def window(driver: Any, width: int, height: int) -> Iterator[None]:
    """The browser window at ``width`` x ``height`` CSS px for a while (the session's other
    tests expect 1280 x 900)."""
    driver.set_window_size(width, height)
    inner = driver.execute_script("return [innerWidth, innerHeight]")
    # headless Chromium may keep a few px for its frame: ask again for the inner size
    driver.set_window_size(2 * width - inner[0], 2 * height - inner[1])
    try:
        yield
    finally:
        driver.set_window_size(1280, 900)


def in_viewport(driver: Any, css: str) -> bool:
    """Whether the element's box is wholly inside the viewport."""
    return driver.execute_script(
        """
        const box = document.querySelector(arguments[0]).getBoundingClientRect();
        return box.top >= 0 && box.left >= 0
          && box.bottom <= innerHeight && box.right <= innerWidth;
        """,
        css,
    )


def scroll_y(driver: Any) -> float:
    return driver.execute_script("return scrollY")


def focused(driver: Any) -> str:
    """The focused element as ``tag#id`` plus its text (for asserts and their messages)."""
    return driver.execute_script(
        "const e = document.activeElement;"
        "return `${e.tagName.toLowerCase()}#${e.id} ${e.textContent.trim()}`"
    )


@contextlib.contextmanager
def time_zone(driver: Any, zone: str) -> Iterator[None]:
    """The page's local time zone pinned to ``zone`` (an IANA name) for a while, whatever the
    machine's; the page is loaded after this starts."""
    driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": zone})
    try:
        yield
    finally:
        driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ""})
