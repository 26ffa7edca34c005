"""Each feature kind's values parsed into the type the features step expects (numbers and
booleans as float32), with a count of the values that do not fit, described by what they
are and never by their content. Categorical columns take any value; text becomes strings.
A new kind adds its parser here (or none, if it takes any value).

A parser returns the counts of misfits by what they are (``{"text": 3}``), so the counts of
partitions add up; ``problem`` words the total once."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

BOOLEANS = {"true": 1.0, "t": 1.0, "1": 1.0, "false": 0.0, "f": 0.0, "0": 0.0}


Misfits = dict[str, int]  # values that do not fit their kind, counted by what they are


def problem(kind: str, misfits: Misfits) -> str | None:
    """How the values of a ``kind`` column that do not fit it are described, or None."""
    total = sum(misfits.values())
    if not total:
        return None
    if kind == "boolean":
        return f"{total} values other than true/false/0/1"
    parts = ", ".join(f"{n} {what}" for what, n in misfits.items() if n)
    return f"{total} values that are not finite numbers ({parts})"


def numeric(values: pd.Series) -> tuple[pd.Series, Misfits]:
    """float32 numbers; text, infinities and numbers beyond float32 do not fit."""
    text = 0
    if not (ptypes.is_numeric_dtype(values) or ptypes.is_bool_dtype(values)):
        numbers = pd.to_numeric(values, errors="coerce")
        text = int((numbers.isna() & values.notna()).sum())
        values = numbers
    with np.errstate(over="ignore"):  # beyond float32's range becomes inf: reported below
        floats = values.to_numpy(dtype="float32", na_value=np.nan)
    infinite = int(np.isinf(floats).sum())
    return pd.Series(floats, index=values.index), {"text": text, "infinite": infinite}


def boolean(values: pd.Series) -> tuple[pd.Series, Misfits]:
    """0/1 as float32 from booleans, 0/1 numbers or true/false/t/f/1/0 in any case."""
    if ptypes.is_bool_dtype(values) or ptypes.is_numeric_dtype(values):
        numbers = pd.Series(values.to_numpy(dtype="float32", na_value=np.nan), index=values.index)
    else:
        words = values.astype(str).str.strip().str.lower().map(BOOLEANS)
        numbers = words.fillna(pd.to_numeric(values, errors="coerce")).where(values.notna())
        numbers = numbers.astype("float32")
    bad = int((values.notna() & (numbers != 0) & (numbers != 1)).sum())
    return numbers, {"other": bad}


def text(values: pd.Series) -> tuple[pd.Series, Misfits]:
    """Text as Python strings (a number in a text column is its text); missing stays NaN."""
    strings = values.astype(object).where(values.isna(), values.astype(str))
    return strings.where(values.notna(), np.nan), {}


def whole(values: pd.Series) -> pd.Series:
    """An integer column that a missing value made float (SQL NULL -> NaN) back to its
    integers, so that class 3, category 3 or key 3 reads "3" in labels, profiles and the
    holdout's hash whether or not a row of the load had a NULL (it read "3.0" then: the
    champion's classes no longer matched, and a key moved to the other side of the split).
    Any other column is returned unchanged: one with a fraction, or beyond 2**53."""
    categorical = isinstance(values.dtype, pd.CategoricalDtype)
    numbers = values.cat.categories if categorical else values
    if not ptypes.is_float_dtype(numbers.dtype):
        return values
    floats = np.asarray(numbers, dtype=np.float64)
    present = floats[~np.isnan(floats)]
    if not (np.isfinite(present).all() and (np.abs(present) < 2**53).all()):
        return values
    if not (present == np.floor(present)).all():
        return values
    if categorical:  # distinct floats are distinct integers
        return values.cat.rename_categories(pd.Index(present.astype(np.int64)))
    return values.astype("Int64")  # still numbers: the holdout hashes 3 as it hashes 3.0


PARSERS: dict[str, Callable[[pd.Series], tuple[pd.Series, Misfits]]] = {
    "numeric": numeric,
    "boolean": boolean,
    "text": text,
}
