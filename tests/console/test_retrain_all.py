"""In a real browser (issue 25 B): "Retrain all models" asks first, naming how many models
it starts and how long the last batch took (from the runs the API lists); cancel starts
nothing, confirm starts them."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

from tests.console.page import (
    DESKTOP,
    PHONE,
    no_horizontal_scroll,
    open_console,
    severe_console_errors,
    shot,
    text_in,
    visible,
    wait,
    window,
)

START_ALL = "form[aria-label='Retrain all models'] button"


def milliseconds(iso: str) -> int:
    """As the console reads a time (JavaScript's ``Date.parse``): whole milliseconds, the
    microseconds cut off. With the microseconds a batch of 0.6499 s was expected as "0.6 s"
    where the page, from 0.650 s, wrote "0.7 s"."""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return round(moment.replace(microsecond=0).timestamp()) * 1000 + moment.microsecond // 1000


def duration(s: float) -> str:
    """As the console writes it (console.js ``duration``). JavaScript's ``toFixed`` and
    ``Math.round`` round a tie up, Python's format and ``round`` to even: a batch of exactly
    1.250 s reads "1.3 s" on the page and was expected as "1.2 s"."""
    if s < 10:
        return f"{Decimal(s).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)} s"
    whole = math.floor(s + 0.5)
    if s < 60:
        return f"{whole} s"
    return f"{whole // 60} min {whole % 60} s"


def ask(browser) -> str:
    """Click "Retrain all" once it can be clicked: after a start the page reloads its lists,
    and until then the button is disabled or about to be replaced (a click then is lost)."""

    def clicked(driver) -> bool:
        if driver.find_element(By.ID, "confirm").get_attribute("open"):
            return True
        try:
            button = driver.find_element(By.CSS_SELECTOR, START_ALL)
            if button.is_enabled():
                button.click()
        except StaleElementReferenceException:
            pass  # replaced by the reload: the next poll finds the new one
        return False

    wait(browser, clicked)
    dialog = visible(browser, "dialog#confirm")
    wait(browser, lambda d: "Last batch" in dialog.text)
    return dialog.text


def test_retrain_all_asks_first_naming_the_models_and_the_last_batch(browser, console):
    server, svc = console
    with window(browser, *DESKTOP):
        open_console(browser, server, server.key)
        text_in(browser, "main table tbody", "KLASSE_ROH")

        # first time: three models, no batch yet; cancel starts nothing
        text = ask(browser)
        assert "Retrain all 3 models?" in text
        assert "each of the 3 registered models: ARTFAM_ROH, KLASSE_CORE, KLASSE_ROH." in text
        assert "Last batch: no batch yet." in text
        assert browser.switch_to.active_element.get_attribute("id") == "confirm-cancel"
        shot(browser, "30-retrain-all-confirm", full_page=False)
        browser.find_element(By.ID, "confirm-cancel").click()
        text_in(browser, "#notice", "Nothing started.")
        assert svc.runs.list() == [] and len(server.queue) == 0
        # Escape is a cancel too
        ask(browser)
        browser.find_element(By.ID, "confirm-ok").send_keys("\ue00c")  # Escape
        wait(browser, lambda d: not d.find_element(By.ID, "confirm").get_attribute("open"))
        assert svc.runs.list() == [] and len(server.queue) == 0

        # confirm: one run per model, one batch
        ask(browser)
        browser.find_element(By.ID, "confirm-ok").click()
        text_in(browser, "#notice", "Queued: ARTFAM_ROH, KLASSE_CORE, KLASSE_ROH")
        assert len(server.queue) == 3
        (batch,) = {r.batch_id for r in svc.runs.list()}
        assert batch

        # asked again while they wait: still running, and each would be skipped
        text = ask(browser)
        assert "Last batch: 3 models, started" in text and "still running (0 of 3 finished)" in text
        assert "3 of them already have a run queued or running and will be skipped" in text
        browser.find_element(By.ID, "confirm-cancel").click()
        text_in(browser, "#notice", "Nothing started.")

        # once trained: how long the batch took, from its first start to its last finish
        assert server.queue.run_pending() == 3
        runs = svc.runs.list()
        ends = max(milliseconds(r.finished_at) for r in runs)
        took = (ends - min(milliseconds(r.started_at) for r in runs)) / 1000
        assert 0 < took < 600
        text = ask(browser)
        assert f"Last batch: 3 models, took {duration(took)} from its first start" in text
        assert "skipped" not in text
        shot(browser, "31-retrain-all-last-batch", full_page=False)
        browser.find_element(By.ID, "confirm-cancel").click()
        assert len(svc.runs.list()) == 3

    # on a phone the dialog fits the screen
    with window(browser, *PHONE):
        text = ask(browser)
        assert "Retrain all 3 models?" in text
        assert no_horizontal_scroll(browser)
        width = browser.execute_script("return document.getElementById('confirm').offsetWidth")
        assert width <= PHONE[0]
        browser.find_element(By.ID, "confirm-cancel").click()
    assert severe_console_errors(browser) == []


def test_a_model_over_its_start_limit_is_named_with_the_servers_reason(browser, console):
    """The notice read "skipped (already has run undefined)" with an empty link for a model
    over START_LIMIT_PER_MODEL: only the other kind of skip was written."""
    from retrain.service.rate_limit import StartLimits
    from retrain.service.start import start_runs

    server, svc = console
    svc.start_limits = StartLimits(per_model=1, per_caller=0, window_s=3600)
    start_runs(svc, ["KLASSE_ROH"], trigger="cli")  # its one start of the hour (the limit
    # is checked before whether a run is active)
    with window(browser, *DESKTOP):
        open_console(browser, server, server.key)
        text_in(browser, "main table tbody", "KLASSE_ROH")
        ask(browser)
        browser.find_element(By.ID, "confirm-ok").click()
        text_in(browser, "#notice", "KLASSE_ROH skipped: model KLASSE_ROH was started 1 time(s)")
        notice = browser.find_element(By.ID, "notice").text
        assert notice.startswith("Queued: ARTFAM_ROH, KLASSE_CORE; KLASSE_ROH skipped:")
        assert "undefined" not in notice and "retry after" in notice
        assert severe_console_errors(browser) == []
