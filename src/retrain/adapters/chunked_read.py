"""``pandas.read_sql`` a chunk at a time (SQLite, the embedded default).

Read whole, ``pandas.read_sql`` holds a Python tuple per row and an object per value of the
entire result before it builds the frame: 1.5 GB for ARTFAM_ROH's 1,000,000 rows, whose
frame is 46 MB, and the heap it leaves behind stayed in the process for the whole run
(docs/benchmarks.md, "Where a run's memory goes"). Read ``CHUNK_ROWS`` rows at a time, each
chunk compacted (``sql_source.compact``: categoricals, float32, datetimes) before the next
is read, the peak is one chunk's objects: at most ``CHUNK_VALUES`` values, so a wide query
reads fewer rows a chunk (``chunk_rows``; with 80 numbers a row the load peaked at 936 MB
for 250,000 rows in parts of 100,000, under 610 MB in parts of 18,750). The result is the
frame the whole read gives: the categoricals get the union of the chunks' categories,
sorted as ``astype("category")`` sorts them; when the chunks disagree on a column's type (a
chunk of NULLs, mixed types), it says so and the caller reads the query whole instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

CHUNK_ROWS = 100_000  # rows per chunk, at most
CHUNK_VALUES = 1_500_000  # values per chunk, at most: a Python object each while it is read
MIN_CHUNK_ROWS = 1_000


def chunk_rows(columns: int) -> int:
    """Rows per chunk for a query of ``columns`` columns: ``CHUNK_ROWS``, or as many as
    hold ``CHUNK_VALUES`` values when its rows are wide."""
    return min(CHUNK_ROWS, max(MIN_CHUNK_ROWS, CHUNK_VALUES // max(columns, 1)))


def read_in_chunks(
    read: Callable[[int], Any],
    compact: Callable[[pd.DataFrame], pd.DataFrame],
    on_chunk: Callable[[pd.DataFrame], None] | None = None,
    columns: int = 1,
) -> pd.DataFrame | None:
    """``read(chunksize)``: ``pandas.read_sql``'s chunk iterator, for a query returning
    ``columns`` columns (``chunk_rows``); ``on_chunk`` sees each compacted chunk before the
    next is read (the memory guard stops the load there). None when the chunks' column types
    disagree (then only a whole read gives the types the frame should have)."""
    chunks = []
    for chunk in read(chunk_rows(columns)):
        chunks.append(compact(chunk))
        if on_chunk is not None:
            on_chunk(chunks[-1])
    return combine(chunks)


def combine(chunks: list[pd.DataFrame], upcast: bool = False) -> pd.DataFrame | None:
    """The chunks as one frame, categoricals on the union of their categories. A column
    whose type differs between chunks: None, or with ``upcast`` their common type (as
    ``pandas.read_csv`` joins the chunks it parses)."""
    import pandas as pd
    from pandas.api.types import union_categoricals

    first = chunks[0]
    if len(chunks) == 1:
        return first
    if any(list(chunk.columns) != list(first.columns) for chunk in chunks):
        return None
    for col in first.columns:
        dtypes = [chunk[col].dtype for chunk in chunks]
        if all(isinstance(dtype, pd.CategoricalDtype) for dtype in dtypes):
            try:
                union = union_categoricals([chunk[col] for chunk in chunks], sort_categories=True)
            except TypeError:  # categories of mixed types: no order to agree on
                return None
            for chunk in chunks:
                chunk[col] = chunk[col].cat.set_categories(union.categories)
        elif not upcast and any(dtype != dtypes[0] for dtype in dtypes):
            return None
    return pd.concat(chunks, ignore_index=True)
