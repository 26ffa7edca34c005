"""Which part a row belongs to, decided by the row itself: the same row lands in the same
part in every run, every process and every partition, however the table grows or the
window moves.

Parts: TEST (the rows a model is judged on), VALID (``validation_fraction`` of the rest:
early stopping on the Dask engine) and TRAIN. A ``Rule`` says how TEST is chosen:

- ``hash`` (the default): a fixed hash of the spec's ``key_column`` or, for a table
  without a key, of the row's feature values, put into one of 10,000 buckets; the first
  ``test_fraction`` of the buckets are TEST. Duplicate rows (and rows equal in every
  feature whatever their label) share a bucket, so a duplicate never sits on both sides,
  and a corrected label never moves a row.
- ``newest`` (out of time): the rows of the newest ``test_months`` calendar months of
  the time column are TEST: rows a model trained before they arrived cannot have seen.

The rule goes into the card (``to_card``), so a later run can tell which of its own test
rows a champion trained on (``unseen_by``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from retrain.domain.specs import Features, ModelSpec
from retrain.training import kinds

TRAIN, VALID, TEST = 0, 1, 2
BUCKETS = 10_000
HASH = "pandas.util.hash_array/siphash-1-3:v1"  # how a value becomes 64 bits; see _hash_values
MISSING = "\x00<missing>"  # what a missing value hashes as (no real text is this)


@dataclass(frozen=True)
class Rule:
    kind: str  # "hash" or "newest"
    columns: tuple[str, ...]  # hashed: (key_column,) or the feature columns
    by_key: bool
    test_fraction: float
    salt: str = ""
    buckets: int = BUCKETS
    hash: str = HASH
    time_column: str | None = None  # newest: the column, and the first time that is TEST
    test_since: str | None = None
    # hashed feature values: the columns hashed as numbers (the rest as text) when the rule
    # was made, so that a later run hashes them alike whatever its spec now parses them as
    # (None: as their dtype says, rules recorded before)
    numbers: tuple[str, ...] | None = None
    # a key's integers hashed as "3" even where a NULL made them float: rules made since
    # kinds.whole (cards before hashed such a key as "3.0", and still do)
    whole: bool = False

    def to_card(self) -> dict[str, Any]:
        """The rule, and in words for the people who read the card (CLI, console)."""
        numbers = {"numbers": list(self.numbers)} if self.numbers is not None else {}
        return {
            **asdict(self),
            "columns": list(self.columns),
            **numbers,
            "description": self.describe(),
        }

    def hashing(self, frame: pd.DataFrame) -> Rule:
        """This rule with the columns ``frame`` holds as numbers recorded (``numbers``): a
        spec that drops a feature or changes its kind later leaves that column unparsed, or
        parsed as the other kind, and its values hashed the other way moved a third of the
        rows across the champion's split."""
        if self.by_key or self.kind != "hash":
            return self
        return replace(self, numbers=tuple(c for c in self.columns if _is_number(frame[c])))

    @classmethod
    def from_card(cls, card: dict[str, Any]) -> Rule | None:
        """The rule a card recorded; None for a card from before rules (or another hash)."""
        found = card.get("holdout")
        if not isinstance(found, dict) or found.get("hash") != HASH:
            return None
        fields = {k: v for k, v in found.items() if k != "description"}
        if isinstance(fields.get("numbers"), list):
            fields["numbers"] = tuple(fields["numbers"])
        try:
            return cls(**{**fields, "columns": tuple(found["columns"])})
        except (TypeError, KeyError):
            return None

    def describe(self) -> str:
        if self.kind == "newest":
            return f"the rows with {self.time_column} from {self.test_since} on"
        on = f"key {self.columns[0]}" if self.by_key else "feature values"
        salt = f", salt {self.salt!r}" if self.salt else ""
        return f"{round(self.test_fraction * 100)} % of rows by a hash of their {on}{salt}"

    def test_mask(self, frame: pd.DataFrame) -> np.ndarray:
        """True for each row of ``frame`` (validated: parsed columns) that is TEST."""
        if self.kind == "newest":
            assert self.time_column and self.test_since
            return (times(frame[self.time_column]) >= pd.Timestamp(self.test_since)).to_numpy()
        return self.buckets_of(frame) < round(self.test_fraction * self.buckets)

    def buckets_of(self, frame: pd.DataFrame) -> np.ndarray:
        if self.by_key:
            key = frame[self.columns[0]]
            if not self.whole and isinstance(key.dtype, pd.Int64Dtype):
                key = key.astype("float64")  # as it was read when the card's rule was made
            hashed = _hash_text(key, self.salt)
        else:
            hashed = _hash_values(frame, self.columns, self.salt, self.numbers)
        return (hashed % np.uint64(self.buckets)).astype(np.int64)

    def parts(self, frame: pd.DataFrame, validation_fraction: float = 0.0) -> np.ndarray:
        """TRAIN / VALID / TEST per row; VALID is ``validation_fraction`` of the non-TEST
        rows, by the same buckets (or, out of time, by a hash of the row's feature values)."""
        test = self.test_mask(frame)
        if self.kind == "newest":
            bucket = Rule(
                "hash", self.columns, self.by_key, 0.0, self.salt, whole=self.whole
            ).buckets_of(frame)
            valid_end = round(validation_fraction * self.buckets)
        else:
            bucket = self.buckets_of(frame)
            test_end = round(self.test_fraction * self.buckets)
            valid_end = test_end + round(validation_fraction * (self.buckets - test_end))
        out = np.full(len(frame), TRAIN, dtype=np.int8)
        out[bucket < valid_end] = VALID
        out[test] = TEST
        return out


