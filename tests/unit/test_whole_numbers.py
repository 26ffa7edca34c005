"""An integer column that one NULL made float (SQLite's and pandas' way) keeps its integers:
class 3, category 3 and key 3 read "3" whether or not a load had a NULL. Before, the labels
became "3.0": the champion's classes matched none of them (it scored 0.0 and any candidate
was promoted), and a key hashed as "3.0" moved a third of the rows across the split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retrain.domain.runs import Outcome
from retrain.domain.specs import Features, Registry
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from retrain.training import holdout, kinds
from tests.fakes import toy_frame, toy_spec


@pytest.mark.parametrize("categorical", [False, True])
def test_whole_floats_become_their_integers_and_missing_stays_missing(categorical):
    values = pd.Series([3.0, np.nan, -0.0, 12.0])
    values = values.astype("category") if categorical else values
    whole = kinds.whole(values)
    assert whole.astype(object).tolist()[0] == 3 and pd.isna(whole.iloc[1])
    assert [str(v) for v in whole.dropna()] == ["3", "0", "12"]
    assert whole.index.equals(values.index)


@pytest.mark.parametrize(
    "values",
    [[1.5, 2.0], [1.0, np.inf], [2.0**53, 1.0], ["a", "b"], [1, 2], [True, False]],
)
def test_other_columns_are_left_as_they_are(values):
    series = pd.Series(values)
    assert kinds.whole(series) is series


def _months(null: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Integer labels, keys and categories; the second month's table has one NULL in each."""
    first = toy_frame(rows=1500, seed=1)
    first["label"] = first["label"].map({"small": 1, "medium": 2, "large": 3})
    first["colour"] = first["colour"].map({"red": 10, "green": 20, "blue": 30})
    first["row_id"] = np.arange(len(first))
    grown = pd.concat(
        [
            first,
            toy_frame(rows=500, seed=2).assign(
                label=lambda f: f["label"].map({"small": 1, "medium": 2, "large": 3}),
                colour=lambda f: f["colour"].map({"red": 10, "green": 20, "blue": 30}),
                created_at=lambda f: f["created_at"] + pd.Timedelta(days=70),
                row_id=lambda f: np.arange(len(f)) + 10_000,
            ),
        ],
        ignore_index=True,
    )
    if null:
        for col in ("label", "colour", "row_id"):
            grown[col] = grown[col].astype("float64")
            grown.loc[grown.index[-1], col] = np.nan
    return first, grown


@pytest.mark.parametrize("null", [False, True])
@pytest.mark.parametrize("key", ["row_id", None])
def test_a_null_next_month_changes_neither_the_classes_nor_the_split(svc, key, null):
    spec = toy_spec(
        key_column=key,
        features=Features(numeric=("size",), categorical=("colour",), boolean=("coated",)),
        metric_floor=0.5,
    )
    svc.registry = Registry([spec])
    first, grown = _months(null)
    svc.source.frames["TOY"] = first
    v1 = execute_run(svc, start_runs(svc, ["TOY"], trigger="test").runs[0].run_id)
    assert v1.outcome is Outcome.PROMOTED
    svc.source.frames["TOY"] = grown
    v2 = execute_run(svc, start_runs(svc, ["TOY"], trigger="test").runs[0].run_id)
    card = svc.models.card("TOY", v2.version)
    assert sorted(card["classes"]) == ["1", "2", "3"]
    # the champion (a tree on the first month) scores as it does on its unseen rows: 0.0
    # when its classes "1" met labels "1.0"
    assert v2.summary["champion_score"] > 0.9
    # the rows on each side are those of the table without the NULL (its one row aside)
    _, plain = _months(False)
    expected = int(holdout.rule_for(spec).test_mask(plain).sum())
    assert abs(card["rows"]["test"] - expected) <= 1


def test_the_key_hashes_alike_with_and_without_a_null():
    """A rule made now hashes key 3 as "3" either way; a card's rule made before hashes a
    key that a NULL made float as it did then ("3.0"), so its champion's rows stay found."""
    from retrain.training.validate import parse_kinds

    spec = toy_spec(key_column="row_id")
    rule = holdout.rule_for(spec)
    assert rule.whole
    ints = pd.DataFrame({"row_id": np.arange(5000)})
    floats = pd.DataFrame({"row_id": np.append(np.arange(5000.0), np.nan)})
    parsed, _ = parse_kinds(
        floats.assign(**{c: 0 for c in ("size", "colour", "coated", "label")}), spec
    )
    assert (rule.test_mask(parsed)[:5000] == rule.test_mask(ints)).all()
    card = rule.to_card()
    del card["whole"]  # as cards before it were written
    before = holdout.Rule.from_card({"holdout": card})
    assert before is not None and not before.whole
    assert (before.test_mask(parsed) == before.test_mask(floats)).all()  # "3.0", as then


@pytest.mark.parametrize("mode", ["override", "append"])
def test_a_correction_names_key_3_and_class_3_in_a_table_a_null_made_float(mode):
    from retrain.domain.feedback import Correction
    from retrain.training import corrections
    from retrain.training.fit import labels
    from retrain.training.validate import parse_kinds

    spec = toy_spec(key_column="row_id", corrections=mode)
    frame = toy_frame(rows=4).assign(
        row_id=[1.0, 2.0, 3.0, np.nan], label=pd.Series([1.0, np.nan, 2.0, 1.0]).astype("category")
    )
    fix = Correction("3", None, "2", "1", "me", "2026-01-02T00:00:00Z")
    joined, counts = corrections.join(frame, spec, [fix])
    assert counts["used"] == 1 and counts["unmatched"] == 0
    parsed, _ = parse_kinds(joined, spec)
    texts = labels(parsed.dropna(subset=["label"]), spec)
    assert set(texts) == ({"1"} if mode == "override" else {"1", "2"})  # no "2.0" left
    row = parsed.index[-1] if mode == "append" else parsed.index[2]  # the one it names
    assert str(parsed.loc[row, "row_id"]) == "3" and texts[row] == "1"


def test_a_champion_trained_when_its_classes_read_3_0_is_scored_on_classes_3():
    """Trained before this change on integer classes with a NULL among them, a champion
    predicts "1.0" and "2.0": beside today's labels "1" and "2" it scored 0.0, and any
    candidate was promoted (the decay check raised a false alarm the same way)."""
    from collections import Counter

    from retrain.training import decay, evaluate, fit

    spec = toy_spec()
    frame = toy_frame(rows=1200)
    frame["label"] = frame["label"].map({"small": 1, "medium": 2, "large": 3})
    old = frame.assign(label=frame["label"].astype(float).map("{:.1f}".format))  # "1.0"
    champion = fit.fit(spec, fit.split(old, spec))
    assert set(champion.classes_) == {"1.0", "2.0", "3.0"}
    data = fit.split(frame, spec)
    sight = holdout.Sight(1, None, None, None, None)
    _, every, _ = evaluate.triples(
        champion, champion, data.X_test, data.y_test, data.test_rows, sight
    )
    right = sum(n for (t, _, theirs), n in every.items() if t == theirs)
    assert right / sum(every.values()) > 0.8
    assert decay.score(champion, frame, spec)["accuracy"] > 0.8
    assert isinstance(every, Counter)
