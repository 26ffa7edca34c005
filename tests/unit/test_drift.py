"""Drift against the champion never cries wolf and still finds a real shift.

Properties over generated columns of every shape (constant, two values, mostly zero, heavy
ties, integer codes, skewed, with nulls, few and many categories, booleans): the same rows
give no finding; a fresh sample of the same distribution gives none; a category's share
moving 20 points or a mean moving one standard deviation is found. The champion's profile
goes through JSON first, as it does through a model card."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrain.adapters import demo_data
from retrain.classifiers import default_registry
from retrain.domain.findings import DRIFT_RULES
from retrain.domain.specs import Features, ModelSpec
from retrain.training import drift
from retrain.training.profile import profile
from retrain.training.validate import validate
from tests.fakes import toy_spec

Column = Callable[[np.random.Generator, int], np.ndarray]


def _with_nulls(rng: np.random.Generator, n: int) -> np.ndarray:
    values = rng.normal(0, 1, n)
    values[rng.random(n) < 0.3] = np.nan
    return values


NUMERIC: dict[str, Column] = {
    "normal": lambda rng, n: rng.normal(10, 2, n),
    "constant": lambda rng, n: np.full(n, 3.0),
    "two_values": lambda rng, n: rng.choice([0.0, 1.0], n, p=[0.4, 0.6]),
    "mostly_zero": lambda rng, n: np.where(rng.random(n) < 0.93, 0.0, rng.exponential(5, n)),
    "heavy_ties": lambda rng, n: np.round(rng.normal(50, 10, n) / 5) * 5,
    "integer_codes": lambda rng, n: rng.integers(0, 60, n).astype(float),
    "skewed": lambda rng, n: rng.lognormal(0, 1.5, n),
    "with_nulls": _with_nulls,
    "five_formats": lambda rng, n: rng.choice([2800, 2620, 5610, 2500, 4100], n).astype(float),
}
CATEGORICAL: dict[str, Column] = {
    "few": lambda rng, n: rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]).astype(object),
    "single": lambda rng, n: np.full(n, "only", dtype=object),
    "many_zipf": lambda rng, n: np.array([f"d{i % 900}" for i in rng.zipf(1.3, n)], dtype=object),
    "with_nulls": lambda rng, n: rng.choice(np.array(["a", "b", None], dtype=object), n),
}
BOOLEAN: dict[str, Column] = {
    "balanced": lambda rng, n: rng.random(n) < 0.5,
    "rare": lambda rng, n: rng.random(n) < 0.03,
    "with_nulls": lambda rng, n: rng.choice(np.array([True, False, None], dtype=object), n),
}
KINDS = {"numeric": NUMERIC, "categorical": CATEGORICAL, "boolean": BOOLEAN}
SHAPES = [(kind, name) for kind, shapes in KINDS.items() for name in shapes]


def _spec(kind: str) -> ModelSpec:
    return toy_spec(features=Features(**{kind: ("x",)}), min_rows=1, max_null_rate=1.0)


def _frame(values: np.ndarray | list, labels: np.ndarray | None = None) -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame(
        {
            "created_at": pd.Timestamp("2026-01-01"),
            "x": values,
            "label": labels if labels is not None else np.array(["p", "q"] * n)[:n],
        }
    )


def _drift(before: pd.DataFrame, after: pd.DataFrame, spec: ModelSpec) -> list[dict]:
    """Validate ``after`` against ``before``'s profile as a card stores it."""
    champion = json.loads(json.dumps(validate(before, spec).profile))
    return [f for f in validate(after, spec, champion).findings if f["rule"] in DRIFT_RULES]


# --- the same rows: never a finding, whatever the column holds -------------------------

numbers = st.one_of(
    st.floats(allow_infinity=False, allow_nan=True, width=32),
    st.sampled_from([0.0, 0.0, 0.0, 1.0, 2.5, -0.0, 1e6]),
)
texts = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "", "0", "NaN"]), st.text(max_size=4))
flags = st.sampled_from([True, False, None])
COLUMNS = {
    "numeric": st.lists(numbers, min_size=1, max_size=400),
    "categorical": st.lists(texts, min_size=1, max_size=400),
    "boolean": st.lists(flags, min_size=1, max_size=400),
}


