"""The operator's path in a real browser: list -> model -> card; start a run, the queue
worker finishes it, the page shows it; promote with a reason (confirmed); the history."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.console.page import (
    click_link,
    heading,
    no_horizontal_scroll,
    open_console,
    severe_console_errors,
    shot,
    table_rows,
    text_in,
    urls_loaded,
    visible,
    wait,
)
from tests.console.seed import publish_copy


def train(svc, model):
    (run,) = start_runs(svc, [model], trigger="cli").runs
    return execute_run(svc, run.run_id)


def test_list_model_card_run_promote_history(browser, console):
    server, svc = console
    assert train(svc, "KLASSE_ROH").version == 1
    open_console(browser, server, server.key)

    # 1. the list, then the model, then its card
    text_in(browser, "main table tbody", "KLASSE_ROH")
    (row,) = [r for r in table_rows(browser, "Registered models") if r.startswith("KLASSE_ROH")]
    assert "v1" in row and "promoted" in row
    links = browser.find_elements(By.CSS_SELECTOR, "main table tbody a")
    assert links and all(link.text.strip() for link in links)  # every tab stop has a name
    assert no_horizontal_scroll(browser)  # readable at 1280 px
    shot(browser, "01-models")
    click_link(browser, "KLASSE_ROH")
    heading(browser, "KLASSE_ROH")
    visible(browser, "svg.chart a.mark-promoted")
    assert table_rows(browser, "Versions")[0].startswith("v1")
    click_link(browser, "v1")
    heading(browser, "KLASSE_ROH v1")
    heatmap = visible(browser, "table.heatmap")
    card = svc.models.card("KLASSE_ROH", 1)
    labels = card["metrics"]["confusion_matrix"]["labels"]
    assert len(heatmap.find_elements(By.CSS_SELECTOR, "tbody tr")) == len(labels)
    assert len(table_rows(browser, "Per-class scores")) == len(labels)
    assert any(r.startswith("scikit-learn") for r in table_rows(browser, "Library versions"))
    page = browser.find_element(By.TAG_NAME, "main").text
    assert card["data_window"]["since"] in page
    assert "Holdout\n20 % of rows by a hash of their" in page
    assert "\nnull\n" not in page
    shot(browser, "02-model-card")

    # 2. start a run from the model page; it waits in the queue
    click_link(browser, "KLASSE_ROH")
    heading(browser, "KLASSE_ROH")
    browser.find_element(By.ID, "reason-one").send_keys("new plant data")
    browser.find_element(By.CSS_SELECTOR, "form[aria-label='Retrain KLASSE_ROH'] button").click()
    text_in(browser, "#notice", "Queued: KLASSE_ROH")
    wait(browser, lambda d: any("queued" in r for r in table_rows(d, "Runs")))
    shot(browser, "03-run-queued")

    # 3. the queue worker trains it; the page (polling) shows it succeed and the new version
    assert server.queue.run_pending() == 1
    wait(browser, lambda d: any("succeeded" in r for r in table_rows(d, "Runs")))
    wait(browser, lambda d: [r.split()[0] for r in table_rows(d, "Versions")] == ["v2", "v1"])
    new_run = svc.runs.list(model="KLASSE_ROH", limit=1)[0]
    assert (new_run.status, new_run.reason, new_run.version) == ("succeeded", "new plant data", 2)
    shot(browser, "04-run-succeeded")
    browser.execute_script("location.hash = arguments[0]", f"#/runs/{new_run.run_id}")
    heading(browser, f"Run {new_run.run_id}")
    text_in(browser, "main", "Compared with the champion")
    assert "\nnull\n" not in f"\n{browser.find_element(By.TAG_NAME, 'main').text}\n"
    browser.execute_script("location.hash = arguments[0]", "#/models/KLASSE_ROH")
    heading(browser, "KLASSE_ROH")

    # 4. roll back to v1 with a reason; cancel first, then confirm
    champion_before = svc.models.champion("KLASSE_ROH").version
    browser.find_element(By.ID, "promote-version").send_keys("v1")
    browser.find_element(By.ID, "promote-reason").send_keys("roll back: v2 misroutes plant P04")
    browser.find_element(By.CSS_SELECTOR, "#promote-form button[type=submit]").click()
    dialog = visible(browser, "dialog#confirm")
    assert "Make v1 the champion of KLASSE_ROH" in dialog.text
    assert "roll back: v2 misroutes plant P04" in dialog.text
    shot(browser, "05-confirm-promotion", full_page=False)
    browser.find_element(By.ID, "confirm-cancel").click()
    text_in(browser, "#notice", "Nothing changed")
    assert svc.models.champion("KLASSE_ROH").version == champion_before
    browser.find_element(By.CSS_SELECTOR, "#promote-form button[type=submit]").click()
    visible(browser, "dialog#confirm")
    browser.find_element(By.ID, "confirm-ok").click()
    text_in(browser, "#notice", "KLASSE_ROH champion is now v1")
    assert svc.models.champion("KLASSE_ROH").version == 1

    # 5. the alias history shows the move, who and why
    wait(
        browser,
        lambda d: "roll back: v2 misroutes plant P04" in " ".join(table_rows(d, "Alias history")),
    )
    newest = table_rows(browser, "Alias history")[0]
    assert f"v{champion_before} → v1" in newest and "http" in newest
    assert "champion" in table_rows(browser, "Versions")[1]  # v1 row
    assert no_horizontal_scroll(browser)
    shot(browser, "06-alias-history")
    assert severe_console_errors(browser) == []
    assert all(url.startswith(server.url) for url in urls_loaded(browser))  # no CDN


def test_the_cards_feature_importance_says_what_was_shuffled(browser, console):
    """A card's importances name their rows and repeats; a wide table's card also says how
    many of its columns were shuffled and which (training/evaluate.py, importance_plan)."""
    server, svc = console
    assert train(svc, "KLASSE_CORE").version == 1
    card = svc.models.card("KLASSE_CORE", 1)
    importance = card["feature_importance"]

    def wide(card):
        card["feature_importance"]["columns"] = {
            "shuffled": 2,
            "of": 1400,
            "chosen_by": "the model's own importance",
        }

    assert publish_copy(svc, "KLASSE_CORE", 1, wide) == 2
    open_console(browser, server, server.key)
    browser.execute_script("location.hash = arguments[0]", "#/models/KLASSE_CORE/versions/1")
    heading(browser, "KLASSE_CORE v1")
    said = (
        f"Drop in balanced_accuracy when a column is shuffled on {importance['rows']} holdout "
        "rows (permutation, 3 repeats)."
    )
    text_in(browser, "main", said)
    assert "Shuffled" not in browser.find_element(By.TAG_NAME, "main").text
    browser.execute_script("location.hash = arguments[0]", "#/models/KLASSE_CORE/versions/2")
    heading(browser, "KLASSE_CORE v2")
    text_in(
        browser,
        "main",
        f"{said} Shuffled 2 of 1,400 columns, the ones the model's own importance ranks "
        "highest: every column of a table this wide would cost more than the fit.",
    )


def test_a_confusion_matrix_of_many_classes_shows_those_with_the_most_rows(browser, console):
    """600 classes would be 360,000 cells: the card page shows the 30 classes with the most
    holdout rows, says so, and keeps each row's share of its whole count."""
    server, svc = console
    assert train(svc, "KLASSE_CORE").version == 1
    labels = [f"C{i:02d}" for i in range(45)]
    support = [10 + (i * 7) % 45 for i in range(45)]  # every count different
    matrix = [[0] * 45 for _ in labels]
    for i, rows in enumerate(support):
        matrix[i][i] = rows - 2
        matrix[i][(i + 1) % 45] = 2  # two rows of each class taken for the next one

    def many(card):
        card["metrics"]["confusion_matrix"] = {"labels": labels, "matrix": matrix}

    assert publish_copy(svc, "KLASSE_CORE", 1, many) == 2
    open_console(browser, server, server.key)
    browser.execute_script("location.hash = arguments[0]", "#/models/KLASSE_CORE/versions/2")
    heading(browser, "KLASSE_CORE v2")
    heatmap = visible(browser, "table.heatmap")
    shown = [th.text for th in heatmap.find_elements(By.CSS_SELECTOR, "tbody th")]
    most = sorted(range(45), key=lambda i: -support[i])[:30]
    assert shown == [labels[i] for i in sorted(most)]
    text_in(browser, "main", "The 30 classes with the most holdout rows, of 45")
    first = labels[sorted(most)[0]]
    cell = heatmap.find_element(By.CSS_SELECTOR, "tbody tr td.diag")
    rows = support[sorted(most)[0]]
    assert cell.get_attribute("title") == (
        f"{first} predicted as {first}: {rows - 2} ({round((rows - 2) / rows * 100)} %)"
    )
