"""In a real browser: usable by keyboard alone, every field labelled, and readable on a
phone (no sideways scrolling of the page)."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.console.page import (
    DESKTOP,
    heading,
    no_horizontal_scroll,
    shot,
    text_in,
    visible,
    wait,
    window,
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


def test_compare_and_more_by_keyboard_alone(browser, console):
    """Issue 25's controls: every field labelled; the compare form and the compare view
    reached and used with Tab and Enter; the focus follows each new view ("Show more" by
    keyboard: test_readable.py)."""
    server, svc = console
    for _ in range(3):
        train(svc, "KLASSE_ROH")
    with window(browser, *DESKTOP):
        browser.get(f"{server.url}/api/console")
        visible(browser, "#key-input").send_keys(server.key, Keys.ENTER)
        text_in(browser, "main table tbody", "KLASSE_ROH")
        tab_to(browser, "KLASSE_ROH").send_keys(Keys.ENTER)
        heading(browser, "KLASSE_ROH")
        wait(browser, lambda d: d.switch_to.active_element.tag_name == "h1")
        wait(browser, lambda d: d.find_element(By.ID, "compare-b").get_attribute("value") == "v3")
        assert browser.execute_script(UNLABELLED) == []
        button = tab_to(browser, "Compare", limit=80)
        assert button is not None, "the compare button is not reachable with Tab"
        button.send_keys(Keys.ENTER)
        heading(browser, "KLASSE_ROH v2 → v3")  # the newest (the champion) and the one before
        wait(browser, lambda d: d.switch_to.active_element.tag_name == "h1")
        assert tab_to(browser, "v3 (champion) card") is not None
        assert tab_to(browser, "Swap: v3 → v2") is not None
        browser.switch_to.active_element.send_keys(Keys.ENTER)
        heading(browser, "KLASSE_ROH v3 → v2")
        assert browser.execute_script(UNLABELLED) == []
