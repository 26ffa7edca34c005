"""Database errors no retry can fix fail the run on its first attempt, naming the model and
the database's message without a value from the rows; connection trouble stays retryable.
Real PostgreSQL 15 (read-only role) and SQLite."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine

from retrain.adapters import demo_data
from retrain.adapters.sql_source import SqlSource
from retrain.domain.errors import BackendError, QueryRejectedError
from retrain.domain.runs import RunStatus
from retrain.domain.specs import Features, ModelSpec, Registry
from retrain.service.context import Services
from retrain.service.model_repository import ModelRepository
from retrain.service.run_repository import RunRepository
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.fakes import MemoryObjectStore, RecordingNotifier
from tests.integration.conftest import AS_OF

COLUMNS = "thickness_mm, plant, raw_material_class"


def _spec(query: str) -> ModelSpec:
    return ModelSpec(
        name="BROKEN",
        description="a query the database refuses",
        query=query,
        target="raw_material_class",
        features=Features(numeric=("thickness_mm",), categorical=("plant",)),
        estimator=object,
        min_rows=1,
    )


REFUSED = {
    "undefined column": (
        "SELECT thickness_mm, plnt AS plant, raw_material_class FROM panel_articles",
        'column "plnt" does not exist (SQLSTATE 42703)',
    ),
    "undefined table": (
        f"SELECT {COLUMNS} FROM panel_article",
        'relation "panel_article" does not exist (SQLSTATE 42P01)',
    ),
    "syntax": (f"SELECT {COLUMNS} FORM panel_articles", "syntax error"),
    "permission": (
        f"SELECT {COLUMNS} FROM secret_costs",
        "permission denied for table secret_costs",
    ),
    "a value its SQL cannot convert": (
        "SELECT CAST(plant AS double precision) AS thickness_mm, plant, raw_material_class "
        "FROM panel_articles",
        'invalid input syntax for type double precision: "…" (SQLSTATE 22P02)',
    ),
}


@pytest.fixture(scope="module")
def pg_refusing(pg):
    pg.psql(
        "CREATE TABLE IF NOT EXISTS secret_costs AS SELECT * FROM panel_articles LIMIT 5;"
        "REVOKE ALL ON secret_costs FROM retrain_reader;"
        "CREATE SEQUENCE IF NOT EXISTS article_seq;"
    )
    return pg


@pytest.mark.parametrize("case", list(REFUSED))
def test_postgres_refusals_are_permanent_and_name_the_model(pg_refusing, case):
    query, words = REFUSED[case]
    source = SqlSource(create_engine(pg_refusing.reader_url))
    with pytest.raises(QueryRejectedError) as info:
        source.load(_spec(query), None)
    message = str(info.value)
    assert message.startswith("training query of BROKEN was rejected by the database: ")
    assert words in message
    assert "P01" not in message.replace("42P01", "")  # no plant code: no cell value
    assert "\n" not in message and "SELECT" not in message


def test_a_write_in_the_read_only_session_is_permanent(pg_refusing):
    query = (
        "SELECT nextval('article_seq') AS thickness_mm, plant, raw_material_class "
        "FROM panel_articles"
    )
    source = SqlSource(create_engine(pg_refusing.superuser_url))  # READ ONLY even for them
    with pytest.raises(QueryRejectedError, match=r"read-only transaction \(SQLSTATE 25006\)"):
        source.load(_spec(query), None)


def test_a_dropped_connection_stays_retryable(pg_refusing):
    query = (
        "SELECT thickness_mm, plant, raw_material_class, pg_terminate_backend(pg_backend_pid()) "
        "AS gone FROM panel_articles"
    )
    source = SqlSource(create_engine(pg_refusing.reader_url))
    with pytest.raises(BackendError) as info:
        source.load(_spec(query), None)
    assert not isinstance(info.value, QueryRejectedError)
    assert "terminating connection" in str(info.value) or "closed" in str(info.value)


def test_a_refused_query_fails_the_run_on_its_first_attempt(pg_refusing):
    svc = Services(
        registry=Registry([_spec(REFUSED["undefined column"][0])]),
        source=SqlSource(create_engine(pg_refusing.reader_url)),
        models=ModelRepository(MemoryObjectStore()),
        runs=RunRepository(MemoryObjectStore()),
        notifier=RecordingNotifier(),
        clock=lambda: datetime(2026, 11, 22, tzinfo=UTC),
    )
    run_id = start_runs(svc, ["BROKEN"], trigger="test").runs[0].run_id
    record = execute_run(svc, run_id, final_attempt=False)  # no exception: nothing to retry
    assert record.status is RunStatus.FAILED and record.attempts == 1
    assert record.error["type"] == "QueryRejectedError"
    assert (
        'BROKEN was rejected by the database: column "plnt" does not exist'
        in (record.error["message"])
    )
    assert [r.run_id for r in svc.notifier.runs] == [run_id]


# --- SQLite -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite-errors") / "training.db"
    demo_data.write(create_engine(f"sqlite:///{path}"), demo_data.generate(200, 5, AS_OF))
    return path


@pytest.mark.parametrize(
    ("query", "words"),
    [
        (REFUSED["undefined column"][0], "no such column: plnt"),
        (REFUSED["undefined table"][0], "no such table: panel_article"),
        (REFUSED["syntax"][0], "syntax error"),
        (
            "INSERT INTO panel_articles (article_id) VALUES (-1) "
            "RETURNING 1.0 AS thickness_mm, 'P01' AS plant, 'A' AS raw_material_class",
            "attempt to write a readonly database",
        ),
    ],
)
def test_sqlite_refusals_are_permanent(sqlite_path, query, words):
    source = SqlSource(create_engine(f"sqlite:///{sqlite_path}"))
    with pytest.raises(QueryRejectedError, match=words):
        source.load(_spec(query), None)


def test_a_locked_sqlite_database_stays_retryable(sqlite_path):
    holder = sqlite3.connect(sqlite_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        engine = create_engine(f"sqlite:///{sqlite_path}", connect_args={"timeout": 0.1})
        with pytest.raises(BackendError, match="database is locked") as info:
            SqlSource(engine).load(_spec(f"SELECT {COLUMNS} FROM panel_articles"), None)
        assert not isinstance(info.value, QueryRejectedError)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_text_that_is_not_utf8_names_its_column_and_the_encoding(pg):
    """A database in SQL_ASCII passes any bytes through: the run stops once, naming the
    column and the encoding, never quoting the bytes."""
    from tests import services

    db = services.Postgres(pg.port, "ascii_training")
    pg.psql(f"CREATE DATABASE {db.database} ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' "
            "TEMPLATE template0")  # fmt: skip
    db.psql(
        "CREATE TABLE notes (thickness_mm real, plant text, description text, "
        "raw_material_class text); "
        "INSERT INTO notes SELECT g % 30, 'P' || (g % 3), 'Spanplatte roh', "
        "chr(65 + g % 2) FROM generate_series(1, 300) g; "
        "INSERT INTO notes VALUES (18, 'P1', convert_from('\\x53706fff'::bytea, 'SQL_ASCII'), 'A')"
    )
    db.grant_reader()
    spec = ModelSpec(
        name="NOT_UTF8",
        description="text in SQL_ASCII",
        query="SELECT thickness_mm, plant, description, raw_material_class FROM notes",
        target="raw_material_class",
        features=Features(numeric=("thickness_mm",), categorical=("plant",), text=("description",)),
        estimator=object,
        min_rows=1,
        time_column=None,
        window_months=None,
    )  # fmt: skip
    from retrain.domain.errors import DataValidationError

    source = SqlSource(create_engine(db.reader_url))
    with pytest.raises(DataValidationError) as stopped:
        source.load(spec, None, None)
    message = str(stopped.value)
    assert "column 'description' (row 301 of the result)" in message
    assert "database's encoding is SQL_ASCII" in message
    assert "\\xff" not in message and "Spo" not in message
