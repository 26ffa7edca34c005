"""In a real browser (issue 25, item 3): health at a glance. The models list shows each
model's status as a badge with its word, its drift findings and its last failure (linked to
its run), failing and decaying models first; the model page shows the same block with the
reasons; on a phone each model's card starts with its status."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest
from selenium.webdriver.common.by import By

from retrain.service.decay import check
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.console.page import (
    DESKTOP,
    PHONE,
    heading,
    no_horizontal_scroll,
    open_console,
    severe_console_errors,
    shot,
    table_rows,
    text_in,
    visible,
    wait,
    window,
)
from tests.console.seed import train
from tests.console.test_readable import card_layout


class Wrapped:
    """The source, changed for one model by ``change(frame, spec, source)``."""

    def __init__(self, source: Any, model: str, change: Any) -> None:
        self.source, self.model, self.change = source, model, change

    def load(self, spec: Any, *args: Any, **kwargs: Any) -> pd.DataFrame:
        frame = self.source.load(spec, *args, **kwargs)
        return self.change(frame, spec, self.source) if spec.name == self.model else frame

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)


def too_few(frame: pd.DataFrame, spec: Any, source: Any) -> pd.DataFrame:
    return frame.head(10)


def a_month_of_wrong_labels(frame: pd.DataFrame, spec: Any, source: Any) -> pd.DataFrame:
    """The newest 400 rows again a month later, their labels shuffled among each other."""
    new = source.load(spec, date(2000, 1, 1)).tail(400).copy()
    new[spec.time_column] = pd.to_datetime(new[spec.time_column]) + pd.Timedelta(days=30)
    new[spec.target] = new[spec.target].sample(frac=1, random_state=7).to_numpy()
    return pd.concat([frame, new], ignore_index=True)


def with_source(svc: Any, source: Any, call: Any) -> Any:
    healthy = svc.source
    svc.source = source
    try:
        return call()
    finally:
        svc.source = healthy


def seed(svc: Any) -> str:
    """KLASSE_ROH healthy, KLASSE_CORE failing (its newest run), ARTFAM_ROH decaying (a
    decay check on a month of wrong labels). Returns the failed run's id."""
    for model in ("KLASSE_ROH", "KLASSE_CORE", "ARTFAM_ROH"):
        assert train(svc, model).outcome == "promoted"
    (run,) = start_runs(svc, ["KLASSE_CORE"], trigger="cli", reason="new month").runs
    failed = with_source(
        svc, Wrapped(svc.source, "KLASSE_CORE", too_few), lambda: execute_run(svc, run.run_id)
    )
    assert failed.status == "failed"
    wrong = Wrapped(svc.source, "ARTFAM_ROH", a_month_of_wrong_labels)
    (result,) = with_source(svc, wrong, lambda: check(svc, ["ARTFAM_ROH"])).results
    assert result.status in ("decaying", "below_floor"), result
    return failed.run_id


def status_cells(driver: Any) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('main tbody tr')].map((r) =>"
        " `${r.querySelector('th').innerText} ${r.querySelector('.status-cell').innerText}`)"
    )


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1400x900", "390x844"])
def test_the_models_list_and_page_show_health_failing_and_decaying_first(browser, console, size):
    server, svc = console
    failed = seed(svc)
    with window(browser, *size):
        open_console(browser, server, server.key)
        text_in(browser, "main table tbody", "KLASSE_CORE")
        assert status_cells(browser) == [
            "KLASSE_CORE failing",
            "ARTFAM_ROH decaying",
            "KLASSE_ROH healthy",
        ]
        core, artfam, roh = table_rows(browser, "Registered models")
        assert "failed in validate" in core and "needs at least" in core
        assert "on new data" in artfam and "on new data" not in roh
        assert "none" in roh  # no drift findings
        badge = browser.find_element(By.CSS_SELECTOR, "main tbody tr .status-cell .badge")
        assert badge.text == "failing"  # a word, not only a colour
        if size == PHONE:  # a card per model, its status first
            assert {r["statusFirst"] for r in card_layout(browser, "Registered models")} == {True}
        assert no_horizontal_scroll(browser)
        shot(browser, f"60-health-models-{size[0]}")

        # the failure links to its run
        link = browser.find_element(By.CSS_SELECTOR, f"main tbody a[href='#/runs/{failed}']")
        assert link.text == "failed in validate"
        link.click()
        heading(browser, f"Run {failed}")
        browser.back()
        text_in(browser, "main table tbody", "KLASSE_CORE")

        # the model page: the same block, with the reasons
        browser.execute_script("location.hash = '#/models/ARTFAM_ROH'")
        heading(browser, "ARTFAM_ROH")
        facts = visible(browser, "main dl.facts").text
        assert "Status\ndecaying\nchampion v1 scores 0." in facts
        assert "on new rows (decay check" in facts
        assert "Champion on new data" in facts and "(decay check," in facts
        assert "Drift findings\nnone" in facts and "Last failure\n\u2013" in facts
        browser.execute_script("location.hash = '#/models/KLASSE_CORE'")
        heading(browser, "KLASSE_CORE")
        wait(browser, lambda d: "Last failure" in d.find_element(By.CSS_SELECTOR, "main dl").text)
        facts = browser.find_element(By.CSS_SELECTOR, "main dl.facts").text
        assert f"Status\nfailing\nrun {failed} failed in validate: " in facts
        assert browser.find_elements(By.CSS_SELECTOR, f"main dl.facts a[href='#/runs/{failed}']")
        assert no_horizontal_scroll(browser)
        shot(browser, f"61-health-model-page-{size[0]}")
    assert severe_console_errors(browser) == []
