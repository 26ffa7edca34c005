"""The rows of the derived objects (``summary.json``'s version entries and alias moves,
``overview.json``'s model rows), parsed into typed values.

A derived row is a copy of facts whose source is elsewhere (a card, a history entry, the
alias). Read back, it is checked here field by field: a wrong type, a missing field, a
non-finite number or a list where an object belongs is a ``ValueError`` naming the field,
and the caller reads the row again from its source. The ``*_of`` builders make a row from
its source and always make one these parsers accept: whatever a card holds, its row is
typed."""

from __future__ import annotations

import math
from typing import Any

from retrain.domain.runs import RunStatus

GATE_FIELDS = (
    *("outcome", "reason", "metric", "candidate", "champion", "champion_version"),
    *("delta", "floor", "tolerance"),
)
ENTRY_FIELDS = (
    *("version", "status", "created_at", "run_id", "primary_metric", "metrics"),
    *("rows", "gate"),
)
ROW_FIELDS = ("champion_version", "champion_score", "versions", "latest_version", "last_run")
LATEST_FIELDS = ("version", "status", "score", "created_at")
# the facts of a model's health (service/health.py); a row written before them lacks them
HEALTH_FIELDS = ("last_finished", "decay")
FINISHED_FIELDS = (
    *("run_id", "status", "outcome", "finished_at", "version", "drift_findings"),
    *("failed_stage", "message", "gate_champion_version", "gate_champion_score"),
)
DECAY_FIELDS = ("key", "checked_at", "status", "version", "score", "card_score")


