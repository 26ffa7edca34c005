"""In a real browser: usable by keyboard alone, every field labelled, and readable on a
phone (no sideways scrolling of the page)."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.console.page import (
    heading,
    no_horizontal_scroll,
    shot,
    text_in,
    visible,
    wait,
)
from tests.console.test_click_through import train

UNLABELLED = """
return [...document.querySelectorAll('input, select, textarea')]
  .filter((el) => el.type !== 'hidden' && !el.labels.length && !el.getAttribute('aria-label'))
  .map((el) => el.outerHTML);
"""


def tab_to(driver, text, limit=40):
    """Press Tab until the focused element's text is ``text``; False if it never is."""
    body = driver.find_element(By.TAG_NAME, "body")
    for _ in range(limit):
        body.send_keys(Keys.TAB)
        active = driver.switch_to.active_element
        if active.text.strip() == text:
            return active
    return None


def test_keyboard_only_labels_and_a_phone_screen(browser, console):
    server, svc = console
    train(svc, "KLASSE_ROH")
    train(svc, "KLASSE_ROH")
    browser.set_window_size(390, 844)  # a phone
    try:
        browser.get(f"{server.url}/api/console")
        field = visible(browser, "#key-input")
        assert browser.switch_to.active_element == field  # the key field has the focus
        field.send_keys(server.key, Keys.ENTER)
        text_in(browser, "main table tbody", "KLASSE_ROH")
        assert browser.execute_script(UNLABELLED) == []
        assert no_horizontal_scroll(browser)
        shot(browser, "11-phone-models")

        link = tab_to(browser, "KLASSE_ROH")
        assert link is not None, "the model link is not reachable with Tab"
        link.send_keys(Keys.ENTER)
        heading(browser, "KLASSE_ROH")
        wait(browser, lambda d: d.switch_to.active_element.tag_name == "h1")  # focus follows
        visible(browser, "svg.chart")
        assert browser.execute_script(UNLABELLED) == []
        assert no_horizontal_scroll(browser)
        shot(browser, "12-phone-model")

        marks = browser.find_elements(By.CSS_SELECTOR, "svg.chart a.mark")
        assert len(marks) == 2 and all(m.get_attribute("aria-label") for m in marks)
        marks[0].send_keys(Keys.ENTER)  # chart marks are links to the cards
        heading(browser, "KLASSE_ROH v1")
        assert no_horizontal_scroll(browser)
        shot(browser, "13-phone-card")
    finally:
        browser.set_window_size(1280, 900)
