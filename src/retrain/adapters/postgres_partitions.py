"""A training query cut into partitions that Dask workers read on their own.

The app plans (a few aggregate queries, no rows): how many rows, the key's range, and the
cut-off of ``TRAINING_MAX_ROWS``. Each worker then reads one partition through the same
``SqlSource`` as the local engine (READ ONLY transaction, statement timeout, COPY into
compact types): the spec's query wrapped in ``WHERE`` on its ``key_column``. Integer keys
are cut into ranges (an index on the key serves them); other keys by a hash of their text.
Conditions hold only numbers and the ``TRAINING_MAX_ROWS`` cut-off read from the database
(a literal of its type); ``:since``, when the spec has a time column, stays bound.

``TRAINING_MAX_ROWS`` keeps the rows whose ``order_by`` (else time column) is at least the
value of the max_rows-th row by it: ties at the cut-off are all kept, so a few more rows
than the limit may train (the local engine cuts ties arbitrarily). When fewer rows than the
limit have a value, the rows without one are left out."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from retrain.config import Secret
from retrain.domain.errors import BackendError, DataValidationError
from retrain.domain.specs import ModelSpec

if TYPE_CHECKING:
    import pandas as pd

    from retrain.adapters.sql_source import SqlSource


@dataclass(frozen=True)
class Database:
    """What a worker needs to connect. The URL stays a Secret (it prints as ***) in task
    reprs and logs; with a managed identity it holds no password at all."""

    url: Secret
    query_timeout_s: int = 900
    connect_timeout_s: int = 15
    managed_identity: bool = False
    uami_client_id: str | None = None


@dataclass(frozen=True)
class Plan:
    rows: int
    conditions: tuple[str, ...]  # one SQL condition on q.<key> per partition
    cutoff: str | None = None  # TRAINING_MAX_ROWS: a condition on the spec's newest_by


def plan(
    source: SqlSource,
    spec: ModelSpec,
    since: date | None,
    max_rows: int | None,
    partition_rows: int,
) -> Plan:
    from sqlalchemy import exc as sa_exc
    from sqlalchemy import text

    key, query = spec.key_column, spec.query.strip().rstrip(";")
    params: dict[str, Any] = {} if since is None else {"since": since}
    try:
        with source.engine.connect() as conn, conn.begin():
            source._begin_read_only(conn)
            columns = list(
                conn.execute(text(f"SELECT * FROM ({query}) AS q LIMIT 0"), params).keys()
            )
            if key not in columns:
                raise DataValidationError(
                    f"the query of {spec.name} does not return its key_column {key!r}; "
                    f"it returns {', '.join(columns)}: add it to the query's SELECT"
                )
            cutoff = None
            if max_rows is not None and spec.newest_by in columns:
                by = f'q."{spec.newest_by}"'
                row = conn.execute(
                    text(
                        f"SELECT {by} FROM ({query}) AS q "
                        f"ORDER BY {by} DESC NULLS LAST OFFSET :skip LIMIT 1"
                    ),
                    {**params, "skip": max_rows - 1},
                ).first()
                if row is not None:
                    value = row[0]
                    cutoff = f"{by} IS NOT NULL" if value is None else f"{by} >= {_literal(value)}"
            where = "" if cutoff is None else f"WHERE {cutoff}"
            rows, nulls, low, high = conn.execute(
                text(
                    f"SELECT count(*), count(*) FILTER (WHERE q.{key} IS NULL), "
                    f"min(q.{key}), max(q.{key}) FROM ({query}) AS q {where}"
                ),
                params,
            ).one()
    except sa_exc.StatementError as exc:
        raise BackendError(
            f"planning the partitions of {spec.name} failed: {_first_line(exc.orig)}"
        ) from None
    if nulls:
        raise DataValidationError(
            f"key_column {key!r} of {spec.name} is null in {nulls} rows: "
            "every row needs a key (partitions and the holdout follow it)"
        )
    count = max(1, math.ceil(rows / partition_rows))
    return Plan(rows, _conditions(key, low, high, count), cutoff)


def _conditions(key: str | None, low: Any, high: Any, count: int) -> tuple[str, ...]:
    if isinstance(low, int) and isinstance(high, int):
        width = max(1, math.ceil((high - low + 1) / count))
        bounds = [low + i * width for i in range(count)] + [high + 1]
        return tuple(f"q.{key} >= {bounds[i]} AND q.{key} < {bounds[i + 1]}" for i in range(count))
    return tuple(
        f"abs(mod(hashtextextended(q.{key}::text, 0), {count})) = {i}" for i in range(count)
    )


def partition_spec(spec: ModelSpec, plan: Plan, index: int) -> ModelSpec:
    """``spec`` whose query returns only partition ``index`` (still bound to ``:since``)."""
    conditions = [plan.conditions[index]]
    if plan.cutoff is not None:
        conditions.append(plan.cutoff)
    query = spec.query.strip().rstrip(";")
    wrapped = f"SELECT * FROM ({query}) AS q WHERE {' AND '.join(conditions)}"
    return dataclasses.replace(spec, query=wrapped)


def read(
    database: Database, spec: ModelSpec, since: date | None, plan: Plan, index: int
) -> pd.DataFrame:
    """One partition's rows, typed like ``SqlSource.load`` types them (runs on a worker)."""
    from retrain.adapters.sql_source import SqlSource

    source = SqlSource(_engine(database), database.query_timeout_s)
    return source.load(partition_spec(spec, plan, index), since)


@lru_cache(maxsize=4)
def _engine(database: Database) -> Any:
    """One SQLAlchemy engine per database and worker process."""
    from sqlalchemy import create_engine

    engine = create_engine(
        database.url.reveal(),
        connect_args={"connect_timeout": database.connect_timeout_s},
        pool_pre_ping=True,
    )
    if database.managed_identity:
        from retrain.adapters.postgres_identity import use_entra_token

        use_entra_token(engine, database.uami_client_id)
    return engine


def _literal(value: Any) -> str:
    """A value read from the database as an SQL literal of its type."""
    if isinstance(value, bool) or value is None:
        raise DataValidationError("TRAINING_MAX_ROWS cannot cut on a boolean order_by column")
    if isinstance(value, datetime):
        kind = "TIMESTAMPTZ" if value.tzinfo else "TIMESTAMP"
        return f"{kind} '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"'{value}'::float8"
    if isinstance(value, int | Decimal):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _first_line(exc: BaseException | None) -> str:
    return (str(exc) or type(exc).__name__).strip().splitlines()[0] if exc else "unknown error"
