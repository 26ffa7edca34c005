"""In a real browser (issue 25.4): the run list filters by model, trigger, status and days
(the viewer's days, asked of the API as UTC instants), shows each run's change against the
champion, and absolute times in the viewer's time zone with UTC on hover."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.console.page import (
    PHONE,
    heading,
    no_horizontal_scroll,
    open_console,
    severe_console_errors,
    shot,
    text_in,
    time_zone,
    wait,
    window,
)
from tests.console.test_accessibility import UNLABELLED
from tests.console.test_this_month import seed


def rows(driver: Any) -> list[str]:
    """The run list's rows as text, read in one call (the page re-renders it as it polls)."""
    return driver.execute_script(
        "return [...document.querySelectorAll('main tbody tr')].map((r) => r.innerText)"
    )


def run_ids(driver: Any) -> list[str]:
    return [row.split()[0] for row in rows(driver) if row.strip()]


def rows_become(driver: Any, expected: list[str]) -> None:
    wait(driver, lambda d: run_ids(d) == expected)


def pick(driver: Any, field: str, value: str) -> None:
    Select(driver.find_element(By.ID, field)).select_by_value(value)


def day(driver: Any, field: str, value: str) -> None:
    """A date field set as a date picker sets it (typing depends on the browser's locale)."""
    driver.execute_script(
        "const f = document.getElementById(arguments[0]); f.value = arguments[1];"
        "f.dispatchEvent(new Event('change', { bubbles: true }));",
        field,
        value,
    )


def of(batch: str, model: str) -> str:
    """The run id of ``model`` in ``batch`` (``<time>-<tag>``)."""
    stamp, _, tag = batch.partition("-")
    return f"{stamp}-{model}-{tag}"


def test_filters_times_and_deltas(browser, console):
    server, svc = console
    october, november, by_hand = seed(svc)
    every = sorted((r.run_id for r in svc.runs.list(limit=50)), reverse=True)
    assert len(every) == 9
    with time_zone(browser, "America/New_York"):
        open_console(browser, server, server.key)
        browser.find_element(By.LINK_TEXT, "Runs").click()
        heading(browser, "Runs")
        rows_become(browser, every)
        assert browser.execute_script(UNLABELLED) == []  # every filter has its label
        # absolute, in New York (UTC-4 until 1 November, 02:00), UTC on hover
        created = browser.find_element(
            By.CSS_SELECTOR, "main tbody time[datetime='2026-11-01T00:00:00.000Z']"
        )
        assert created.text == "2026-10-31 20:00"
        assert created.get_attribute("title").startswith("2026-11-01 00:00:00 UTC (")
        # the change against the champion, coloured by its sign
        core = next(r for r in rows(browser) if r.startswith(of(november, "KLASSE_CORE")))
        assert "-0.0500" in core
        assert browser.find_elements(By.CSS_SELECTOR, "main tbody td .up")

        pick(browser, "runs-trigger", "timer")
        rows_become(browser, [i for i in every if i.endswith("-monthly")])
        pick(browser, "runs-status", "failed")
        rows_become(browser, [of(november, "KLASSE_ROH"), of(october, "KLASSE_ROH")])
        pick(browser, "runs-status", "")
        wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#runs-model option")) == 4)
        pick(browser, "runs-model", "KLASSE_CORE")
        rows_become(browser, [of(november, "KLASSE_CORE"), of(october, "KLASSE_CORE")])
        pick(browser, "runs-model", "")
        # 31 October in New York holds November's batch (00:00 UTC on 1 November) and
        # nothing of October's: the days are the viewer's, not UTC's
        day(browser, "runs-from", "2026-10-31")
        day(browser, "runs-to", "2026-10-31")
        rows_become(browser, [i for i in every if i.startswith(november[:16])])
        day(browser, "runs-to", "2026-10-30")
        text_in(browser, "main", 'The "to" day is before the "from" day')
        day(browser, "runs-from", "")
        day(browser, "runs-to", "")
        pick(browser, "runs-trigger", "cli")
        text_in(browser, "main", "No run matches these filters.")
        pick(browser, "runs-trigger", "http")
        rows_become(browser, [i for i in every if i.startswith(by_hand[:16])])
        with window(browser, *PHONE):
            assert no_horizontal_scroll(browser)
            shot(browser, "61-run-filters-390")
        shot(browser, "61-run-filters-1280")
    assert severe_console_errors(browser) == []
