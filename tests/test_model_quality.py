"""The promise of docs/quality.md on a small scale: the README's defaults are no worse than
plain XGBoost (macro-F1 - 0.005) on public tables, through the product's own split, pipeline
and evaluation. `make quality` runs every table at full size; this guards against a change
of the defaults that loses it."""

from __future__ import annotations

import pytest
from benchmarks.quality import TOLERANCE, compare
from benchmarks.quality_data import TABLES

# small enough to take seconds, large enough that the rarest class keeps its test rows
CASES = {"covid_testing": 6000, "hotel_rates": 6000}


@pytest.mark.parametrize("item", sorted(CASES))
def test_readme_defaults_match_plain_xgboost(item: str) -> None:
    table = next(t for t in TABLES if t.item == item)
    result = compare(table, max_rows=CASES[item])
    assert result["product"] >= result["baseline"] - TOLERANCE, result