def rule_for(spec: ModelSpec, newest: Any = None, now: Any = None) -> Rule:
    """The spec's rule: out of time when the spec asks for it, else the hash of the key or
    of the feature values.

    Out of time, the test part is the ``test_months`` complete calendar months up to
    ``newest`` (the newest time loaded), and the rows of the month under way at ``now``
    (the run's time, naive UTC) when there are any: a monthly run at 03:00 on the 1st tested
    on the 9 rows of those three hours before. A time after ``now`` counts as ``now``: one
    row dated 2052 made it the only test row."""
    columns = (spec.key_column,) if spec.key_column else tuple(spec.features.all)
    by_key = spec.key_column is not None
    if not spec.test_months:
        return Rule("hash", columns, by_key, spec.test_size, spec.holdout_salt, whole=True)
    since = "9999-12-31"  # nothing loaded has a time: no row is TEST, and the run says so
    day = pd.Timestamp(newest) if newest is not None and not pd.isna(newest) else None
    if day is not None:
        if day.tzinfo is not None:
            day = day.tz_convert("UTC").tz_localize(None)
        months = spec.test_months - 1
        if now is not None:
            now = pd.Timestamp(now)
            now = now.tz_convert("UTC").tz_localize(None) if now.tzinfo else now
            day = min(day, now)
            if (day.year, day.month) == (now.year, now.month):
                months += 1  # this month is under way: its rows and the complete months before
        index = day.year * 12 + day.month - 1 - months
        since = f"{index // 12:04d}-{index % 12 + 1:02d}-01"
    return Rule(
        "newest",
        columns,
        by_key,
        0.0,
        spec.holdout_salt,
        time_column=spec.time_column,
        test_since=since,
        whole=True,
    )


def newest_time(values: pd.Series) -> pd.Timestamp | None:
    newest = times(values).max()
    return None if pd.isna(newest) else newest


def times(values: pd.Series) -> pd.Series:
    """A time column as naive UTC timestamps (unparseable: NaT), whatever the source
    returned: datetimes with or without a zone, dates or ISO text."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    return parsed.dt.tz_localize(None)


@dataclass(frozen=True)
class Sight:
    """What a champion's card says about the rows it trained on, and the columns it reads."""

    version: int
    rule: Rule | None
    time_column: str | None
    since: str | None  # its data window: the first time it could load
    last: str | None  # the newest time it loaded
    # its own feature columns when the spec's have changed since (None: the same)
    features: Features | None = None

    @classmethod
    def from_card(cls, version: int, card: dict[str, Any], spec: ModelSpec | None = None) -> Sight:
        window = card.get("data_window") or {}
        return cls(
            version,
            Rule.from_card(card),
            window.get("column"),
            window.get("since"),
            window.get("last"),
            _features_if_changed(card.get("feature_schema"), spec),
        )


