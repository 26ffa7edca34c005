"""Corrections from the people who see the predictions (issue 27), parsed once at the edge.

A record names the row (the spec's ``key_column`` value, or its feature values), the label
the model predicted, the true label, who says so and when. ``check`` turns one raw record
into a ``Correction`` or the list of what is wrong with it, against the model's spec (feature
kinds) and the champion's classes: a true label outside them is kept and flagged
(``unknown_class``), never dropped. Pure: no I/O, no pandas."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from retrain.domain.errors import ConflictError, RetrainError
from retrain.domain.specs import ModelSpec

MODES = ("ignore", "override", "append")
FIELDS = ("key", "features", "predicted", "true_label", "who", "when")
BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")  # a part of a blob name
MAX_LABEL = 200
MAX_WHO = 200
MAX_TEXT = 10_000
FUTURE_SKEW = timedelta(days=1)  # a client's clock may run ahead, not by more
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")  # ASCII digits only
_BOOLEANS = {"true": True, "t": True, "1": True, "false": False, "f": False, "0": False}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class FeedbackError(RetrainError):
    """A batch refused as a whole: ``code`` says why (``bad_batch``, ``batch_too_large``,
    ``no_valid_records``); ``refused`` lists each record's errors where that is the reason."""

    def __init__(self, code: str, message: str, refused: list[dict[str, Any]] | None = None):
        self.code = code
        self.refused = refused or []
        super().__init__(message)


class BatchConflictError(ConflictError):
    """A batch id already stored with other records: a resend must repeat the same batch."""

    code = "batch_id_conflict"


@dataclass(frozen=True)
class Correction:
    key: str | None  # the key_column's value, as text
    features: dict[str, Any] | None  # feature values by column (numbers, booleans, text)
    predicted: str
    true_label: str
    who: str
    when: str  # ISO 8601, UTC, seconds: 2026-11-20T08:15:00Z
    unknown_class: bool = False  # the true label is not one of the champion's classes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Correction:
        """A stored correction (written by ``to_dict``); ValueError if it is not one."""
        if not isinstance(data, dict) or set(data) != {*FIELDS, "unknown_class"}:
            raise ValueError("not a stored correction")
        for name in ("predicted", "true_label", "who", "when"):
            if not isinstance(data[name], str):
                raise ValueError(f"{name} is not text")
        if not (data["key"] is None or isinstance(data["key"], str)):
            raise ValueError("key is not text")
        if not (data["features"] is None or isinstance(data["features"], dict)):
            raise ValueError("features is not an object")
        if not isinstance(data["unknown_class"], bool):
            raise ValueError("unknown_class is not a boolean")
        _time(data["when"])
        return cls(**data)


def check(
    raw: Any, spec: ModelSpec, classes: frozenset[str] | None, now: datetime
) -> tuple[Correction | None, list[str]]:
    """(the correction, []) or (None, what is wrong with ``raw``, each in words)."""
    if not isinstance(raw, dict):
        return None, [f"a record must be a JSON object, not {_kind(raw)}"]
    errors = []
    unknown = sorted(str(k)[:40] for k in raw if k not in FIELDS)
    if unknown:
        errors.append(f"unknown field(s) {', '.join(unknown[:5])}; allowed: {', '.join(FIELDS)}")
    key = _key(raw.get("key"), spec, errors)
    features = _features(raw.get("features"), spec, errors)
    if key is None and not features:
        where = f"key ({spec.key_column})" if spec.key_column else "features"
        errors.append(f"name the row: send {where}")
    predicted = _label(raw, "predicted", errors, classes)
    true_label = _label(raw, "true_label", errors, classes)
    who = _who(raw.get("who"), errors)
    when = _when(raw.get("when"), now, errors)
    if errors:
        return None, errors
    assert predicted is not None and true_label is not None and who and when
    flagged = classes is not None and true_label not in classes
    return Correction(key, features, predicted, true_label, who, when, flagged), []


def batch_id(value: Any) -> str:
    """The client's batch id, checked; FeedbackError ``bad_batch`` otherwise."""
    if not isinstance(value, str) or not BATCH_ID.match(value):
        raise FeedbackError(
            "bad_batch",
            "batch_id must be 1 to 100 letters, digits, '_', '.' or '-', starting with a "
            "letter or digit (the same id for a resent batch)",
        )
    return value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _key(value: Any, spec: ModelSpec, errors: list[str]) -> str | None:
    if value is None:
        return None
    if spec.key_column is None:
        errors.append(f"{spec.name} has no key_column: name the row by its features")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        errors.append(f"key must be text or a whole number, not {_kind(value)}")
        return None
    text = str(value)
    if not text.strip() or len(text) > MAX_LABEL or _CONTROL.search(text):
        errors.append(f"key must be 1 to {MAX_LABEL} printable characters")
        return None
    return text


