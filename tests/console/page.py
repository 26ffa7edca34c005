"""What the browser tests do on the page: open it, wait for text, click, take screenshots."""

from __future__ import annotations

import base64
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.console.conftest import OUTPUT

WAIT_S = 30  # generous: the machine may be shared


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
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    return str(path)


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
