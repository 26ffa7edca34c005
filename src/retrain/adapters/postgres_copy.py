"""PostgreSQL fast path: ``COPY (query) TO STDOUT`` streamed into pandas' C CSV parser.

No Python row objects: psycopg2 writes the server's CSV into a pipe from a thread while
``pandas.read_csv`` parses it on the other end in chunks, straight into compact column types
(float32 numbers, categorical codes for categories and the target, booleans, datetimes):
no object column of the whole result ever exists. Bound parameters are quoted by psycopg2
(``cursor.mogrify``), never formatted into the SQL by hand. The transaction's READ ONLY
mode and statement timeout apply to the COPY like to any query.

The parse types follow the result's column types (asked with ``LIMIT 0`` first): a number
column parses straight into float32 (PostgreSQL's ``NaN`` as missing, ``Infinity`` as inf
for validation to report), a boolean column into booleans. A feature declared numeric or
boolean that the database holds as text is read as text, so validation can count the values
that do not fit instead of the parser stopping on the first with the value in its message."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from retrain.domain.errors import DataValidationError
from retrain.domain.specs import ModelSpec

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Connection

# PostgreSQL type OIDs: int8, int2, int4, oid, float4, float8, numeric; bool; date and time
NUMBER_TYPES = {20, 21, 23, 26, 700, 701, 1700}
BOOL_TYPE = 16
TIME_TYPES = {1082, 1114, 1184}


def _dtypes(spec: ModelSpec, types: dict[str, Any]) -> dict[str, Any]:
    """Parse type per column present, from its declared kind and its database type."""
    dtypes: dict[str, Any] = {}
    for col in (*spec.features.numeric, *spec.features.boolean):
        if types.get(col) in NUMBER_TYPES:
            dtypes[col] = "float32"
        elif types.get(col) == BOOL_TYPE:
            dtypes[col] = "boolean"
        else:
            dtypes[col] = "str"  # validation counts what does not parse
    dtypes.update({col: "category" for col in (*spec.features.categorical, spec.target)})
    # text as text: "0012" keeps its zeros (an empty text reads as missing, as NULL does)
    dtypes.update({col: "str" for col in spec.features.text})
    return {col: kind for col, kind in dtypes.items() if col in types}


def copy_query(
    conn: Connection,
    sql: str,
    params: dict[str, Any],
    spec: ModelSpec,
    on_chunk: Callable[[pd.DataFrame], None] | None = None,
) -> pd.DataFrame:
    """The query's rows, parsed ``chunked_read.chunk_rows`` at a time; ``on_chunk`` sees
    each chunk before the next is parsed and may raise to stop the COPY."""
    import pandas as pd
    from sqlalchemy import text

    from retrain.adapters.chunked_read import chunk_rows, combine
    from retrain.adapters.sql_source import named_once

    compiled = str(text(sql).compile(dialect=conn.dialect))  # :name -> %(name)s
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    query = cursor.mogrify(compiled, params).decode()
    cursor.execute(f"SELECT * FROM ({query}) AS q LIMIT 0")
    named_once([column[0] for column in cursor.description], spec)
    types = {column[0]: column[1] for column in cursor.description}  # name, type OID
    dtypes = _dtypes(spec, types)
    copy = f"COPY ({query}) TO STDOUT WITH (FORMAT csv)"

    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            with os.fdopen(write_fd, "wb", buffering=1 << 20) as sink:
                cursor.copy_expert(copy, sink, size=1 << 20)
        except BaseException as exc:  # re-raised in the caller's thread below
            failure.append(exc)

    producer = threading.Thread(target=produce, name="copy-to-stdout", daemon=True)
    producer.start()
    chunks = []
    try:
        with os.fdopen(read_fd, "rb", buffering=1 << 20) as source:
            reader = pd.read_csv(
                source,
                names=list(types),
                header=None,
                dtype=dtypes,
                true_values=["t"],
                false_values=["f"],
                parse_dates=[c for c in types if c == spec.time_column and types[c] in TIME_TYPES],
                date_format="ISO8601",
                engine="c",
                keep_default_na=False,
                na_values={c: ["", "NaN"] if dtypes.get(c) == "float32" else [""] for c in types},
                chunksize=chunk_rows(len(types)),
            )
            with reader:
                for chunk in reader:
                    if on_chunk is not None:
                        on_chunk(chunk)
                    chunks.append(chunk)
    except Exception as exc:
        producer.join(timeout=5)  # the pipe is closed: a COPY still writing stops with that
        if failure and not isinstance(failure[0], BrokenPipeError):
            raise failure[0] from None  # the server's error ended the rows first
        if isinstance(exc, UnicodeDecodeError):
            raise DataValidationError(_not_utf8(cursor, copy, list(types), spec)) from None
        if isinstance(exc, ValueError):  # its message may quote a cell: name the type only
            raise DataValidationError(
                f"the rows of {spec.name} could not be parsed ({type(exc).__name__})"
            ) from None
        raise
    producer.join()
    if failure:
        raise failure[0]
    # a column parsed by inference (the key, the query's other columns) takes the chunks'
    # common type, as one read_csv call joins its own chunks
    frame = combine(chunks, upcast=True)
    assert frame is not None  # the same names in every chunk, categories all text
    return frame


def _not_utf8(cursor: Any, copy: str, names: list[str], spec: ModelSpec) -> str:
    """Which column holds bytes that are not UTF-8: the rows are read again as CSV, each field
    checked, stopping at the first (a database in SQL_ASCII passes any bytes through)."""
    import csv

    cursor.execute("SHOW server_encoding")
    encoding = cursor.fetchone()[0]
    buffer = io.BytesIO()
    cursor.copy_expert(copy, buffer, size=1 << 20)
    buffer.seek(0)
    text = io.TextIOWrapper(buffer, encoding="latin-1", newline="")  # any byte reads
    where = "a text column"
    for row, fields in enumerate(csv.reader(text), start=1):
        for name, value in zip(names, fields, strict=False):
            try:
                value.encode("latin-1").decode("utf-8")
            except UnicodeDecodeError:
                where = f"column {name!r} (row {row:,} of the result)"
                break
        else:
            continue
        break
    return (
        f"the rows of {spec.name} are not valid UTF-8: {where} holds bytes that are not UTF-8 "
        f"(the database's encoding is {encoding}; rows are read as UTF-8). Store that text as "
        "UTF-8, or clean or leave out that column in the training query"
    )
