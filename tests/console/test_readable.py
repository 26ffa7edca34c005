"""In a real browser (issue 25 D): readable at any size. Long lists show their newest 20,
then more on request; the version to promote is a field with suggestions, not a select of
every version; a dry run's data profile is a table per feature; on a phone each list row is
a card with its status first."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.console.page import (
    DESKTOP,
    PHONE,
    click_link,
    doc_shot,
    focused,
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
from tests.console.seed import finished_runs, publish_copy, train

PROFILE = "Data profile (dry run)"


def pager_text(driver: Any, section_title: str) -> str:
    return driver.execute_script(
        """
        const section = [...document.querySelectorAll('main section')]
          .find((s) => s.querySelector('h2')?.textContent.trim() === arguments[0]);
        const pager = section && section.querySelector('.pager');
        return pager ? pager.innerText : '';
        """,
        section_title,
    )


def more_button(driver: Any, section_title: str) -> Any:
    return driver.find_element(
        By.CSS_SELECTOR, f"section[aria-labelledby={section_title}] .pager button"
    )


def kept(n: int) -> Any:
    def change(card: dict[str, Any]) -> None:
        card["status"] = card["gate"]["outcome"] = "kept_champion"
        card["metrics"]["balanced_accuracy"] = round(0.40 + (n % 17) / 100, 6)

    return change


def test_long_lists_page_by_20_and_the_version_field_searches(browser, console):
    server, svc = console
    train(svc, "KLASSE_CORE")  # v1, the champion
    for n in range(2, 102):
        assert publish_copy(svc, "KLASSE_CORE", 1, kept(n)) == n
    finished_runs(svc, "KLASSE_CORE", 25)  # 26 runs in all
    with window(browser, *DESKTOP):
        open_console(browser, server, server.key)
        text_in(browser, "main table tbody", "KLASSE_CORE")
        click_link(browser, "KLASSE_CORE")
        heading(browser, "KLASSE_CORE")

        # versions: the newest 20, then 20 more by keyboard; the focus goes to the first new
        wait(browser, lambda d: len(table_rows(d, "Versions")) == 20)
        assert table_rows(browser, "Versions")[0].startswith("v101\t")
        assert pager_text(browser, "Versions").startswith("Showing the newest 20 of 101 versions.")
        more = more_button(browser, "versions-title")
        assert more.get_attribute("aria-label") == "Show 20 more versions"
        more.send_keys(Keys.ENTER)
        wait(browser, lambda d: len(table_rows(d, "Versions")) == 40)
        assert table_rows(browser, "Versions")[20].startswith("v81\t")
        wait(browser, lambda d: d.switch_to.active_element.text == "v81")

        # runs: asked for 20 at a time; 26 in all, so one "more" and no second
        wait(browser, lambda d: len(table_rows(d, "Runs")) == 20)
        assert pager_text(browser, "Runs").startswith("Showing the newest 20 runs.")
        more_button(browser, "runs-title").click()
        wait(browser, lambda d: len(table_rows(d, "Runs")) == 26)
        assert pager_text(browser, "Runs") == ""
        assert "seeded failure" not in table_rows(browser, "Runs")[-1]  # the trained run
        wait(browser, lambda d: d.switch_to.active_element.tag_name == "a")
        assert "seed004" in focused(browser)  # the 21st newest run: seed 24 .. 5 came first

        # the version to serve: a field with 101 suggestions, which says what it names
        field = browser.find_element(By.ID, "promote-version")
        assert field.tag_name == "input" and field.get_attribute("list") == "version-choices"
        assert not browser.find_elements(By.CSS_SELECTOR, "#promote-form select")
        options = browser.find_elements(By.CSS_SELECTOR, "datalist#version-choices option")
        assert len(options) == 101 and options[0].get_attribute("value") == "v101"
        hint = browser.find_element(By.ID, "promote-version-hint")
        assert hint.text.startswith("101 versions, v1 to v101")
        field.send_keys("150")
        text_in(browser, "#promote-version-hint", "No readable version 150 (versions run v1 to")
        browser.find_element(By.ID, "promote-reason").send_keys("the plant P04 fix")
        browser.find_element(By.CSS_SELECTOR, "#promote-form button[type=submit]").click()
        text_in(browser, "#notice", "No readable version 150")
        assert browser.switch_to.active_element == field
        field.clear()
        field.send_keys("v57")
        score = 0.40 + (57 % 17) / 100
        text_in(browser, "#promote-version-hint", f"v57 · kept champion · {score:.4f}")
        shot(browser, "50-promote-field", full_page=False)
        browser.find_element(By.CSS_SELECTOR, "#promote-form button[type=submit]").click()
        dialog = visible(browser, "dialog#confirm")
        assert "Make v57 the champion of KLASSE_CORE instead of v1." in dialog.text
        browser.find_element(By.ID, "confirm-ok").click()
        text_in(browser, "#notice", "KLASSE_CORE champion is now v57.")
        assert svc.models.champion("KLASSE_CORE").version == 57

        # the runs page pages too
        browser.find_element(By.LINK_TEXT, "Runs").click()
        heading(browser, "Runs")
        wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "main tbody tr")) == 20)
        more = browser.find_element(By.CSS_SELECTOR, "main .pager button")
        more.click()
        wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "main tbody tr")) == 26)
    assert severe_console_errors(browser) == []


class Shifted:
    """The training rows with the boards 40 % denser: drift against the champion."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def load(self, *args: Any, **kwargs: Any) -> Any:
        frame = self.source.load(*args, **kwargs)
        frame["density_kg_m3"] = frame["density_kg_m3"] * 1.4
        return frame

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1400x900", "390x844"])
def test_a_dry_runs_profile_is_a_table_per_feature_with_its_drift(browser, console, size):
    server, svc = console
    train(svc, "KLASSE_CORE")  # the champion: its profile is what drift is measured against
    healthy = svc.source
    svc.source = Shifted(healthy)
    try:
        (run,) = start_runs(svc, ["KLASSE_CORE"], trigger="cli", dry_run=True).runs
        execute_run(svc, run.run_id)
    finally:
        svc.source = healthy
    summary = svc.runs.get(run.run_id).summary
    profile = summary["profile"]
    drift = [f for f in summary["findings"] if f["rule"] == "feature_shift"]
    assert [f["column"] for f in drift] == ["density_kg_m3"]

    with window(browser, *size):
        open_console(browser, server, server.key)
        text_in(browser, "main table tbody", "KLASSE_CORE")
        browser.execute_script("location.hash = arguments[0]", f"#/runs/{run.run_id}")
        heading(browser, f"Run {run.run_id}")
        wait(browser, lambda d: len(table_rows(d, PROFILE)) == len(profile["null_rates"]))
        rows = {r.split("\n")[0].split("\t")[0]: r for r in table_rows(browser, PROFILE)}
        assert set(rows) == set(profile["null_rates"])
        density = rows["density_kg_m3"]
        missing = f"{profile['null_rates']['density_kg_m3'] * 100:.1f} %"
        assert "numeric" in density and missing in density and "mean" in density
        assert "drift" in density and drift[0]["message"] in density
        top = max(profile["columns"]["product_line"]["counts"].items(), key=lambda kv: kv[1])
        assert f"{top[0]} " in rows["product_line"] and "categorical" in rows["product_line"]
        assert rows["surface"].count("drift") == 0
        spark = browser.find_element(By.CSS_SELECTOR, "main .spark")
        assert spark.get_attribute("role") == "img" and "histogram" in spark.get_attribute(
            "aria-label"
        )
        assert not browser.find_elements(By.CSS_SELECTOR, "main pre.json")  # no raw JSON
        assert no_horizontal_scroll(browser)
        shot(browser, f"51-dry-run-profile-{size[0]}")


