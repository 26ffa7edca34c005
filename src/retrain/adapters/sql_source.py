"""Training rows from any SQLAlchemy database, read-only.

SQLite (the embedded default) reads through ``pandas.read_sql``, a chunk at a time
(``chunked_read``). PostgreSQL runs every
query in a READ ONLY transaction with a statement timeout; see ``postgres_copy`` for the
fast path. The data window is a bound parameter, never formatted into the SQL. Database
errors become QueryRejectedError when no retry can help (see ``database_errors``) and
BackendError otherwise."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

from retrain.adapters.database_errors import describe, query_error
from retrain.domain.errors import BackendError, DataValidationError
from retrain.domain.specs import ModelSpec

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Connection, Engine

EARLIEST = date(1, 1, 1)  # ":since" for "every row the query returns"


def windowed_query(spec: ModelSpec, max_rows: int | None) -> str:
    """The spec's query, cut to ``max_rows`` rows when a limit is set: the largest values of
    the spec's order column, or (without one) any rows, one more than the limit so the
    caller sees that the limit would cut (``:max_rows`` is bound to the limit + 1 then)."""
    query = spec.query.strip().rstrip(";")
    if max_rows is None:
        return query
    if spec.newest_by is None:
        return f"SELECT * FROM ({query}) AS q LIMIT :max_rows"
    order = f'q."{spec.newest_by}" DESC NULLS LAST'
    return f"SELECT * FROM ({query}) AS q ORDER BY {order} LIMIT :max_rows"


def named_once(names: Iterable[str], spec: ModelSpec) -> None:
    """DataValidationError when the query returns two columns under one name: pandas would
    hold both under it, and no step after could tell which one a feature means."""
    twice = sorted(name for name, count in Counter(names).items() if count > 1)
    if twice:
        raise DataValidationError(
            f"the query of {spec.name} returns more than one column named "
            f"{', '.join(repr(name) for name in twice)}: give each column its own name "
            "(SELECT ... AS other_name) or leave the extra one out"
        )


def compact(frame: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """Small column types where no value can be lost: numbers and booleans already held as
    numbers become float32, categoricals and the target categories, the time column
    datetimes. Anything else (text in a numeric column) is left as it came, for validation
    to count; never coerced to NaN here. (The COPY path parses straight into these.)"""
    import numpy as np
    import pandas as pd
    from pandas.api import types as ptypes

    named_once(frame.columns, spec)
    for col in (*spec.features.numeric, *spec.features.boolean):
        values = frame.get(col)
        if values is None or values.dtype == "float32":  # the COPY path parsed it already
            continue
        if ptypes.is_numeric_dtype(values) or ptypes.is_bool_dtype(values):
            with np.errstate(over="ignore"):  # beyond float32 becomes inf: validation reports it
                frame[col] = values.to_numpy(dtype="float32", na_value=np.nan)
    for col in (*spec.features.categorical, spec.target):
        if col in frame:
            frame[col] = frame[col].astype("category")
    time = spec.time_column
    if time in frame and not ptypes.is_datetime64_any_dtype(frame[time]):
        for utc in (False, True):  # True: mixed UTC offsets
            try:
                frame[time] = pd.to_datetime(frame[time], format="ISO8601", utc=utc)
                break
            except (ValueError, TypeError):
                continue  # not a timestamp: the window is the query's business; keep it
    return frame


class SqlSource:
    def __init__(self, engine: Engine, query_timeout_s: int = 900) -> None:
        self.engine = engine
        self.query_timeout_s = query_timeout_s

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def _begin_read_only(self, conn: Connection) -> None:
        from sqlalchemy import text

        if self.is_postgres:
            conn.execute(text("SET TRANSACTION READ ONLY"))
            conn.execute(
                text("SELECT set_config('statement_timeout', :ms, true)"),
                {"ms": str(self.query_timeout_s * 1000)},
            )
        elif self.engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA query_only = ON")

    def load(
        self,
        spec: ModelSpec,
        since: date | None,
        max_rows: int | None = None,
        on_chunk: Callable[[pd.DataFrame], None] | None = None,
    ) -> pd.DataFrame:
        import pandas as pd
        from sqlalchemy import text

        params: dict[str, Any] = {} if since is None else {"since": since}
        if max_rows is not None:
            params["max_rows"] = max_rows if spec.newest_by else max_rows + 1
        sql = windowed_query(spec, max_rows)
        with self._read_only(spec) as conn:
            if self.is_postgres:
                from retrain.adapters.postgres_copy import copy_query

                frame = copy_query(conn, sql, params, spec, on_chunk)
            else:  # a chunk at a time, unless the chunks disagree on a type (chunked_read)
                from retrain.adapters.chunked_read import read_in_chunks

                query = text(sql)
                chunked = read_in_chunks(
                    lambda rows: pd.read_sql(query, conn, params=params, chunksize=rows),
                    lambda chunk: compact(chunk, spec),
                    on_chunk,
                    columns=len(spec.required_columns),
                )
                frame = pd.read_sql(query, conn, params=params) if chunked is None else chunked
        return compact(frame, spec)

    def count_before(self, spec: ModelSpec, since: date) -> tuple[int, str | None]:
        """Rows the query returns from before ``since`` (its ``:since`` pushed back to the
        earliest date) and the newest of their time values."""
        from sqlalchemy import text

        column = spec.time_column
        if column is None:
            return 0, None
        sql = (
            f'SELECT count(*), max(q."{column}") FROM ({spec.query.strip().rstrip(";")}) AS q '
            f'WHERE q."{column}" < :window_start'
        )
        with self._read_only(spec) as conn:
            count, newest = conn.execute(
                text(sql), {"since": EARLIEST, "window_start": since}
            ).one()
        return int(count), (None if newest is None else str(newest))

    @contextmanager
    def _read_only(self, spec: ModelSpec) -> Iterator[Connection]:
        """A read-only transaction. Database errors inside become QueryRejectedError when
        no retry can help, BackendError otherwise; both name the model, never a value."""
        from sqlalchemy import exc as sa_exc

        caught: tuple[type[BaseException], ...] = (
            sa_exc.StatementError,
            *_driver_errors(self.engine),
        )
        try:
            with self.engine.connect() as conn, conn.begin():
                self._begin_read_only(conn)
                yield conn
        except Exception as exc:
            # COPY runs on the raw driver cursor: its errors come unwrapped; pandas.read_sql
            # wraps SQLAlchemy's in its own DatabaseError (whose message holds the SQL)
            cause: BaseException | None = exc
            while cause is not None and not isinstance(cause, caught):
                cause = cause.__cause__
            if cause is None:
                raise
            raise query_error(spec.name, cause, self.query_timeout_s) from None

    def ping(self) -> None:
        from sqlalchemy import exc as sa_exc
        from sqlalchemy import text

        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except sa_exc.DBAPIError as exc:
            raise BackendError(f"training database unreachable: {describe(exc.orig)}") from None


def _driver_errors(engine: Engine) -> tuple[type[BaseException], ...]:
    dbapi = getattr(engine.dialect, "dbapi", None)
    error = getattr(dbapi, "Error", None)
    return (error,) if isinstance(error, type) else ()
