"""One source contract on SQLite and PostgreSQL; PostgreSQL's read-only role and timeout."""

from __future__ import annotations

import dataclasses
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import create_engine, pool, text

from retrain.adapters import chunked_read, demo_data
from retrain.adapters.postgres_identity import SCOPE, use_entra_token
from retrain.adapters.sql_source import SqlSource
from retrain.classifiers import default_registry
from retrain.domain.errors import BackendError, DataValidationError, QueryTimeoutError
from retrain.domain.specs import Features
from tests.integration.conftest import AS_OF, ROWS

SINCE = date(2023, 1, 1)


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'training.db'}"
    demo_data.write(create_engine(url), demo_data.generate(ROWS, 5, AS_OF))
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def source(request, sqlite_url):
    if request.param == "sqlite":
        return SqlSource(create_engine(sqlite_url))
    return SqlSource(create_engine(request.getfixturevalue("pg").reader_url), query_timeout_s=30)


@pytest.mark.parametrize("name", ["ARTFAM_ROH", "KLASSE_ROH", "KLASSE_CORE"])
def test_every_seed_query_loads_typed_rows(source, name):
    spec = default_registry().get(name)
    frame = source.load(spec, SINCE)
    assert 0.8 * ROWS < len(frame) <= ROWS
    assert set(frame.columns) == {*spec.columns, "created_at", spec.key_column}
    for col in spec.features.numeric + spec.features.boolean:
        assert str(frame[col].dtype) == "float32", col
    for col in spec.features.categorical:
        assert str(frame[col].dtype) == "category", col
    assert str(frame["created_at"].dtype).startswith("datetime64")
    assert frame["created_at"].min() >= pd_timestamp(SINCE)


def pd_timestamp(day):
    import pandas as pd

    return pd.Timestamp(day)


def test_both_sources_return_the_same_rows(sqlite_url, pg):
    spec = default_registry().get("ARTFAM_ROH")
    lite = SqlSource(create_engine(sqlite_url)).load(spec, SINCE)
    post = SqlSource(create_engine(pg.reader_url)).load(spec, SINCE)
    key = ["created_at", "thickness_mm", "density_kg_m3"]
    lite, post = (f.sort_values(key).reset_index(drop=True) for f in (lite, post))
    assert lite[spec.target].tolist() == post[spec.target].tolist()
    assert lite["decor_code"].astype(str).tolist() == post["decor_code"].astype(str).tolist()
    assert (lite["moisture_resistant"] == post["moisture_resistant"]).all()


def test_max_rows_keeps_the_newest(source):
    spec = default_registry().get("KLASSE_ROH")
    everything = source.load(spec, SINCE)
    newest = source.load(spec, SINCE, max_rows=100)
    assert len(newest) == 100
    assert newest["created_at"].min() >= everything["created_at"].sort_values().iloc[-100]


def test_an_insert_through_the_training_connection_fails(pg):
    for url in (pg.reader_url, pg.superuser_url):  # SELECT-only role; and READ ONLY anyway
        source = SqlSource(create_engine(url))
        with source.engine.connect() as conn, conn.begin():
            source._begin_read_only(conn)
            with pytest.raises(Exception, match=r"read-only transaction|permission denied"):
                conn.execute(text("INSERT INTO panel_articles (article_id) VALUES (-1)"))
    with (
        create_engine(pg.reader_url).connect() as conn,
        pytest.raises(Exception, match="permission denied"),
    ):
        conn.execute(text("DELETE FROM panel_articles"))


def test_a_slow_query_is_cancelled_with_a_clear_error(pg):
    spec = default_registry().get("KLASSE_ROH")
    slow = dataclasses.replace(
        spec, query=spec.query.replace("FROM panel_articles", "FROM panel_articles, pg_sleep(3)")
    )
    source = SqlSource(create_engine(pg.reader_url), query_timeout_s=1)
    with pytest.raises(QueryTimeoutError, match="longer than 1 s"):
        source.load(slow, SINCE)


def test_an_unreachable_database_is_a_backend_error_without_the_password():
    source = SqlSource(
        create_engine(
            "postgresql+psycopg2://app:pw-s3cret@127.0.0.1:1/x", connect_args={"connect_timeout": 2}
        )
    )
    with pytest.raises(BackendError) as info:
        source.load(default_registry().get("KLASSE_ROH"), SINCE)
    assert "pw-s3cret" not in str(info.value)


def test_each_new_connection_gets_a_fresh_entra_token(pg):
    class Credential:
        def __init__(self):
            self.scopes = []

        def get_token(self, scope):
            self.scopes.append(scope)
            return type("Token", (), {"token": f"token-{len(self.scopes)}"})()

    credential = Credential()
    engine = create_engine(pg.url(), poolclass=pool.NullPool, connect_args={"sslmode": "disable"})
    use_entra_token(engine, None, credential=credential)
    for _ in range(2):
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    assert credential.scopes == [SCOPE, SCOPE]


