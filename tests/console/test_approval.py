"""Approving in a real browser: a model whose newest version awaits approval says so in the
models list; its page shows the candidate beside the champion with Approve / Reject, each
confirmed first; the champion moves only on a confirmed approval."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from retrain.domain.runs import Outcome
from retrain.domain.specs import Registry
from retrain.entrypoints import app_services
from retrain.entrypoints.local_server import LocalServer
from retrain.service import approval
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.console.page import (
    click_link,
    heading,
    open_console,
    severe_console_errors,
    shot,
    table_rows,
    text_in,
    visible,
    wait,
)
from tests.functions.conftest import build_services, quick_registry

NAME = "KLASSE_ROH"


@pytest.fixture
def gated(tmp_path) -> Iterator[tuple[LocalServer, Any]]:
    """The local server; KLASSE_ROH needs approval, its v1 was approved, v2 awaits."""
    spec = dataclasses.replace(quick_registry().get(NAME), approval="required")
    svc, settings = build_services(tmp_path, registry=Registry([spec]))
    for _ in range(2):
        (run,) = start_runs(svc, [NAME], trigger="cli").runs
        assert execute_run(svc, run.run_id).outcome is Outcome.AWAITING_APPROVAL
        if svc.models.champion(NAME) is None:
            approval.decide(svc, NAME, 1, "approve", actor="cli:first", reason="first")
    app_services.override(svc, settings)
    try:
        with LocalServer("127.0.0.1", 0, max_dequeue=3, retry_after_s=0.05) as server:
            server.start(worker=False)
            yield server, svc
    finally:
        app_services.override(None)


def test_approve_from_the_console_after_confirming(browser, gated):
    server, svc = gated
    open_console(browser, server, server.key)
    text_in(browser, "main table tbody", NAME)
    (row,) = table_rows(browser, "Registered models")
    assert "awaiting approval" in row

    click_link(browser, NAME)
    heading(browser, NAME)
    card = visible(browser, "#approval")
    text_in(browser, "#approval-facts", "v2: balanced_accuracy")
    assert "vs champion v1" in card.text and "Decide by" in card.text
    versions = table_rows(browser, "Versions")
    assert versions[0].startswith("v2") and "awaiting approval" in versions[0]
    assert "Approve or reject" in versions[0]
    shot(browser, "approval-awaiting")

    browser.find_element(By.ID, "approve-button").click()  # no reason yet
    text_in(browser, "#notice", "Say why")
    browser.find_element(By.ID, "approval-reason").send_keys("checked plant P04 by hand")
    browser.find_element(By.ID, "reject-button").click()
    dialog = visible(browser, "dialog#confirm")
    assert "v2 will never serve" in dialog.text
    browser.find_element(By.ID, "confirm-cancel").click()
    text_in(browser, "#notice", "Nothing changed")
    assert approval.decision_of(svc, NAME, 2) is None

    browser.find_element(By.ID, "approve-button").click()
    dialog = visible(browser, "dialog#confirm")
    assert "v2 becomes the champion of KLASSE_ROH instead of v1" in dialog.text
    assert "checked plant P04 by hand" in dialog.text
    shot(browser, "approval-confirm", full_page=False)
    browser.find_element(By.ID, "confirm-ok").click()
    text_in(browser, "#notice", "KLASSE_ROH v2 approved: it is the champion.")
    assert svc.models.champion(NAME).version == 2

    wait(
        browser, lambda d: "approved: checked plant P04" in " ".join(table_rows(d, "Alias history"))
    )
    assert "v1 → v2" in table_rows(browser, "Alias history")[0]
    wait(browser, lambda d: not d.find_element(By.ID, "approval").is_displayed())
    assert "approved by http" in table_rows(browser, "Versions")[0]
    shot(browser, "approval-done")
    assert severe_console_errors(browser) == []


def test_the_candidates_score_on_the_rows_compared_stands_beside_the_champions(browser, gated):
    """When the champion was scored on fewer rows than the candidate's test part, the card
    gave the candidate's whole-part score beside the champion's on those rows."""
    import json

    server, svc = gated
    key = f"{NAME}/versions/2/card.json"
    stored = svc.models.store.get(key)
    card = json.loads(stored.data)
    assert "rows compared" not in card["gate"]["reason"]
    comparison = card["gate"]["comparison"]
    comparison["candidate"] = round(card["gate"]["candidate"] - 0.1, 6)
    svc.models.store.replace(key, json.dumps(card).encode(), stored.etag)

    open_console(browser, server, server.key)
    browser.execute_script("location.hash = arguments[0]", f"#/models/{NAME}/versions/2")
    heading(browser, f"{NAME} v2")
    there = f"({comparison['candidate']:.4f} on the {comparison['rows']:,} rows compared) vs v1"
    text_in(browser, "main", f"{card['gate']['candidate']:.4f} {there}")
    assert severe_console_errors(browser) == []
