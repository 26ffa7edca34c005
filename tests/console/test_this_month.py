"""In a real browser (issue 25.4, issue 20.3): "This month" shows the monthly timer's newest
batch as one group (per model the outcome, score, the champion's score and the change,
findings, duration; the batch's Slack thread), links the other recent batches, and a
statistics panel reads GET /api/training/statistics over the window the viewer picks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.console.page import (
    DESKTOP,
    PHONE,
    click_link,
    doc_shot,
    heading,
    no_horizontal_scroll,
    open_console,
    severe_console_errors,
    shot,
    table_rows,
    text_in,
    time_zone,
    wait,
    window,
)
from tests.console.seed import batch_runs
from tests.console.test_accessibility import UNLABELLED
from tests.console.test_readable import card_layout

OCT = datetime(2026, 10, 1, tzinfo=UTC)
NOV = datetime(2026, 11, 1, tzinfo=UTC)
PERMALINK = "https://example.slack.com/archives/C0FAKE/p1790000000000001"
RESULTS = {
    "ARTFAM_ROH": ("promoted", 0.81, 0.8),
    "KLASSE_CORE": ("kept_champion", 0.7, 0.75),
    "KLASSE_ROH": ("failed", None, None),
}


def seed(svc) -> tuple[str, str, str]:
    """Two monthly batches (November's announced in a Slack thread) and a later one started
    by hand, which "This month" must not take for the month's."""
    october = batch_runs(svc, OCT, "monthly", "timer", RESULTS)
    slack = {"channel": "C0FAKE", "ts": "1790000000.000001", "permalink": PERMALINK}
    november = batch_runs(svc, NOV, "monthly", "timer", RESULTS, slack=slack)
    by_hand = batch_runs(svc, NOV + timedelta(days=3), "a1b2c3d4", "http", RESULTS)
    return october, november, by_hand


def facts(driver) -> dict[str, str]:
    return driver.execute_script(
        "const out = {}; document.querySelectorAll('main dl.facts dt').forEach((dt) => {"
        " out[dt.innerText] = dt.nextElementSibling.innerText; }); return out;"
    )


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1400x900", "390x844"])
def test_this_month_is_the_newest_timer_batch_with_its_slack_thread(browser, console, size):
    server, svc = console
    october, november, by_hand = seed(svc)
    with time_zone(browser, "Europe/Berlin"), window(browser, *size):
        open_console(browser, server, server.key)
        click_link(browser, "This month")
        heading(browser, "This month")
        wait(browser, lambda d: len(table_rows(d, "Models in the batch")) == 3)
        rows = table_rows(browser, "Models in the batch")
        seen = facts(browser)
        assert seen["Batch"] == november
        assert seen["Started by"] == "timer: monthly retraining"
        assert seen["Started"] == "2026-11-01 01:00"  # Berlin, UTC+1 in November
        assert seen["Took"] == "53 s, from the first start to the last finish"
        assert seen["Outcomes"] == "1 promoted, 1 kept champion, 1 failed"
        slack = browser.find_element(By.CSS_SELECTOR, "main dl.facts a[href^='https://']")
        assert slack.get_attribute("href") == PERMALINK and slack.text == "Slack thread"
        text = [" ".join(r.split()) for r in rows]
        assert "ARTFAM_ROH" in text[0] and "promoted" in text[0]
        assert "0.8100 f1_macro" in text[0] and "v1 · 0.8000" in text[0]
        assert "+0.0100" in text[0] and "31 s" in text[0] and "v2" in text[0]
        assert "KLASSE_CORE" in text[1] and "kept champion" in text[1]
        assert "-0.0500" in text[1] and "1 finding" in text[1] and "41 s" in text[1]
        assert "KLASSE_ROH" in text[2] and "failed in fit" in text[2]
        delta = browser.find_element(By.CSS_SELECTOR, "main tbody tr:nth-child(2) .down")
        assert delta.text == "-0.0500"
        # the other batches, newest first, this one marked
        wait(browser, lambda d: len(table_rows(d, "Recent batches")) == 3)
        batches = table_rows(browser, "Recent batches")
        assert [b.split()[0] for b in batches] == [by_hand, november, october]
        assert f"{november} (shown)" in batches[1]
        if size == PHONE:
            expected = {"display": "flex", "statusFirst": True, "inside": True, "named": True}
            assert card_layout(browser, "Models in the batch") == [expected] * 3
        assert no_horizontal_scroll(browser)
        shot(browser, f"60-this-month-{size[0]}")
        if size == DESKTOP:
            doc_shot(browser, "console-this-month", "main .crumbs", height=1000, scale=0.6)
        # October's batch, from the list: no Slack thread recorded
        browser.find_element(By.CSS_SELECTOR, f"a[href='#/batches/{october}']").click()
        heading(browser, f"Batch {october}")
        text_in(browser, "main dl.facts", "not posted to Slack as a thread")
        assert facts(browser)["Started"] == "2026-10-01 02:00"  # CEST, UTC+2
    assert severe_console_errors(browser) == []


def test_the_statistics_panel_reads_the_window_chosen(browser, console):
    server, svc = console
    seed(svc)  # 9 runs, 3 of them failed; NOW is 2026-11-22, so 30 days leave out October
    open_console(browser, server, server.key)
    browser.execute_script("location.hash = '#/batches'")
    heading(browser, "This month")
    wait(browser, lambda d: len(table_rows(d, "Statistics")) == 4)
    assert browser.execute_script(UNLABELLED) == []
    overall = " ".join(table_rows(browser, "Statistics")[0].split())
    assert overall.startswith("All models 9 66.7 %"), overall
    assert "3 / 0 / 3 / 0 / 3" in overall  # promoted / awaiting approval / kept / rejected / failed
    Select(browser.find_element(By.ID, "stats-days")).select_by_value("30")
    wait(browser, lambda d: " ".join(table_rows(d, "Statistics")[0].split()).startswith(
        "All models 6 66.7 %"))  # fmt: skip
    per_model = [" ".join(r.split()) for r in table_rows(browser, "Statistics")[1:]]
    assert [r.split()[0] for r in per_model] == ["ARTFAM_ROH", "KLASSE_CORE", "KLASSE_ROH"]
    assert per_model[2].startswith("KLASSE_ROH 2 0.0 %")
    assert severe_console_errors(browser) == []


def test_without_a_monthly_batch_the_view_says_so(browser, console):
    server, _ = console
    open_console(browser, server, server.key)
    browser.execute_script("location.hash = '#/batches'")
    heading(browser, "This month")
    text_in(browser, "main", "No monthly batch yet")
    assert severe_console_errors(browser) == []
