"""PostgreSQL fast path: ``COPY (query) TO STDOUT`` streamed into pandas' C CSV parser.

Placeholder until the backends issue lands: it delegates to pandas.read_sql."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from retrain.domain.specs import ModelSpec

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Connection


def copy_query(conn: Connection, sql: str, params: dict[str, Any], spec: ModelSpec) -> pd.DataFrame:
    import pandas as pd
    from sqlalchemy import text

    return pd.read_sql(text(sql), conn, params=params)
