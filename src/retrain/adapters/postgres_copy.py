"""PostgreSQL fast path: ``COPY (query) TO STDOUT`` streamed into pandas' C CSV parser.

No Python row objects: psycopg2 writes the server's CSV into a pipe from a thread while
``pandas.read_csv`` parses it on the other end in chunks, straight into compact column types
(float32 numbers, categorical codes for categories and the target, booleans, datetimes):
no object column of the whole result ever exists. Bound parameters are quoted by psycopg2
(``cursor.mogrify``), never formatted into the SQL by hand. The transaction's READ ONLY
mode and statement timeout apply to the COPY like to any query."""

from __future__ import annotations

import csv
import os
import threading
from typing import TYPE_CHECKING, Any

from retrain.domain.specs import ModelSpec

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Connection


def _dtypes(spec: ModelSpec) -> dict[str, Any]:
    dtypes: dict[str, Any] = {col: "float32" for col in spec.features.numeric}
    dtypes.update({col: "category" for col in spec.features.categorical})
    dtypes.update({col: "boolean" for col in spec.features.boolean})
    dtypes[spec.target] = "category"
    return dtypes


def copy_query(conn: Connection, sql: str, params: dict[str, Any], spec: ModelSpec) -> pd.DataFrame:
    import pandas as pd
    from sqlalchemy import text

    compiled = str(text(sql).compile(dialect=conn.dialect))  # :name -> %(name)s
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    query = cursor.mogrify(compiled, params).decode()
    copy = f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)"

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
    try:
        with os.fdopen(read_fd, "rb", buffering=1 << 20) as source:
            columns = next(csv.reader([source.readline().decode()]))
            dates = ["created_at"] if "created_at" in columns else []
            frame = pd.read_csv(
                source,
                names=columns,
                header=None,
                dtype={k: v for k, v in _dtypes(spec).items() if k in columns},
                true_values=["t"],
                false_values=["f"],
                parse_dates=dates,
                date_format="ISO8601",
                engine="c",
                keep_default_na=False,
                na_values=[""],
            )
    except Exception:
        producer.join(timeout=5)
        if failure:
            raise failure[0] from None
        raise
    producer.join()
    if failure:
        raise failure[0]
    return frame
