"""Permutation importance in the model card: the column the label follows ranks first, a
random column scores about nothing."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

from retrain.classifiers.estimators import logistic_regression, xgboost_hist
from retrain.domain.specs import Features, ModelSpec
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from retrain.training import evaluate
from retrain.training.features import build_pipeline


def test_the_card_ranks_the_columns_the_label_depends_on(svc):
    (run,) = start_runs(svc, ["TOY"], trigger="test").runs
    record = execute_run(svc, run.run_id)
    importance = svc.models.card("TOY", record.version)["feature_importance"]
    assert (importance["method"], importance["metric"]) == ("permutation", "accuracy")
    card = svc.models.card("TOY", record.version)
    assert importance["rows"] == card["rows"]["test"] < 1000 and importance["repeats"] == 3
    ranked = [f["feature"] for f in importance["features"]]
    assert ranked[0] == "size" and set(ranked) == {"size", "colour", "coated"}
    by_name = {f["feature"]: f["importance"] for f in importance["features"]}
    assert by_name["size"] > 0.3
    assert abs(by_name["coated"]) < 0.03


SKLEARN = {
    "accuracy": accuracy_score,
    "balanced_accuracy": balanced_accuracy_score,
    "macro_f1": lambda t, p: f1_score(t, p, average="macro", zero_division=0),
}


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    rows=st.integers(1, 40),
    blocks=st.integers(1, 6),
    seed=st.integers(0, 2**16),
    labels=st.lists(st.sampled_from(["a", "b|c", "", "D", "e e"]), min_size=1, unique=True),
)
def test_the_scores_of_shuffled_blocks_are_scikit_learn_s(rows, blocks, seed, labels):
    """One vectorised pass gives each block's score as scikit-learn does, including labels
    only predicted, classes absent from a block and a single class."""
    rng = np.random.default_rng(seed)
    pool = np.array([*labels, "only predicted"], dtype=object)
    y_true = np.array(labels, dtype=object)[rng.integers(0, len(labels), rows)]
    predicted = pool[rng.integers(0, len(pool), (blocks, rows))]
    for metric, reference in SKLEARN.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # balanced accuracy: a class only predicted
            expected = [reference(y_true, block) for block in predicted]
        got = evaluate.block_scores(y_true, predicted, metric)
        assert np.allclose(got, expected, rtol=0, atol=1e-12), (metric, got, expected)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(
    rows=st.integers(1, 5000),
    columns=st.integers(1, 3000),
    repeats=st.integers(1, 5),
    budget=st.integers(1, 10_000_000),
)
def test_the_plan_cuts_rows_then_columns_and_stays_within_its_budget(
    rows, columns, repeats, budget
):
    n, k = evaluate.importance_plan(rows, columns, repeats, budget)

    def predicted(n: int, k: int) -> int:
        return n * (1 + k * repeats)

    assert 1 <= n <= rows and 1 <= k <= columns
    if predicted(rows, columns) <= budget:
        assert (n, k) == (rows, columns)  # nothing cut that fits
        return
    assert predicted(n, k) <= budget or k == 1  # one column is the least there is
    assert n >= min(rows, evaluate.IMPORTANCE_MIN_ROWS)
    if k < columns:  # columns are cut only once the rows are at their floor
        assert n == min(rows, evaluate.IMPORTANCE_MIN_ROWS)
        assert predicted(n, k + 1) > budget  # and no more than needed
    else:
        assert n == rows or predicted(n + 1, columns) > budget


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    columns=st.integers(1, 5000),
    train_rows=st.one_of(st.none(), st.integers(0, 10**7)),
    text=st.booleans(),
)
def test_the_budget_is_a_share_of_the_fit_within_a_value_cap(columns, train_rows, text):
    budget = evaluate.importance_budget(columns, train_rows, text)
    assert budget >= 1 and budget * columns <= max(columns, evaluate.IMPORTANCE_VALUES)
    if train_rows is None:
        return
    share = train_rows * columns // evaluate.IMPORTANCE_FIT_SHARE  # about a tenth of the fit
    floor = 0 if text else evaluate.IMPORTANCE_FLOOR_ROWS  # a text row is never cheap
    assert budget == max(1, min(evaluate.IMPORTANCE_VALUES // columns, max(share, floor)))


def _wide(rows: int, noise_columns: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """``signal`` decides the label; the other columns are noise. ``signal`` stands last:
    a cut in query order would leave it out."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {f"n{i}": rng.normal(size=rows).astype("float32") for i in range(noise_columns)}
    )
    frame["signal"] = rng.normal(size=rows).astype("float32")
    return frame, pd.Series(np.where(frame["signal"] > 0, "up", "down"), name="label")