def _features(value: Any, spec: ModelSpec, errors: list[str]) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.append(f"features must be an object of column: value, not {_kind(value)}")
        return None
    kinds = {col: kind for kind, cols in spec.features.by_kind().items() for col in cols}
    unknown = sorted(str(k)[:40] for k in value if k not in kinds)
    if unknown:
        errors.append(
            f"features of {spec.name} are {', '.join(kinds)}; not {', '.join(unknown[:5])}"
        )
        return None
    parsed = {}
    for col, raw in value.items():
        try:
            parsed[col] = parse_value(kinds[col], raw)
        except ValueError as exc:
            errors.append(f"feature {col!r}: {exc}")
    return parsed


def parse_value(kind: str, raw: Any) -> Any:
    """A feature value of ``kind`` (JSON, or text from a CSV file); None for missing."""
    if raw is None or raw == "":
        return None
    if kind == "numeric":
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise ValueError(f"a numeric feature takes a number, not {_kind(raw)}")
        if isinstance(raw, str) and not _NUMBER.match(raw.strip()):
            raise ValueError("a numeric feature takes a number, not text")
        try:
            number = float(raw)
        except OverflowError:  # an integer beyond float's range: 10**400
            number = math.inf
        if not math.isfinite(number):
            raise ValueError("a numeric feature takes a finite number")
        return number
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int | float) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str) and raw.strip().lower() in _BOOLEANS:
            return _BOOLEANS[raw.strip().lower()]
        raise ValueError("a boolean feature takes true/false/0/1")
    if kind == "categorical":
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise ValueError(f"a categorical feature takes text or a number, not {_kind(raw)}")
        if isinstance(raw, float) and not math.isfinite(raw):
            raise ValueError("a categorical feature takes a finite number")
        if isinstance(raw, str) and len(raw) > MAX_LABEL:
            raise ValueError(f"a category is at most {MAX_LABEL} characters")
        return raw
    if not isinstance(raw, str):  # text
        raise ValueError(f"a text feature takes text, not {_kind(raw)}")
    if len(raw) > MAX_TEXT:
        raise ValueError(f"a text is at most {MAX_TEXT:,} characters")
    return raw


def _label(
    raw: dict[str, Any], name: str, errors: list[str], classes: frozenset[str] | None
) -> str | None:
    """A class as text: at most MAX_LABEL printable characters, or any of the champion's
    ``classes`` (training takes any label: a 400-character class, or one with a newline,
    must be correctable too)."""
    value = raw.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int):
        errors.append(f"{name} is required: the class as text, not {_kind(value)}")
        return None
    text = str(value)
    if classes is not None and text in classes:
        return text
    if not text.strip() or len(text) > MAX_LABEL or _CONTROL.search(text):
        errors.append(f"{name} must be 1 to {MAX_LABEL} printable characters")
        return None
    return text


def _who(value: Any, errors: list[str]) -> str | None:
    if not isinstance(value, str) or not value.strip():
        errors.append("who is required: the person (or system) that says so")
        return None
    if len(value) > MAX_WHO or _CONTROL.search(value):
        errors.append(f"who must be at most {MAX_WHO} printable characters")
        return None
    return value.strip()


def _when(value: Any, now: datetime, errors: list[str]) -> str | None:
    if not isinstance(value, str):
        errors.append("when is required: an ISO 8601 time with a zone, 2026-11-20T08:15:00Z")
        return None
    try:
        at = _time(value)
    except ValueError as exc:
        errors.append(f"when: {exc}")
        return None
    if at > now + FUTURE_SKEW:
        errors.append(f"when is in the future ({value[:40]}; now {now:%Y-%m-%dT%H:%M:%SZ})")
        return None
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(value: str) -> datetime:
    """An ISO 8601 time with a zone, as an aware UTC datetime (seconds)."""
    try:
        at = datetime.fromisoformat(value.strip()[:40])
    except ValueError:
        raise ValueError("not an ISO 8601 time (2026-11-20T08:15:00Z)") from None
    if at.tzinfo is None:
        raise ValueError("needs a time zone (Z or +01:00)")
    try:
        return at.astimezone(UTC).replace(microsecond=0)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before the first UTC day
        raise ValueError("is out of range") from None


def used_text(record: Any) -> str:
    """A card's ``corrections`` record in words (the CLI's card and diff; the console says
    the same in ``correctionsText``)."""
    if not isinstance(record, dict):
        return 'none (corrections="ignore")'
    text = (
        f"{record.get('mode')}: {record.get('used', 0):,} used of {record.get('received', 0):,} "
        f"received, {record.get('refused', 0):,} refused, {record.get('unmatched', 0):,} "
        "without a row"
    )
    if record.get("first"):
        text += f" (sent {str(record['first'])[:10]} to {str(record.get('last'))[:10]})"
    return text
