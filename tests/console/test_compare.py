"""In a real browser (issue 25 C): two versions side by side, the facts of `retrain diff`
(retrain.service.compare) computed by the page from the two cards the API answers, and held
to the same records as the CLI's; strict JSON (nulls) shown as dashes, never as "null"."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from retrain import strict_json
from retrain.service.compare import compare
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
    visible,
    wait,
    window,
)
from tests.console.seed import publish_copy, train

METRICS = "Metrics on each version\u2019s own holdout"
DASH = "\u2013"  # what the page shows for a value it does not have


def changed(card: dict[str, Any]) -> None:
    """v3: v2 refitted with other parameters on other rows, a feature swapped."""
    card["status"] = "kept_champion"
    card["gate"]["outcome"] = "kept_champion"
    params = card["estimator"]["params"]
    params["max_depth"] = 9
    params["class_weight"] = {"A": 2, "B": 1}
    params["missing"] = float("nan")  # stored as null: the same as v1's "no such param"
    card["metrics"]["accuracy"] += 0.0123
    card["metrics"]["macro_f1"] = float("nan")  # a metric of an empty class: null
    card["metrics"]["per_class"]["A"]["f1"] -= 0.1
    card["class_distribution"]["E"] = 100
    card["class_distribution"]["B"] -= 300
    card["feature_schema"]["numeric"].append("width_mm")
    card["feature_schema"]["categorical"].remove("plant")
    card["data_profile"]["columns"].pop("plant")
    card["data_profile"]["null_rates"].pop("plant")
    card["data_fingerprint"]["rows_sha256"] = "0" * 64
    card["library_versions"]["scikit-learn"] = "1.9.99"
    card["text_features"]["options"]["select_terms"] = 50
    card["text_features"]["options"].pop("min_df")  # as a card from before an option


def same_data(x: Any, y: Any, where: str = "") -> None:
    """Equal as JSON data, floats to 1e-9 (JavaScript rounds a change like Python)."""
    if isinstance(x, float) or isinstance(y, float):
        assert x == pytest.approx(y, abs=1e-9), where
    elif isinstance(x, dict):
        assert isinstance(y, dict) and sorted(x) == sorted(y), (where, sorted(x), y)
        for k in x:
            same_data(x[k], y[k], f"{where}.{k}")
    elif isinstance(x, list):
        assert isinstance(y, list) and len(x) == len(y), (where, x, y)
        for i, (a, b) in enumerate(zip(x, y, strict=True)):
            same_data(a, b, f"{where}[{i}]")
    else:
        assert x == y, (where, x, y)


def in_page(driver: Any, a: dict[str, Any], b: dict[str, Any]) -> Any:
    """The page's compareCards on two cards as the API answers them (strict JSON)."""
    return driver.execute_script(
        "return retrainConsole.compareCards(JSON.parse(arguments[0]), JSON.parse(arguments[1]))",
        strict_json.dumps(a),
        strict_json.dumps(b),
    )


def by_name(driver: Any, section_title: str) -> dict[str, list[str]]:
    """The rows of a section's table, by their first cell."""
    rows = [r.split("\t") for r in table_rows(driver, section_title)]
    return {cells[0]: cells[1:] for cells in rows}


def main_text(driver: Any) -> str:
    return f"\n{driver.find_element(By.TAG_NAME, 'main').text}\n"