def _fitted(spec, X, y):
    model = build_pipeline(spec)
    model.fit(X, y)
    calls: list[tuple[int, int]] = []
    predict = model.predict

    def recording(frame):
        calls.append(frame.shape)
        return predict(frame)

    model.predict = recording
    return model, calls


def _wide_spec(X, estimator):
    return ModelSpec(
        name="WIDE",
        description="wide",
        query="SELECT * FROM wide",
        target="label",
        features=Features(numeric=tuple(X.columns)),
        estimator=estimator,
        min_rows=100,
        primary_metric="accuracy",
    )


def test_a_wide_table_is_bounded_and_shuffles_the_columns_the_model_uses_most():
    """Predicting every shuffled copy at once held 7.6 GB for a 400-column table's 1,000
    rows: the work is capped, predicted in calls of bounded size, and the columns kept are
    the model's own most important ones, said on the card."""
    X, y = _wide(600, 59)
    model, calls = _fitted(_wide_spec(X, lambda: xgboost_hist(n_estimators=20)), X, y)
    found = evaluate.feature_importance(model, X, y, "accuracy", budget=6_000, call_values=60_000)
    n, k = evaluate.importance_plan(600, 60, 3, 6_000)
    assert (found["rows"], len(found["features"])) == (n, k) and k < 60
    assert found["columns"] == {"shuffled": k, "of": 60, "chosen_by": "the model's own importance"}
    assert found["features"][0]["feature"] == "signal" and found["features"][0]["importance"] > 0.3
    assert sum(r for r, _ in calls) <= 6_000 and len(calls) > 1
    assert all(r * c <= 60_000 for r, c in calls)


def test_a_model_without_its_own_importances_keeps_the_query_order():
    X, y = _wide(600, 59)
    model, _ = _fitted(_wide_spec(X, logistic_regression), X, y)
    found = evaluate.feature_importance(model, X, y, "accuracy", budget=6_000)
    k = found["columns"]["shuffled"]
    assert found["columns"]["chosen_by"] == "query order"
    assert {f["feature"] for f in found["features"]} == {f"n{i}" for i in range(k)}


def test_within_the_budget_every_column_is_shuffled_as_before():
    X, y = _wide(600, 9)
    model, calls = _fitted(_wide_spec(X, lambda: xgboost_hist(n_estimators=20)), X, y)
    found = evaluate.feature_importance(model, X, y, "accuracy", train_rows=10_000)
    assert "columns" not in found and found["rows"] == 600 and len(found["features"]) == 10
    assert len(calls) == 1  # 600 rows x 10 columns x 31 copies: one call


def test_the_own_ranking_adds_up_a_text_column_s_terms_and_a_category_s_one_hot_columns():
    """Outputs traced back to their input column: a text column's terms, one-hot columns
    and was-missing flags (a non-XGBoost estimator with feature importances, beside text)."""
    rng = np.random.default_rng(1)
    rows = 800
    grade = rng.choice(["g_a", "g_b", "g_c"], rows)
    X = pd.DataFrame(
        {
            "grade": grade,
            "grade_extra": rng.choice(["x", "y"], rows),  # a name that starts like another
            "size": np.where(rng.random(rows) < 0.2, np.nan, rng.normal(size=rows)),
            "note": rng.choice(["plain board", "raw chip", "thin panel"], rows),
        }
    )
    y = pd.Series(np.where(grade == "g_a", "yes", "no"))
    spec = ModelSpec(
        name="MIXED",
        description="mixed",
        query="SELECT * FROM mixed",
        target="label",
        features=Features(numeric=("size",), categorical=("grade", "grade_extra"), text=("note",)),
        estimator=lambda: RandomForestClassifier(n_estimators=20, random_state=0),
        min_rows=100,
        primary_metric="accuracy",
    )
    model = build_pipeline(spec).fit(X, y)
    ranked = evaluate.own_ranking(model, list(X.columns))
    assert ranked is not None and ranked[0] == "grade" and set(ranked) == set(X.columns)
    xgb_spec = dataclasses.replace(spec, estimator=lambda: xgboost_hist(n_estimators=10))
    y_note = pd.Series(np.where(X["note"] == "raw chip", "yes", "no"))
    ranked = evaluate.own_ranking(build_pipeline(xgb_spec).fit(X, y_note), list(X.columns))
    assert ranked is not None and ranked[0] == "note"


