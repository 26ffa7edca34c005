"""In a real browser: a wrong key is refused and the key never reaches a URL; conflicts,
refusals, failed and dry runs are shown in words."""

from __future__ import annotations

import urllib.error
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from retrain.domain.errors import BackendError
from tests.console.page import (
    click_link,
    heading,
    open_console,
    severe_console_errors,
    shot,
    table_rows,
    text_in,
    urls_loaded,
    visible,
    wait,
)
from tests.console.test_click_through import train


def status_of(url, headers):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_a_wrong_key_is_refused_and_the_key_never_reaches_a_url(browser, console):
    server, _ = console
    assert status_of(f"{server.url}/api/models", {}) == (401, b"")
    assert status_of(f"{server.url}/api/models", {"x-functions-key": "guess"}) == (401, b"")
    shell = status_of(f"{server.url}/api/console", {})  # anonymous: it holds no data
    assert shell[0] == 200 and b"KLASSE_ROH" not in shell[1]

    open_console(browser, server, "guess")
    text_in(browser, "#key-error", "The function key was refused")
    assert not browser.find_elements(By.CSS_SELECTOR, "main table")
    assert browser.execute_script("return sessionStorage.length") == 0
    shot(browser, "07-wrong-key-refused")

    field = visible(browser, "#key-input")
    field.send_keys(server.key)
    browser.find_element(By.CSS_SELECTOR, ".key-form button[type=submit]").click()
    text_in(browser, "main table tbody", "KLASSE_ROH")
    browser.find_element(By.ID, "dry-all").click()  # retrain all, as a dry run
    browser.find_element(By.CSS_SELECTOR, "form[aria-label='Retrain all models'] button").click()
    dialog = visible(browser, "dialog#confirm")  # it asks first (test_retrain_all.py)
    assert "Dry-run all 3 models?" in dialog.text and "no dry-run batch yet" in dialog.text
    browser.find_element(By.ID, "confirm-ok").click()
    text_in(browser, "#notice", "Dry run queued: ARTFAM_ROH, KLASSE_CORE, KLASSE_ROH")
    assert len(server.queue) == 3
    loaded = urls_loaded(browser)
    assert not [url for url in loaded if server.key in url]
    assert all(url.startswith(server.url) for url in loaded)

    browser.find_element(By.ID, "forget-key").click()
    visible(browser, "#key-input")
    assert browser.execute_script("return sessionStorage.length") == 0
    allowed = ("status of 401",)  # the refused calls, as the browser logs them
    assert severe_console_errors(browser, allowed) == []


def test_conflicts_refusals_and_failed_or_dry_runs_are_explained(browser, console):
    server, svc = console
    assert train(svc, "KLASSE_CORE").version == 1
    open_console(browser, server, server.key)
    text_in(browser, "main table tbody", "KLASSE_CORE")
    click_link(browser, "KLASSE_CORE")
    heading(browser, "KLASSE_CORE")
    start = browser.find_element(By.CSS_SELECTOR, "form[aria-label='Retrain KLASSE_CORE'] button")

    # a second start while the first is queued: 409 in words, with the run that blocks
    start.click()
    text_in(browser, "#notice", "Queued: KLASSE_CORE")
    # the button stays disabled until the runs list is read again: a click before that is
    # ignored (on a loaded machine the test clicked into that moment and waited in vain)
    wait(browser, EC.element_to_be_clickable(start))
    start.click()
    notice = text_in(browser, "#notice", "already has a run queued or running")
    blocking = svc.runs.active("KLASSE_CORE")
    assert blocking in notice.text
    shot(browser, "08-conflict")

    # a run that fails on every attempt: the run page says where and why
    healthy = svc.source

    class Down:
        def load(self, *args, **kwargs):
            raise BackendError("training database unreachable (connection refused)")

        def ping(self):
            raise BackendError("down")

    svc.source = Down()
    try:
        assert server.queue.run_pending() == 3  # three attempts, as host.json says
    finally:
        svc.source = healthy
    click_link(browser, blocking)
    heading(browser, f"Run {blocking}")
    text_in(browser, ".error-box", "Failed in load")
    text_in(browser, ".error-box", "training database unreachable")
    text_in(browser, ".facts", "failed")
    shot(browser, "09-failed-run")

    # a dry run: validated, nothing published, the profile shown
    click_link(browser, "KLASSE_CORE")
    heading(browser, "KLASSE_CORE")
    browser.find_element(By.ID, "dry-one").click()
    browser.find_element(By.CSS_SELECTOR, "form[aria-label='Retrain KLASSE_CORE'] button").click()
    text_in(browser, "#notice", "Dry run queued: KLASSE_CORE")
    assert server.queue.run_pending() == 1
    wait(browser, lambda d: "validated" in " ".join(table_rows(d, "Runs")))
    assert svc.models.versions("KLASSE_CORE") == [1]

    # promotion: the reason is required; a tampered artifact is refused in words
    browser.find_element(By.CSS_SELECTOR, "#promote-form button[type=submit]").click()
    text_in(browser, "#notice", "Choose the version")
    browser.find_element(By.ID, "promote-version").send_keys("1")
    browser.find_element(By.CSS_SELECTOR, "#promote-form button[type=submit]").click()
    text_in(browser, "#notice", "the reason is kept in the alias history")
    artifact = svc.models.store.root / "KLASSE_CORE" / "versions" / "1" / "model.skops"
    artifact.write_bytes(artifact.read_bytes()[:-10] + b"0123456789")
    browser.find_element(By.ID, "promote-reason").send_keys("re-pin v1")
    browser.find_element(By.CSS_SELECTOR, "#promote-form button[type=submit]").click()
    visible(browser, "dialog#confirm")
    browser.find_element(By.ID, "confirm-ok").click()
    refused = text_in(browser, "#notice", "Refused")
    assert "cannot become champion" in refused.text
    shot(browser, "10-promotion-refused")
    assert len(svc.models.history("KLASSE_CORE")) == 1  # only the first promotion
    allowed = ("status of 409", "status of 422")
    assert severe_console_errors(browser, allowed) == []
