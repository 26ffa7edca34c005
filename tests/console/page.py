"""What the browser tests do on the page: open it, wait for text, click, take screenshots."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.console.conftest import OUTPUT

WAIT_S = 15


def wait(driver: Any, condition: Any, seconds: float = WAIT_S) -> Any:
    return WebDriverWait(driver, seconds, poll_frequency=0.1).until(condition)


def visible(driver: Any, css: str, seconds: float = WAIT_S) -> Any:
    return wait(driver, EC.visibility_of_element_located((By.CSS_SELECTOR, css)), seconds)


def text_in(driver: Any, css: str, text: str, seconds: float = WAIT_S) -> Any:
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


def shot(driver: Any, name: str) -> str:
    path = OUTPUT / f"{name}.png"
    driver.save_screenshot(str(path))
    return str(path)


def table_rows(driver: Any, section_title: str) -> list[str]:
    """Text of each body row of the table under the section headed ``section_title``."""
    xpath = f"//section[h2[normalize-space()='{section_title}']]//tbody/tr"
    return [row.text for row in driver.find_elements(By.XPATH, xpath)]


def severe_console_errors(driver: Any, allowed: tuple[str, ...] = ()) -> list[str]:
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and not any(a in entry["message"] for a in allowed)
    ]
