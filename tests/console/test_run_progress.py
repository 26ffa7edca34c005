"""In a real browser (issue 20.3): a running run's page shows a progress bar from the run's
status (the share of the run, the stage and, in the fit, the boosting rounds done of those
planned), follows it as the run moves on, and drops it once the run has finished."""

from __future__ import annotations

from datetime import timedelta

from selenium.webdriver.common.by import By

from retrain.domain.runs import Outcome, RunRecord, RunStatus, Stage, iso, new_run_id, progress
from tests.console.page import heading, open_console, severe_console_errors, text_in, wait
from tests.console.test_this_month import facts
from tests.functions.conftest import NOW


def test_a_running_run_shows_a_progress_bar_that_follows_the_run(browser, console):
    server, svc = console
    at = NOW + timedelta(minutes=5)
    record = RunRecord(
        run_id=new_run_id("KLASSE_CORE", at, "prog0001"),
        model="KLASSE_CORE",
        status=RunStatus.RUNNING,
        stage=Stage.FIT,
        created_at=iso(at),
        started_at=iso(at),
        attempts=1,
        progress=progress(Stage.FIT, 40, 400),
    )
    assert svc.runs.create(record)
    expected = round(progress(Stage.FIT, 40, 400)["fraction"] * 100)
    open_console(browser, server, server.key)
    browser.execute_script("location.hash = arguments[0]", f"#/runs/{record.run_id}")
    heading(browser, f"Run {record.run_id}")
    bar = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "main dd progress"))[0]
    assert bar.get_attribute("value") == str(expected)
    assert bar.get_attribute("aria-label") == f"Run progress: {expected} %"
    assert f"{expected} % · fit, 40 of at most 400 boosting rounds" in facts(browser)["Progress"]

    # the page polls the status: the bar moves with the run, then goes once it is done
    record = svc.runs.get(record.run_id)
    record.progress = progress(Stage.FIT, 200, 400)
    svc.runs.save(record)
    later = round(progress(Stage.FIT, 200, 400)["fraction"] * 100)
    text_in(browser, "main dl.facts", f"{later} % · fit, 200 of at most 400 boosting rounds")
    record = svc.runs.get(record.run_id)
    record.status, record.stage, record.outcome = RunStatus.FAILED, Stage.FIT, Outcome.FAILED
    record.finished_at = iso(at + timedelta(seconds=30))
    record.error = {"stage": "fit", "type": "MemoryError", "message": "out of memory"}
    svc.runs.save(record)
    wait(browser, lambda d: "Progress" not in facts(d))
    assert not browser.find_elements(By.CSS_SELECTOR, "main progress")
    assert severe_console_errors(browser) == []