@pytest.mark.parametrize("kind", list(COLUMNS))
def test_the_same_rows_in_any_order_give_no_finding(kind):
    spec = _spec(kind)

    @settings(max_examples=150, derandomize=True, deadline=None)
    @given(values=COLUMNS[kind], seed=st.integers(0, 2**16))
    def check(values, seed):
        before = _frame(values)
        champion = json.loads(json.dumps(profile(before, spec)))
        after = before.sample(frac=1.0, random_state=seed)  # same rows, shuffled
        assert drift.compare(after, spec, profile(after, spec), champion) == []

    check()


@pytest.mark.parametrize(("kind", "shape"), SHAPES)
def test_a_fresh_sample_of_the_same_distribution_gives_no_finding(kind, shape):
    """Small samples too: a few hundred rows in ten buckets make a PSI above 0.1 common."""
    spec, column = _spec(kind), KINDS[kind][shape]
    for rows, seed in [(5000, 1), *((250, seed) for seed in range(2, 12))]:
        first, second = np.random.default_rng(seed), np.random.default_rng(seed + 100)
        before, after = _frame(column(first, rows)), _frame(column(second, rows))
        assert _drift(before, after, spec) == [], (shape, rows, seed)


def test_the_demo_tables_discrete_columns_give_no_finding_on_a_rerun():
    """length_mm and width_mm hold five values each: they reported PSI 1.27 and 3.18 on
    every rerun of the demo before profiles kept counts."""
    spec = default_registry().get("KLASSE_CORE")
    frame = demo_data.generate(3000, 7, pd.Timestamp("2026-11-01").date())
    frame = frame.astype({spec.target: "category"})
    assert _drift(frame, frame.copy(), spec) == []


# --- a real shift is found --------------------------------------------------------------


@pytest.mark.parametrize("shape", [s for s in NUMERIC if s != "constant"])
def test_a_mean_moving_one_standard_deviation_is_found(shape):
    spec, column = _spec("numeric"), NUMERIC[shape]
    before = column(np.random.default_rng(1), 1000)
    after = column(np.random.default_rng(2), 1000) + np.nanstd(before)
    findings = _drift(_frame(before), _frame(after), spec)
    assert [(f["rule"], f["column"]) for f in findings] == [("feature_shift", "x")], shape
    assert findings[0]["message"].startswith("x: mean ")


def _move(values: np.ndarray, source: object, target: object, share: float = 0.2) -> np.ndarray:
    """``values`` with ``share`` of all rows moved from ``source`` to ``target``."""
    moved = values.copy()
    rows = np.flatnonzero(moved == source)[: int(share * len(moved))]
    moved[rows] = target
    return moved


@pytest.mark.parametrize(
    ("kind", "shape", "source", "target"),
    [
        ("categorical", "few", "a", "c"),
        ("categorical", "few", "a", "brand-new"),
        ("categorical", "many_zipf", "d1", "d500"),
        ("boolean", "balanced", False, True),
    ],
)
def test_a_share_moving_20_points_is_found(kind, shape, source, target):
    spec, column = _spec(kind), KINDS[kind][shape]
    before = column(np.random.default_rng(1), 1000)
    after = _move(column(np.random.default_rng(2), 1000), source, target)
    findings = _drift(_frame(before), _frame(after), spec)
    shifts = [f for f in findings if f["rule"] == "feature_shift"]
    assert len(shifts) == 1 and shifts[0]["column"] == "x"
    assert shifts[0]["psi"] > drift.SHIFT_WARN
    if target == "brand-new":
        assert any(f["rule"] == "new_categories" and "brand-new" in f["message"] for f in findings)


def test_smallest_20_point_move_is_above_the_warning_level():
    """40/60 to 60/40 is the 20-point move with the smallest PSI."""
    assert drift.psi({"a": 40, "b": 60}, {"a": 60, "b": 40}) > drift.SHIFT_WARN


def test_label_shift_and_a_new_class_are_found():
    spec = _spec("numeric")
    rng = np.random.default_rng(3)
    labels = rng.choice(["p", "q", "r"], 2000, p=[0.5, 0.3, 0.2]).astype(object)
    values = rng.normal(0, 1, 2000)
    shifted = _move(_move(labels, "p", "q"), "r", "s", share=0.05)
    findings = {f["rule"]: f for f in _drift(_frame(values, labels), _frame(values, shifted), spec)}
    assert findings["label_shift"]["column"] == "label"
    assert findings["new_classes"]["message"] == "label: new classes s"


