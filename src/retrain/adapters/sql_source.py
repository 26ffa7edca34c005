"""Training rows from any SQLAlchemy database, read-only.

SQLite (the embedded default) reads through ``pandas.read_sql``. PostgreSQL runs every
query in a READ ONLY transaction with a statement timeout; see ``postgres_copy`` for the
fast path. The data window is a bound parameter, never formatted into the SQL."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from retrain.domain.errors import BackendError, QueryTimeoutError
from retrain.domain.specs import ModelSpec

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Connection, Engine


def windowed_query(spec: ModelSpec, max_rows: int | None) -> str:
    """The spec's query, cut to the newest ``max_rows`` rows when a limit is set."""
    query = spec.query.strip().rstrip(";")
    if max_rows is None:
        return query
    return f"SELECT * FROM ({query}) AS q ORDER BY created_at DESC LIMIT :max_rows"


def compact(frame: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """Small column types: float32 numbers and booleans, categorical codes (features and
    target), datetimes. (The COPY path parses straight into these; this catches the rest.)"""
    import pandas as pd

    for col in spec.features.numeric:
        if col in frame:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float32")
    for col in spec.features.boolean:
        if col in frame:
            frame[col] = frame[col].astype("float32")
    for col in spec.features.categorical:
        if col in frame:
            frame[col] = frame[col].astype("category")
    if "created_at" in frame and not pd.api.types.is_datetime64_any_dtype(frame["created_at"]):
        frame["created_at"] = pd.to_datetime(frame["created_at"], format="ISO8601")
    if spec.target in frame:
        frame[spec.target] = frame[spec.target].astype("category")
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

    def load(self, spec: ModelSpec, since: date, max_rows: int | None = None) -> pd.DataFrame:
        import pandas as pd
        from sqlalchemy import exc as sa_exc
        from sqlalchemy import text

        params: dict[str, Any] = {"since": since}
        if max_rows is not None:
            params["max_rows"] = max_rows
        sql = windowed_query(spec, max_rows)
        caught: tuple[type[BaseException], ...] = (sa_exc.DBAPIError, *_driver_errors(self.engine))
        try:
            with self.engine.connect() as conn, conn.begin():
                self._begin_read_only(conn)
                if self.is_postgres:
                    from retrain.adapters.postgres_copy import copy_query

                    frame = copy_query(conn, sql, params, spec)
                else:
                    frame = pd.read_sql(text(sql), conn, params=params)
        except caught as exc:
            # COPY runs on the raw driver cursor: its errors arrive unwrapped
            cause = getattr(exc, "orig", None) or exc
            if "statement timeout" in str(cause):
                raise QueryTimeoutError(
                    f"training query of {spec.name} ran longer than "
                    f"{self.query_timeout_s} s (TRAINING_QUERY_TIMEOUT_S) and was cancelled"
                ) from None
            raise BackendError(
                f"training query of {spec.name} failed: {_first_line(cause)}"
            ) from None
        return compact(frame, spec)

    def ping(self) -> None:
        from sqlalchemy import exc as sa_exc
        from sqlalchemy import text

        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except sa_exc.DBAPIError as exc:
            raise BackendError(f"training database unreachable: {_first_line(exc.orig)}") from None


def _driver_errors(engine: Engine) -> tuple[type[BaseException], ...]:
    dbapi = getattr(engine.dialect, "dbapi", None)
    error = getattr(dbapi, "Error", None)
    return (error,) if isinstance(error, type) else ()


def _first_line(exc: BaseException | None) -> str:
    """The driver's message without the SQL and parameters SQLAlchemy appends."""
    return (str(exc) or type(exc).__name__).strip().splitlines()[0] if exc else "unknown error"
