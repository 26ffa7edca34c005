"""Values that do not fit their declared kind: the same validation finding, naming the
column and counting the values, on PostgreSQL (COPY) and SQLite (read_sql); never NaN in
silence, never a parser's message quoting a cell."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import create_engine, text

from retrain.adapters.sql_source import SqlSource
from retrain.domain.errors import DataValidationError
from retrain.domain.specs import Features, ModelSpec
from retrain.training.validate import validate

ROWS = 40
# (numbers as text, double precision, booleans as text, booleans as integers)
BAD = {
    3: ("abc-cell", 1.5, "yes-cell", 2),
    5: ("inf", math.inf, "true", 1),
    8: (None, None, None, None),
}


def _rows() -> list[dict]:
    rows = []
    for i in range(ROWS):
        text_number, real, word, flag = BAD.get(i, (f"{i}.5", i / 2, "false", 0))
        real = math.nan if i == 9 else real  # PostgreSQL's NaN: a missing value, not an error
        rows.append(
            dict(id=i, n_text=text_number, n_real=real, b_text=word, b_int=flag, cat=f"c{i % 3}")
        )
        rows[-1]["label"] = "even" if i % 2 else "odd"
    return rows


DDL = """CREATE TABLE odd_values (id integer, n_text text, n_real double precision,
    b_text text, b_int integer, cat text, label text)"""


def _fill(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS odd_values"))
        conn.execute(text(DDL))
        conn.execute(
            text(
                "INSERT INTO odd_values VALUES "
                "(:id, :n_text, :n_real, :b_text, :b_int, :cat, :label)"
            ),
            _rows(),
        )


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('odd') / 'odd.db'}"
    _fill(url)
    return url


@pytest.fixture(scope="module")
def pg_odd(pg):
    _fill(pg.superuser_url)
    pg.grant_reader()
    return pg


@pytest.fixture(params=["sqlite", "postgres"])
def source(request, sqlite_url):
    if request.param == "sqlite":
        return SqlSource(create_engine(sqlite_url))
    return SqlSource(create_engine(request.getfixturevalue("pg_odd").reader_url))


def _spec(**features: tuple[str, ...]) -> ModelSpec:
    return ModelSpec(
        name="ODD",
        description="values that do not fit",
        query="SELECT * FROM odd_values",
        target="label",
        features=Features(categorical=("cat",), **features),
        estimator=object,
        min_rows=1,
        max_null_rate=1.0,
    )


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (
            {"numeric": ("n_text",)},
            "numeric column 'n_text' has 2 values that are not finite numbers (1 text, "
            "1 infinite): fix them in the query, or declare 'n_text' in features.categorical",
        ),
        (
            {"numeric": ("n_real",)},
            "numeric column 'n_real' has 1 values that are not finite numbers (1 infinite): "
            "fix them in the query, or declare 'n_real' in features.categorical",
        ),
        (
            {"boolean": ("b_text",)},
            "boolean column 'b_text' has 1 values other than true/false/0/1: fix them in the "
            "query, or declare 'b_text' in features.categorical",
        ),
        (
            {"boolean": ("b_int",)},
            "boolean column 'b_int' has 1 values other than true/false/0/1: fix them in the "
            "query, or declare 'b_int' in features.categorical",
        ),
    ],
)
def test_a_value_that_does_not_fit_is_a_finding_on_every_source(source, features, message):
    frame = source.load(_spec(**features), None)  # loading never stops on a value
    with pytest.raises(DataValidationError) as info:
        validate(frame, _spec(**features))
    assert str(info.value) == message
    (finding,) = info.value.findings
    assert (finding["rule"], finding["column"]) == ("column_type", next(iter(features.values()))[0])
    assert "-cell" not in str(info.value)


def test_clean_values_of_every_spelling_load_as_float32(source):
    spec = _spec(numeric=("n_real",), boolean=("b_int",))
    query = "SELECT * FROM odd_values WHERE id NOT IN (3, 5)"
    spec = ModelSpec(**{**spec.__dict__, "query": query})
    checked = validate(source.load(spec, None), spec)
    assert {str(checked.frame[c].dtype) for c in ("n_real", "b_int")} == {"float32"}
    assert checked.frame["n_real"].isna().sum() == 2  # the NULL and PostgreSQL's NaN
    assert set(checked.frame["b_int"].dropna()) == {0.0}