def test_missing_values_appearing_are_found():
    spec = _spec("numeric")
    before = np.random.default_rng(1).normal(0, 1, 1000)
    after = np.random.default_rng(2).normal(0, 1, 1000)
    after[:250] = np.nan
    (finding,) = _drift(_frame(before), _frame(after), spec)
    assert finding["message"].startswith("x: missing 0% → 25%")


def test_a_vanished_category_is_named():
    spec = _spec("categorical")
    before = CATEGORICAL["few"](np.random.default_rng(1), 1000)
    after = np.where(before == "c", "a", before)
    findings = {f["rule"]: f for f in _drift(_frame(before), _frame(after), spec)}
    assert findings["vanished_categories"]["message"].startswith("x: vanished c (")


# --- cards written before counts were kept ----------------------------------------------


def _format_1_profile(frame: pd.DataFrame, spec: ModelSpec) -> dict:
    """What profiles looked like before format 2: top-200 counts and numeric deciles."""
    top = {col: frame[col].value_counts().head(200) for col in spec.features.categorical}
    return {
        "rows": len(frame),
        "class_counts": {str(k): int(v) for k, v in frame[spec.target].value_counts().items()},
        "null_rates": {col: round(float(frame[col].isna().mean()), 6) for col in spec.features.all},
        "categories": {col: {str(k): int(v) for k, v in c.items()} for col, c in top.items()},
        "numeric_deciles": {
            col: sorted({float(q) for q in frame[col].quantile(np.linspace(0.1, 0.9, 9))})
            for col in spec.features.numeric
        },
    }


def test_a_format_1_card_is_compared_without_false_findings():
    spec = toy_spec(features=Features(numeric=("n",), categorical=("x",)))
    rng = np.random.default_rng(4)
    frame = _frame(CATEGORICAL["many_zipf"](rng, 3000)).assign(n=NUMERIC["five_formats"](rng, 3000))
    champion = json.loads(json.dumps(_format_1_profile(frame, spec)))
    same = validate(frame, spec, champion).findings
    assert [f for f in same if f["rule"] in DRIFT_RULES] == []
    shifted = frame.assign(x=_move(frame["x"].to_numpy(), "d1", "d700"))
    found = {f["rule"]: f for f in validate(shifted, spec, champion).findings}
    assert found["feature_shift"]["column"] == "x"
    assert "d700" in found["new_categories"]["message"]  # beyond the old top 200, now 20%


@settings(
    max_examples=50, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(psi_rows=st.integers(2, 60), other_rows=st.integers(2, 60))
def test_shift_needs_more_than_sampling_noise(psi_rows, other_rows):
    """The same PSI counts as a shift with many rows and not with a handful."""
    few = drift.shift({"a": psi_rows, "b": other_rows}, {"a": other_rows, "b": psi_rows})
    many = drift.shift(
        {"a": psi_rows * 1000, "b": other_rows * 1000},
        {"a": other_rows * 1000, "b": psi_rows * 1000},
    )
    if few is not None:
        assert many is not None


@pytest.mark.parametrize(
    "broken",
    [
        {"columns": {"x": {"kind": "numeric", "edges": "oops"}}},
        {"columns": {"x": {"kind": "categorical", "counts": [1, 2]}}},
        {"class_counts": {"p": "many"}},
    ],
)
def test_an_unreadable_champion_profile_is_reported_not_raised(broken):
    spec = _spec("numeric" if "edges" in str(broken) else "categorical")
    frame = _frame(CATEGORICAL["few"](np.random.default_rng(1), 500))
    if "edges" in str(broken):
        frame = _frame(NUMERIC["normal"](np.random.default_rng(1), 500))
    findings = validate(frame, spec, broken).findings
    assert [f["rule"] for f in findings if f["rule"] not in {"duplicate_rows"}] == [
        "drift_unchecked"
    ]


def test_every_rule_drift_writes_is_a_drift_rule():
    """Slack tells drift from data checks by DRIFT_RULES: a rule missing there would be
    shown as a data check."""
    source = Path(drift.__file__).read_text()
    written = set(re.findall(r'_warn\(\s*"(\w+)"', source))
    written |= set(re.findall(r'\["rule"\] = "(\w+)"', source))
    assert written == DRIFT_RULES
