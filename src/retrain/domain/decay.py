"""A champion scored on the rows that arrived since it was trained: one check's result per
model, as stored in ``<MODEL>/decay/`` and reported (service/decay.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

MIN_ROWS = 30  # fewer labelled new rows: no verdict (a score on a handful says nothing)


class DecayStatus(StrEnum):
    OK = "ok"
    DECAYING = "decaying"  # more than the spec's decay tolerance below the card's score
    BELOW_FLOOR = "below_floor"  # below the spec's metric_floor
    NOT_ENOUGH_ROWS = "not_enough_rows"
    NO_CHAMPION = "no_champion"
    ERROR = "error"

    @property
    def alarm(self) -> bool:
        """Whether people are told (Slack) and, if the spec says so, a run is started."""
        return self in (DecayStatus.DECAYING, DecayStatus.BELOW_FLOOR)

    @property
    def told(self) -> bool:
        """Whether people are told: an alarm, or a check that failed (a champion whose
        artifact is gone cannot serve its consumers either), without starting a run."""
        return self.alarm or self is DecayStatus.ERROR


@dataclass
class DecayResult:
    model: str
    status: DecayStatus
    checked_at: str
    version: int | None = None  # the champion's
    metric: str | None = None
    card_score: float | None = None  # the primary metric in the champion's card
    score: float | None = None  # on the new rows
    rows: int = 0  # labelled new rows scored
    # the rows scored: ``column`` (None: no time column), ``after`` (the card's newest
    # training time; rows strictly later), ``first`` and ``last`` of the rows scored
    window: dict[str, Any] = field(default_factory=dict)
    tolerance: float | None = None
    floor: float | None = None
    note: str | None = None  # e.g. scored on all rows for want of a time column
    message: str | None = None  # status error: what went wrong; not_enough_rows: how many
    retrain: dict[str, Any] | None = None  # {"run_id"} started, or {"skipped": why}

    @property
    def delta(self) -> float | None:
        if self.score is None or self.card_score is None:
            return None
        return round(self.score - self.card_score, 6)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = str(self.status)
        data["delta"] = self.delta
        return data

    @classmethod
    def from_dict(cls, data: Any) -> DecayResult:
        """Parse a stored point; ValueError says what is wrong with a malformed one."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        for name in ("model", "checked_at", "status"):
            if not isinstance(data.get(name), str):
                raise ValueError(f"{name!r} is missing or not text")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        try:
            result = cls(**known)
            result.status = DecayStatus(result.status)
        except (TypeError, ValueError):
            raise ValueError("unexpected field value") from None
        for name, kinds in _TYPES.items():
            value = getattr(result, name)
            if value is not None and (
                not isinstance(value, kinds) or isinstance(value, bool) is not (kinds is bool)
            ):
                raise ValueError(f"{name!r} has the wrong type")
        return result


_TYPES: dict[str, Any] = {
    "version": int,
    "metric": str,
    "card_score": (int, float),
    "score": (int, float),
    "rows": int,
    "window": dict,
    "tolerance": (int, float),
    "floor": (int, float),
    "note": str,
    "message": str,
    "retrain": dict,
}