def test_rows_with_text_have_no_floor_every_predicted_row_pays_its_tf_idf():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(
        {
            "note": rng.choice(["plain board", "raw chip", "thin panel", "oak decor"], 600),
            "size": rng.normal(size=600),
        }
    )
    y = pd.Series(np.where(X["note"] == "raw chip", "yes", "no"))
    spec = ModelSpec(
        name="NOTES",
        description="notes",
        query="SELECT * FROM notes",
        target="label",
        features=Features(numeric=("size",), text=("note",)),
        estimator=lambda: xgboost_hist(n_estimators=5),
        min_rows=100,
        primary_metric="accuracy",
    )
    text_model = build_pipeline(spec).fit(X, y)
    found = evaluate.feature_importance(text_model, X, y, "accuracy", train_rows=1000)
    # 1,000 training rows x 2 columns / 10 = 200 predicted rows: the least sample, 200 rows,
    # and one column (the one the model uses); without text the 20,000-row floor keeps all
    assert found["rows"] == evaluate.IMPORTANCE_MIN_ROWS
    assert [f["feature"] for f in found["features"]] == ["note"]
    numbers = dataclasses.replace(spec, features=Features(numeric=("size",)))
    plain = build_pipeline(numbers).fit(X[["size"]], y)
    found = evaluate.feature_importance(plain, X[["size"]], y, "accuracy", train_rows=1000)
    assert found["rows"] == 600 and "columns" not in found


def test_retrain_card_shows_the_top_ten_and_what_a_wide_table_shuffled(svc):
    from retrain.entrypoints.cli.card_view import card_text

    (run,) = start_runs(svc, ["TOY"], trigger="test").runs
    card = svc.models.card("TOY", execute_run(svc, run.run_id).version)
    importance = card["feature_importance"]
    shown = " ".join(card_text(card, champion=True).split())  # lines wrapped to the terminal
    assert (
        f"Feature importance: drop in accuracy when a column is shuffled ({importance['rows']} "
        "rows, 3 repeats)" in shown
    )
    top = importance["features"][0]
    assert f"{top['feature']} {top['importance']:.4f}" in shown
    assert " columns, chosen by " not in shown  # every column was shuffled
    card["feature_importance"] = {
        **importance,
        "features": [{"feature": f"n{i}", "importance": 0.5 - i / 100} for i in range(25)],
        "columns": {"shuffled": 25, "of": 400, "chosen_by": "the model's own importance"},
    }
    shown = " ".join(card_text(card, champion=True).split())
    assert "n9 0.4100" in shown and "n10 " not in shown and "… 15 more in --json" in shown
    assert "shuffled 25 of 400 columns, chosen by the model's own importance" in shown


def test_the_importances_tokenise_each_text_once_and_score_as_if_every_copy_were_encoded(
    monkeypatch,
):
    """Each shuffled copy holds the sample's own texts: their TF-IDF rows are looked up, not
    computed again for every copy, with the same importances; the model keeps nothing of it."""
    from contextlib import nullcontext

    from sklearn.feature_extraction.text import TfidfVectorizer

    from retrain.training import serialize
    from retrain.training.text import TextTfidf

    rng = np.random.default_rng(5)
    words = np.array(["plain", "raw", "chip", "thin", "panel", "oak", "decor", "board"])
    X = pd.DataFrame(
        {
            "note": [" ".join(rng.choice(words, 4)) for _ in range(900)],
            "remark": [" ".join(rng.choice(words, 2)) for _ in range(900)],
            "size": rng.normal(size=900),
        }
    )
    y = pd.Series(np.where(X["note"].str.contains("raw") | (X["size"] > 1), "yes", "no"))
    spec = ModelSpec(
        name="NOTES",
        description="notes",
        query="SELECT * FROM notes",
        target="label",
        features=Features(numeric=("size",), text=("note", "remark")),
        estimator=lambda: xgboost_hist(n_estimators=10),
        min_rows=100,
        primary_metric="accuracy",
    )
    model = build_pipeline(spec).fit(X, y)
    calls = []
    encode = TfidfVectorizer.transform
    monkeypatch.setattr(
        TfidfVectorizer,
        "transform",
        lambda self, docs: calls.append(len(docs)) or encode(self, docs),
    )
    once = evaluate.feature_importance(model, X, y, "accuracy", budget=10**6)
    assert calls == [900] * 4  # the sample, once per text column and block (words, chars)
    monkeypatch.setattr(TextTfidf, "encoded_once", lambda self, X: nullcontext())
    calls.clear()
    every = evaluate.feature_importance(model, X, y, "accuracy", budget=10**6)
    assert sum(calls) == 4 * 900 * (1 + 3 * 3)  # each copy: the sample and 3 x 3 shuffled
    assert once == every and {f["feature"] for f in once["features"]} == set(X.columns)
    steps = [s for _, s, _ in model.named_steps["features"].transformers_]
    assert not any("_encoded" in vars(s) for s in steps)
    data = serialize.dumps(model)
    loaded = serialize.loads(data, serialize.sha256(data), len(data))
    assert (loaded.predict_proba(X) == model.predict_proba(X)).all()
