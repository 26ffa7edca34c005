"""Each feature kind's values parsed into the type the features step expects (numbers and
booleans as float32), with a count of the values that do not fit, described by what they
are and never by their content. Categorical columns take any value; text becomes strings.
A new kind adds its parser here (or none, if it takes any value)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

BOOLEANS = {"true": 1.0, "t": 1.0, "1": 1.0, "false": 0.0, "f": 0.0, "0": 0.0}


def numeric(values: pd.Series) -> tuple[pd.Series, str | None]:
    """float32 numbers; text, infinities and numbers beyond float32 do not fit."""
    text = 0
    if not (ptypes.is_numeric_dtype(values) or ptypes.is_bool_dtype(values)):
        numbers = pd.to_numeric(values, errors="coerce")
        text = int((numbers.isna() & values.notna()).sum())
        values = numbers
    with np.errstate(over="ignore"):  # beyond float32's range becomes inf: reported below
        floats = values.to_numpy(dtype="float32", na_value=np.nan)
    infinite = int(np.isinf(floats).sum())
    parts = [f"{text} text" if text else "", f"{infinite} infinite" if infinite else ""]
    problem = (
        f"{text + infinite} values that are not finite numbers ({', '.join(p for p in parts if p)})"
        if text + infinite
        else None
    )
    return pd.Series(floats, index=values.index), problem


def boolean(values: pd.Series) -> tuple[pd.Series, str | None]:
    """0/1 as float32 from booleans, 0/1 numbers or true/false/t/f/1/0 in any case."""
    if ptypes.is_bool_dtype(values) or ptypes.is_numeric_dtype(values):
        numbers = pd.Series(values.to_numpy(dtype="float32", na_value=np.nan), index=values.index)
    else:
        words = values.astype(str).str.strip().str.lower().map(BOOLEANS)
        numbers = words.fillna(pd.to_numeric(values, errors="coerce")).where(values.notna())
        numbers = numbers.astype("float32")
    bad = int((values.notna() & (numbers != 0) & (numbers != 1)).sum())
    return numbers, (f"{bad} values other than true/false/0/1" if bad else None)


def text(values: pd.Series) -> tuple[pd.Series, str | None]:
    """Text as Python strings (a number in a text column is its text); missing stays NaN."""
    strings = values.astype(object).where(values.isna(), values.astype(str))
    return strings.where(values.notna(), np.nan), None


PARSERS: dict[str, Callable[[pd.Series], tuple[pd.Series, str | None]]] = {
    "numeric": numeric,
    "boolean": boolean,
    "text": text,
}
