"""Permutation importance in the model card: the column the label follows ranks first, a
random column scores about nothing."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from retrain.training import evaluate


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