def _all_rows(spec, **changes):
    query = spec.query.replace("created_at, ", "").replace("WHERE created_at >= :since", "")
    return dataclasses.replace(spec, query=query, time_column=None, **changes)


def test_a_spec_without_a_time_column_loads_every_row(source):
    spec = _all_rows(default_registry().get("KLASSE_ROH"))
    frame = source.load(spec, None)
    assert len(frame) == ROWS and "created_at" not in frame.columns
    assert len(source.load(spec, None, max_rows=100)) == 101  # no column to cut by: says so
    newest = source.load(dataclasses.replace(spec, order_by="density_kg_m3"), None, max_rows=100)
    assert len(newest) == 100
    assert newest["density_kg_m3"].min() == frame["density_kg_m3"].nlargest(100).min()


def test_rows_before_the_window_are_counted(source):
    spec = default_registry().get("KLASSE_ROH")
    since = date(2026, 6, 1)
    inside = len(source.load(spec, since))
    before, newest = source.count_before(spec, since)
    assert before + inside == ROWS and before > 0
    assert newest is not None and newest[:10] < since.isoformat()


def test_wide_rows_come_in_parts_of_fewer_rows(source, monkeypatch):
    """A part holds at most ``CHUNK_VALUES`` values however wide the rows are: in parts of
    100,000 rows, 80 numbers a row made the load peak at 936 MB (250,000 rows), under 610
    MB in parts of 18,750."""
    names = [f"n{i}" for i in range(150)]
    numbers = ", ".join(f"thickness_mm + {i} AS {name}" for i, name in enumerate(names))
    spec = dataclasses.replace(
        default_registry().get("KLASSE_CORE"),
        query=f"SELECT {numbers}, core_material_class FROM {demo_data.TABLE}",
        features=Features(numeric=tuple(names)),
        time_column=None,
    )
    assert chunked_read.chunk_rows(15) == chunked_read.CHUNK_ROWS  # the seeds' parts
    assert chunked_read.chunk_rows(151) < chunked_read.CHUNK_ROWS
    whole = source.load(spec, None)
    monkeypatch.setattr(chunked_read, "CHUNK_VALUES", 151 * 1200)
    parts: list[int] = []
    chunked = source.load(spec, None, on_chunk=lambda chunk: parts.append(len(chunk)))
    assert parts == [1200, 1200, 600] and len(whole) == ROWS
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)


class Stop(Exception):
    pass


def test_the_rows_come_in_parts_that_give_the_frame_of_one_read(source, monkeypatch):
    spec = default_registry().get("KLASSE_ROH")
    whole = source.load(spec, SINCE)
    monkeypatch.setattr(chunked_read, "CHUNK_ROWS", 700)  # 5 parts, each its own categories
    parts: list[int] = []
    chunked = source.load(spec, SINCE, on_chunk=lambda chunk: parts.append(len(chunk)))
    assert parts[:-1] == [700] * (len(parts) - 1) and sum(parts) == len(whole) > 2800
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)


def test_what_the_chunk_callback_raises_stops_the_load_and_the_database_stays_usable(pg):
    """The memory guard's way to stop a load: on PostgreSQL the COPY is still streaming
    (~20 MB here, far more than the pipe and its buffers hold) when the first part raises."""
    spec = dataclasses.replace(
        default_registry().get("KLASSE_CORE"),
        time_column=None,
        query="SELECT 'L' || (i % 4) AS product_line, i % 40 + 6.0 AS thickness_mm, "
        "600.0 + i % 97 AS density_kg_m3, 2800.0 AS length_mm, 2070.0 AS width_mm, "
        "'S' || (i % 3) AS surface, 'K' || (i % 2) AS customer_segment, "
        "repeat('x', 150) AS padding, 'C' || (i % 5) AS core_material_class "
        "FROM generate_series(1, 120000) AS i",
    )
    source = SqlSource(create_engine(pg.reader_url, poolclass=pool.StaticPool))
    seen: list[int] = []

    def stop(chunk):
        seen.append(len(chunk))
        raise Stop("enough")

    with pytest.raises(Stop):
        source.load(spec, None, on_chunk=stop)
    assert seen == [chunked_read.CHUNK_ROWS]  # the rest was never parsed (9 columns)
    assert len(source.load(spec, None)) == 120_000  # the same connection reads again


def test_a_query_returning_two_columns_under_one_name_is_refused_with_the_name(source):
    """No step after the load can tell which of the two a feature means (SQLite's load
    failed with an AttributeError, PostgreSQL's with "could not be parsed")."""
    spec = default_registry().get("KLASSE_CORE")
    twice = dataclasses.replace(
        spec, query=spec.query.replace("article_id", "article_id, surface AS thickness_mm")
    )
    with pytest.raises(DataValidationError, match="more than one column named 'thickness_mm'"):
        source.load(twice, SINCE)