def card_layout(driver: Any, section_title: str | None) -> list[dict[str, Any]]:
    """Per body row of the list (under the section headed ``section_title``, else the
    page's first): how it is shown, and whether its status comes first."""
    return driver.execute_script(
        """
        const scope = arguments[0] === null ? document.querySelector('main')
          : [...document.querySelectorAll('main section')]
              .find((s) => s.querySelector('h2')?.textContent.trim() === arguments[0]);
        const width = document.documentElement.clientWidth;
        return [...scope.querySelectorAll('tbody tr')].map((row) => {
          const cells = [...row.children].filter((c) => getComputedStyle(c).display !== 'none');
          const box = (c) => c.getBoundingClientRect();
          const first = cells.slice()
            .sort((a, b) => box(a).top - box(b).top || box(a).left - box(b).left)[0];
          const status = row.querySelector('.status-cell');
          return {
            display: getComputedStyle(row).display,
            statusFirst: status !== null && first === status,
            inside: cells.every((c) => box(c).width > 0 && box(c).right <= width + 0.5),
            named: cells.filter((c) => c.tagName === 'TD' && c.dataset.label && c !== status)
              .every((c) => getComputedStyle(c, '::before').content.includes(c.dataset.label)),
          };
        });
        """,
        section_title,
    )


def test_on_a_phone_each_list_row_is_a_card_with_its_status_first(browser, console):
    server, svc = console
    train(svc, "KLASSE_ROH")
    train(svc, "KLASSE_ROH")
    expected = {"display": "flex", "statusFirst": True, "inside": True, "named": True}
    with window(browser, *PHONE):
        open_console(browser, server, server.key)
        text_in(browser, "main table tbody", "KLASSE_ROH")
        assert card_layout(browser, "Registered models") == [expected] * 3
        assert no_horizontal_scroll(browser)
        shot(browser, "52-phone-models")
        click_link(browser, "KLASSE_ROH")
        heading(browser, "KLASSE_ROH")
        wait(browser, lambda d: len(table_rows(d, "Runs")) == 2)
        for title in ("Versions", "Runs"):
            assert card_layout(browser, title) == [expected] * 2, title
        assert no_horizontal_scroll(browser)
        shot(browser, "53-phone-model-lists")
        doc_shot(browser, "console-phone-lists", "#versions-title", height=880, scale=1)
        browser.find_element(By.LINK_TEXT, "Runs").click()
        heading(browser, "Runs")
        wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "main tbody tr")) == 2)
        assert card_layout(browser, None) == [expected] * 2
    # at 1400 px the same lists are tables again
    with window(browser, *DESKTOP):
        wait(browser, lambda d: card_layout(d, None)[0]["display"] == "table-row")
        assert no_horizontal_scroll(browser)
