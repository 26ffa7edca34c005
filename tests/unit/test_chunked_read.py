"""SQLite reads a chunk at a time and gives the frame a whole read gives."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import create_engine

from retrain.adapters import chunked_read, demo_data
from retrain.adapters.sql_source import SqlSource, compact
from retrain.classifiers import default_registry


@pytest.fixture
def demo_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'training.db'}"
    frame = demo_data.generate(3_000, seed=3, as_of=date(2026, 11, 1))
    frame.to_sql(demo_data.TABLE, create_engine(url), index=False)
    return url


@pytest.mark.parametrize("model", ["ARTFAM_ROH", "KLASSE_ROH", "KLASSE_CORE"])
def test_chunks_give_the_frame_of_a_whole_read(demo_db, monkeypatch, model):
    spec = default_registry().get(model)
    source = SqlSource(create_engine(demo_db))
    whole = source.load(spec, date(2000, 1, 1))
    monkeypatch.setattr(chunked_read, "CHUNK_ROWS", 700)  # 5 chunks, each its own categories
    chunked = source.load(spec, date(2000, 1, 1))
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)


def test_chunks_that_disagree_on_a_type_are_read_whole():
    spec = default_registry().get("KLASSE_CORE")
    numbers = pd.DataFrame({"thickness_mm": [18.0, 19.0]})
    nulls = pd.DataFrame({"thickness_mm": [None, None]}, dtype=object)
    assert chunked_read.combine([numbers, nulls]) is None
    mixed = [
        compact(pd.DataFrame({"plant": ["A", "B"]}), spec),
        compact(pd.DataFrame({"plant": [1, 2]}), spec),
    ]
    mixed = [frame.astype({"plant": "category"}) for frame in mixed]
    assert chunked_read.combine(mixed) is None


def test_categories_are_the_sorted_union_of_the_chunks():
    parts = [pd.DataFrame({"c": pd.Categorical(values)}) for values in (["b", "a"], ["c", "a"])]
    combined = chunked_read.combine(parts)
    assert combined is not None
    assert list(combined["c"].cat.categories) == ["a", "b", "c"]
    assert list(combined["c"]) == ["b", "a", "c", "a"]
    assert list(combined.index) == [0, 1, 2, 3]
