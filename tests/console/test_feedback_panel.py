"""In a real browser (issue 27): the model page's "Corrections from people" panel: this
month's corrections, live agreement and the newest disagreements; readable on a phone."""

from __future__ import annotations

from dataclasses import replace

import pytest

from retrain.domain.specs import Registry
from retrain.service import feedback
from tests.console.page import (
    DESKTOP,
    PHONE,
    heading,
    no_horizontal_scroll,
    open_console,
    severe_console_errors,
    table_rows,
    text_in,
    window,
)
from tests.console.seed import train


def correction(n: int, true_label: str, when: str) -> dict:
    return {"key": n, "predicted": "A", "true_label": true_label, "who": f"line-{n}", "when": when}


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1400x900", "390x844"])
def test_the_model_page_shows_this_months_corrections(browser, console, size):
    server, svc = console
    train(svc, "KLASSE_ROH")  # its classes flag the unknown one
    records = [correction(n, "A", "2026-11-20T08:00:00Z") for n in range(1, 4)]
    records += [
        correction(7, "C", "2026-11-19T08:00:00Z"),
        correction(8, "Z", "2026-11-21T08:00:00Z"),
    ]
    feedback.receive(svc, "KLASSE_ROH", "week-47", records)
    with window(browser, *size):
        open_console(browser, server, server.key)
        browser.execute_script("location.hash = '#/models/KLASSE_ROH'")
        heading(browser, "KLASSE_ROH")
        text_in(browser, "section[aria-labelledby=feedback-title]", "5 corrections in 1 batch")
        panel = browser.find_element("css selector", "section[aria-labelledby=feedback-title]").text
        assert "60.0 %: the prediction was right in 3 of 5 corrections" in panel
        assert 'no (corrections="ignore")' in panel
        rows = table_rows(browser, "Corrections from people")
        assert len(rows) == 2 and "line-8" in rows[0] and "line-7" in rows[1]  # newest first
        assert "does not know" in rows[0]
        assert no_horizontal_scroll(browser)
    assert severe_console_errors(browser) == []


def test_the_card_and_the_compare_view_say_what_corrections_a_version_used(browser, console):
    server, svc = console
    svc.registry = Registry(
        [replace(s, corrections="override") if s.name == "KLASSE_CORE" else s for s in svc.registry]
    )
    train(svc, "KLASSE_CORE")
    records = [correction(n, "CORE_NEW", "2026-11-20T08:00:00Z") for n in range(1, 31)]
    feedback.receive(
        svc,
        "KLASSE_CORE",
        "week-47",
        [*records, correction(99_999, "FINE", "2026-11-20T08:00:00Z")],
    )
    assert train(svc, "KLASSE_CORE").version == 2
    used = (
        "override: 30 used of 31 received, 0 refused, 1 without a row "
        "(sent 2026-11-20 to 2026-11-20)"
    )
    with window(browser, *DESKTOP):
        open_console(browser, server, server.key)
        browser.execute_script("location.hash = '#/models/KLASSE_CORE/versions/2'")
        heading(browser, "KLASSE_CORE v2")
        text_in(browser, "main dl.facts", used)
        browser.execute_script("location.hash = '#/models/KLASSE_CORE/compare/1/2'")
        text_in(browser, "section[aria-labelledby=cmp-data-title]", used)
        data = browser.find_element("css selector", "section[aria-labelledby=cmp-data-title]").text
        assert "override: 0 used of 0 received" in data  # v1 trained before any correction
    assert severe_console_errors(browser) == []