def test_two_versions_side_by_side_as_retrain_diff_shows_them(browser, console):
    server, svc = console
    train(svc, "KLASSE_ROH")
    train(svc, "KLASSE_ROH")  # the champion
    assert publish_copy(svc, "KLASSE_ROH", 2, changed) == 3
    cards = {v: svc.models.card("KLASSE_ROH", v) for v in (1, 2, 3)}
    with window(browser, *DESKTOP):
        open_console(browser, server, server.key)
        text_in(browser, "main table tbody", "KLASSE_ROH")
        click_link(browser, "KLASSE_ROH")
        heading(browser, "KLASSE_ROH")

        # the form proposes the champion and the newest; by keyboard, v1 and v3
        first = visible(browser, "#compare-a")
        wait(browser, lambda d: first.get_attribute("value") == "v2")
        assert browser.find_element(By.ID, "compare-b").get_attribute("value") == "v3"
        options = browser.find_elements(By.CSS_SELECTOR, "datalist#version-choices option")
        assert [o.get_attribute("value") for o in options] == ["v3", "v2", "v1"]
        first.clear()
        first.send_keys("99", Keys.ENTER)
        text_in(browser, "#notice", "No readable version 99 (versions run v1 to v3)")
        assert browser.switch_to.active_element == first
        first.clear()
        first.send_keys("1")
        text_in(browser, "#compare-a-hint", "v1 · promoted")
        first.send_keys(Keys.ENTER)
        heading(browser, "KLASSE_ROH v1 → v3")
        text_in(browser, "main", "Libraries that differ")

        # the page's records are retrain diff's (`retrain diff --json`), nulls and all
        expected = json.loads(strict_json.dumps(compare(cards[1], cards[3])))
        same_data(in_page(browser, cards[1], cards[3]), expected)
        for x, y in ((3, 1), (2, 2)):
            diff = strict_json.finite(compare(cards[x], cards[y]))
            same_data(in_page(browser, cards[x], cards[y]), diff)
        assert expected["params"] and expected["feature_schema"] and expected["library_versions"]
        text_params = [p for p in expected["params"] if p["param"].startswith("text.")]
        assert text_params == [
            {"param": "text.min_df", "a": 20, "b": None},
            {"param": "text.select_terms", "a": 30, "b": 50},
        ]

        # ... and what it shows
        metrics = by_name(browser, METRICS)
        names = {m["metric"] for m in expected["metrics"]} - {"balanced_accuracy"}
        assert set(metrics) == names | {"balanced_accuracy (primary)"}
        accuracy = next(m for m in expected["metrics"] if m["metric"] == "accuracy")
        assert metrics["accuracy"] == [f"{accuracy['a']:.4f}", f"{accuracy['b']:.4f}", "+0.0123"]
        assert metrics["macro_f1"][1:] == [DASH, DASH]  # null: no score, no change
        gate = table_rows(browser, "Gate")
        assert gate[0].startswith("v1\tpromoted") and gate[1].startswith("v3\tkept champion")
        labels = cards[1]["metrics"]["confusion_matrix"]["labels"]
        per_class = table_rows(browser, "Per-class scores")
        assert len(per_class) == len(labels) and per_class[0].startswith("A\t")  # moved most
        params = by_name(browser, "Parameters that differ")
        assert params == {
            "class_weight": [DASH, '{"A":2,"B":1}'],
            "max_depth": ["6", "9"],
            "text.min_df": ["20", DASH],
            "text.select_terms": ["30", "50"],
        }
        data = by_name(browser, "Data")
        assert data["Window starts"] == [cards[v]["data_window"]["since"] for v in (1, 3)]
        assert data["Train rows"] == [f"{cards[v]['rows']['train']:,}" for v in (1, 3)]
        page = main_text(browser)
        assert "Same rows\nno\n" in page and "Same query\nyes\n" in page
        features = table_rows(browser, "Features")
        assert features == ["added\tnumeric\twidth_mm", "removed\tcategorical\tplant"]
        profile = by_name(browser, "Data profile")
        assert set(profile) == set(cards[1]["data_profile"]["null_rates"])
        kind, missing_a, missing_b, shown_a, shown_b = profile["plant"]  # not in v3
        assert (kind, missing_a, missing_b) == ("categorical", "0.0 %", "absent")
        assert shown_b == "not recorded"
        assert shown_a.startswith("P01 ") and "%" in shown_a  # the top categories and shares
        assert "mean" in profile["density_kg_m3"][3] and "sd" in profile["density_kg_m3"][4]
        classes = table_rows(browser, "Class distribution, largest changes first")
        assert [r.split("\t")[0] for r in classes] == [
            c["class"] for c in expected["class_distribution"]
        ]
        before = cards[1]["library_versions"]["scikit-learn"]
        assert by_name(browser, "Libraries that differ") == {"scikit-learn": [before, "1.9.99"]}
        nothing = re.findall(r"(?:^|\t)(null|undefined|NaN|\[object Object\])(?=\t|$)", page, re.M)
        assert nothing == []  # a value the page could not show, shown as a word
        shot(browser, "40-compare")
        doc_shot(browser, "console-compare", "main .crumbs", height=1180, scale=0.6)

        # from a card: compare it with the champion
        browser.execute_script("location.hash = arguments[0]", "#/models/KLASSE_ROH/versions/1")
        heading(browser, "KLASSE_ROH v1")
        click_link(browser, "Compare with the champion v2")
        heading(browser, "KLASSE_ROH v1 → v2")
        text_in(browser, "main", "No change: both versions were fitted with the same parameters.")
        assert "(champion)" in table_rows(browser, "Gate")[1]

    with window(browser, *PHONE):
        browser.execute_script("location.hash = arguments[0]", "#/models/KLASSE_ROH/compare/1/3")
        heading(browser, "KLASSE_ROH v1 → v3")
        text_in(browser, "main", "Libraries that differ")
        assert no_horizontal_scroll(browser)
        shot(browser, "41-phone-compare")
    assert severe_console_errors(browser) == []