def _features_if_changed(schema: Any, spec: ModelSpec | None) -> Features | None:
    """The champion's feature columns by kind (its card's ``feature_schema``) when they are
    not the spec's; None when they are, or the card does not say."""
    kinds = ("numeric", "categorical", "boolean", "text")
    if spec is None or not isinstance(schema, dict):
        return None
    try:
        theirs = {k: tuple(str(c) for c in schema.get(k) or ()) for k in kinds}
    except TypeError:
        return None
    if theirs == spec.features.by_kind():
        return None
    return Features(
        numeric=theirs["numeric"],
        categorical=theirs["categorical"],
        boolean=theirs["boolean"],
        text=theirs["text"],
    )


def unseen_by(sight: Sight, frame: pd.DataFrame) -> tuple[np.ndarray, str]:
    """(True for each row of ``frame`` the champion cannot have trained on, how that is
    known). Unseen: in the champion's own test part by its recorded rule, or outside its
    data window (newer than the newest row it loaded, older than its window). A card
    without a rule and without a time window: every row, and the basis says the champion
    may have seen them."""
    unseen = np.zeros(len(frame), dtype=bool)
    basis = []
    if sight.rule is not None:
        missing = [c for c in (*sight.rule.columns, sight.rule.time_column) if c and c not in frame]
        if not missing:
            unseen |= sight.rule.test_mask(frame)
            basis.append(f"its recorded holdout rule ({sight.rule.describe()})")
    column = sight.time_column
    if column and column in frame and (sight.last or sight.since):
        at = times(frame[column])
        outside = np.zeros(len(frame), dtype=bool)
        if sight.last:
            outside |= (at > _naive(sight.last)).to_numpy()
        if sight.since:
            outside |= (at < _naive(sight.since)).to_numpy()
        unseen |= outside
        basis.append(f"its data window ({column} {sight.since or '…'} to {sight.last or '…'})")
    if not basis:
        return np.ones(len(frame), dtype=bool), "unknown"
    return unseen, " and ".join(basis)


def _naive(text: str) -> pd.Timestamp:
    stamp = pd.Timestamp(text)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp


def _hash_text(values: pd.Series, salt: str) -> np.ndarray:
    text = values.astype(str).to_numpy(dtype=object)
    if salt:
        text = np.array([salt + t for t in text], dtype=object)
    return pd.util.hash_array(text, categorize=False)


def _is_number(values: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values)


def _hash_values(
    frame: pd.DataFrame,
    columns: tuple[str, ...],
    salt: str,
    numbers: tuple[str, ...] | None = None,
) -> np.ndarray:
    """One 64-bit hash per row over the columns' values, independent of how the source
    typed them: numbers as float64 (3 and 3.0 are one value; -0.0 is 0.0; every NaN is
    one), everything else as its text; missing values as one marker. ``numbers``: the
    columns to hash as numbers (parsed if they are not), the rest as text; None: by dtype."""
    combined = _hash_text(pd.Series([salt] * len(frame), dtype=object), "") if salt else None
    for column in columns:
        values = frame[column]
        as_number = _is_number(values) if numbers is None else column in numbers
        if as_number and not _is_number(values):  # a number or flag column left unparsed:
            values = kinds.boolean(values.astype(object))[0]  # true/false and numbers
        elif not as_number:
            values = kinds.whole(values)  # 3, 3.0 and "3" as "3"
            if pd.api.types.is_float_dtype(values):  # the text it was read from: 0.1, not
                floats = values.to_numpy()  # 0.10000000149011612 (float32)
                values = pd.Series(floats.astype(str), index=values.index, dtype=object)
                values = values.where(~np.isnan(floats), np.nan)
            elif _is_number(values):
                values = values.astype(object)
        if as_number:
            numbers_ = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64) + 0.0
            numbers_[np.isnan(numbers_)] = np.nan
            hashed = pd.util.hash_array(numbers_.astype(np.float32).astype(np.float64))
        else:
            text = values.astype(object).where(values.notna(), MISSING).astype(str)
            hashed = pd.util.hash_array(text.to_numpy(dtype=object), categorize=False)
        combined = hashed if combined is None else _mix(combined, hashed)
    assert combined is not None
    return combined


def _mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Order-dependent combination of two uint64 hash arrays (boost's hash_combine, 64-bit)."""
    with np.errstate(over="ignore"):
        return a ^ (b + np.uint64(0x9E3779B97F4A7C15) + (a << np.uint64(6)) + (a >> np.uint64(2)))
