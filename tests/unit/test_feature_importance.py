"""Permutation importance in the model card: the column the label follows ranks first, a
random column scores about nothing."""

from __future__ import annotations

from retrain.service.runner import execute_run
from retrain.service.start import start_runs


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