# single values ---------------------------------------------------------------------------
def is_version(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def is_number(value: Any) -> bool:
    """A finite int or float (not a bool, not NaN, not an infinity)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _scalar(value: Any) -> Any:
    """A value a gate decision may hold: text, yes/no, a finite number or nothing."""
    return value if value is None or isinstance(value, str | bool) or is_number(value) else None


def _need(ok: bool, field: str, what: str) -> None:
    if not ok:
        raise ValueError(f"{field} is not {what}")


def _optional_text(row: dict[str, Any], *fields: str) -> None:
    for field in fields:
        _need(row[field] is None or isinstance(row[field], str), field, "text or null")


def _fields(row: Any, fields: tuple[str, ...], what: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise ValueError(f"{what} is a {type(row).__name__}, not an object")
    missing = [f for f in fields if f not in row]
    if missing:
        raise ValueError(f"{what} has no {', '.join(missing)}")
    return row


# version entries of summary.json ---------------------------------------------------------
def entry_of(version: int, card: dict[str, Any]) -> dict[str, Any]:
    """The facts of one version that lists show, from its card: small and typed."""
    metrics = card.get("metrics")
    gate = card.get("gate")
    rows = card.get("rows")
    return {
        "version": version,
        "status": _text(card.get("status")),
        "created_at": _text(card.get("created_at")),
        "run_id": _text(card.get("run_id")),
        "primary_metric": _text(card.get("primary_metric")),
        "metrics": {
            str(k): v
            for k, v in (metrics.items() if isinstance(metrics, dict) else ())
            if is_number(v)
        },
        "rows": (
            {str(k): v for k, v in rows.items() if isinstance(v, int) and not isinstance(v, bool)}
            if isinstance(rows, dict)
            else None
        ),
        "gate": {k: _scalar(gate.get(k)) for k in GATE_FIELDS} if isinstance(gate, dict) else None,
    }


def parse_entry(entry: Any) -> dict[str, Any]:
    """A stored version entry as typed values, or ValueError naming the first bad field."""
    entry = _fields(entry, ENTRY_FIELDS, "the entry")
    _need(is_version(entry["version"]), "version", "a version number")
    _optional_text(entry, "status", "created_at", "run_id", "primary_metric")
    metrics = entry["metrics"]
    _need(isinstance(metrics, dict), "metrics", "an object")
    _need(all(is_number(v) for v in metrics.values()), "metrics", "finite numbers")
    rows = entry["rows"]
    _need(rows is None or isinstance(rows, dict), "rows", "an object or null")
    _need(
        rows is None or all(isinstance(v, int) and not isinstance(v, bool) for v in rows.values()),
        "rows",
        "whole numbers",
    )
    gate = entry["gate"]
    _need(gate is None or isinstance(gate, dict), "gate", "an object or null")
    _need(
        gate is None or all(v is _scalar(v) for v in gate.values()),
        "gate",
        "text, numbers, yes/no or null",
    )
    return {field: entry[field] for field in ENTRY_FIELDS}


# alias moves (copies of history entries) -------------------------------------------------
def parse_move(move: Any) -> dict[str, Any]:
    """An alias-history entry (or its copy in the summary) with the types the history shows,
    or ValueError naming the first bad field."""
    move = _fields(move, ("version", "moved_at"), "the move")
    _need(is_version(move["version"]), "version", "a version number")
    _need(isinstance(move["moved_at"], str), "moved_at", "text")
    previous = move.get("previous_version")
    _need(previous is None or is_version(previous), "previous_version", "a version or null")
    for field in ("actor", "reason", "run_id"):
        _need(move.get(field) is None or isinstance(move.get(field), str), field, "text or null")
    score = move.get("score")
    _need(score is None or is_number(score), "score", "a finite number or null")
    return move


# model rows of overview.json -------------------------------------------------------------
def parse_row(row: Any) -> dict[str, Any]:
    """A stored overview row as typed values, or ValueError naming the first bad field. A
    stored row never holds an error: unreadable sources are shown, never stored."""
    row = _fields(row, (*ROW_FIELDS, *HEALTH_FIELDS), "the row")
    _need("error" not in row, "error", "absent")
    version = row["champion_version"]
    _need(version is None or is_version(version), "champion_version", "a version or null")
    score = row["champion_score"]
    _need(score is None or is_number(score), "champion_score", "a finite number or null")
    count = row["versions"]
    _need(
        isinstance(count, int) and not isinstance(count, bool) and count >= 0, "versions", "a count"
    )
    latest = row["latest_version"]
    if latest is not None:
        latest = _fields(latest, LATEST_FIELDS, "latest_version")
        _need(is_version(latest["version"]), "latest_version.version", "a version number")
        _optional_text(latest, "status", "created_at")
        _need(
            latest["score"] is None or is_number(latest["score"]),
            "latest_version.score",
            "a finite number or null",
        )
        _approval(latest.get("approval"))
    last = row["last_run"]
    if last is not None:
        last = _fields(last, ("run_id", "status", "stage", "outcome"), "last_run")
        _need(isinstance(last["run_id"], str), "last_run.run_id", "text")
        _need(last["status"] in {s.value for s in RunStatus}, "last_run.status", "a run status")
        _need(isinstance(last["stage"], str), "last_run.stage", "text")
        _optional_text(last, "outcome")
        for field in ("created_at", "finished_at", "trigger"):
            value = last.get(field)
            _need(value is None or isinstance(value, str), f"last_run.{field}", "text or null")
        _need(
            last.get("version") is None or is_version(last.get("version")),
            "last_run.version",
            "a version or null",
        )
    if row["last_finished"] is not None:
        _finished(_fields(row["last_finished"], FINISHED_FIELDS, "last_finished"))
    if row["decay"] is not None:
        _decay(_fields(row["decay"], DECAY_FIELDS, "decay"))
    return row


def _finished(run: dict[str, Any]) -> None:
    """The newest finished run's facts (health.finished_of)."""
    _need(isinstance(run["run_id"], str), "last_finished.run_id", "text")
    _need(
        run["status"] in (RunStatus.SUCCEEDED, RunStatus.FAILED),
        "last_finished.status",
        "a finished run's status",
    )
    _optional_text(run, "outcome", "finished_at", "failed_stage", "message")
    for field in ("version", "gate_champion_version"):
        version = run[field]
        _need(version is None or is_version(version), f"last_finished.{field}", "a version or null")
    count = run["drift_findings"]
    _need(_count(count), "last_finished.drift_findings", "a count")
    score = run["gate_champion_score"]
    _need(
        score is None or is_number(score),
        "last_finished.gate_champion_score",
        "a finite number or null",
    )
    _need(
        (score is None) == (run["gate_champion_version"] is None),
        "last_finished.gate_champion_score",
        "given with its version",
    )


def _approval(facts: Any) -> None:
    """The newest version's approval facts (service/approval.py ``awaiting``), if any."""
    if facts is None:
        return
    facts = _fields(facts, ("decision", "expires_at", "judged_against"), "approval")
    _need(facts["decision"] in (None, "approved", "rejected"), "approval.decision", "a decision")
    _optional_text(facts, "expires_at")
    judged = facts["judged_against"]
    _need(judged is None or is_version(judged), "approval.judged_against", "a version or null")


def _decay(point: dict[str, Any]) -> None:
    """The newest decay point's facts (health.decay_of)."""
    for field in ("key", "checked_at", "status"):
        _need(isinstance(point[field], str), f"decay.{field}", "text")
    _need(
        point["version"] is None or is_version(point["version"]),
        "decay.version",
        "a version or null",
    )
    for field in ("score", "card_score"):
        _need(
            point[field] is None or is_number(point[field]),
            f"decay.{field}",
            "a finite number or null",
        )


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
