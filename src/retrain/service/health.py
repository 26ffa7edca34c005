"""A model's health at a glance, derived from facts the models list holds (never stored by
hand): its champion, its newest finished run and its newest champion-decay point.

The facts (kept in each ``overview.json`` row by ``finished_of`` and ``decay_of``; read
again from the run records and the decay points like the rest of the row):

- **the newest finished run**: the run that finished last (``order``: its finished_at, then
  its run id) of those that succeeded or failed and are not dry runs. Runs of one model
  never overlap (a start answers 409 while one is queued or running), so it is also the
  newest by creation. Dry runs are ignored: they publish nothing and change no champion.
- **the newest decay point**: the newest stored check (service/decay.py) by key.

``derive`` turns them into ``status``, ``reasons`` (short texts, most urgent first),
``drift_findings``, ``last_failure`` and ``champion_new_score``. Status, first rule that
holds:

1. ``failing``: the newest finished run failed. Its failure is ``last_failure`` (run id,
   finished_at, stage, message); since runs do not overlap, "the newest finished run
   failed" and "a run failed after the last success" are the same test. Or the newest
   decay check of the serving champion failed (its artifact is gone, say: then no consumer
   can load it either).
2. ``decaying``: the champion's newest score on new data says so. That score
   (``champion_new_score``) is the newer, by time, of the newest decay point of this
   champion that has a score (its status ``decaying`` or ``below_floor`` decides) and the
   champion's score on the newest finished run's holdout, when that run's gate scored this
   champion (kept champion or rejected candidate): more than the spec's decay tolerance
   (``decay_tolerance``, else ``tolerance``) below the score the alias records for it (its
   card's), or below ``metric_floor``. A point or a gate score of an earlier champion says
   nothing about this one; a check that could not score (too few rows, an error) says
   nothing either. Without such a score, a champion whose card's score is below
   ``metric_floor`` (moved there by hand: ``retrain promote``) is decaying too.
3. ``drifting``: the newest finished run found drift (findings with a rule of
   domain/findings.py's ``DRIFT_RULES``) and did not make its version the champion. A
   champion trained on the drifted rows has learnt them: its run's findings are still
   counted in ``drift_findings``, but they do not make the model drift.
4. ``awaiting_approval``: the newest version awaits a person's approval (spec
   ``approval="required"``, service/approval.py): undecided, judged against the champion
   that still serves, and its deadline (``expires_at``) is later than ``now``.
5. ``unknown``: the champion alias could not be read (the row carries an error).
6. ``new``: no champion yet.
7. ``healthy``.

All reasons that hold are listed, in that order; the first gives the status.
``ATTENTION`` lists the statuses that sort first in the models list (in that order)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from retrain.domain.decay import DecayResult, DecayStatus
from retrain.domain.findings import DRIFT_RULES
from retrain.domain.runs import RunRecord, RunStatus
from retrain.service.derived_rows import is_number, is_version

ATTENTION = ("failing", "decaying", "drifting", "awaiting_approval")
STATUSES = (*ATTENTION, "unknown", "new", "healthy")
MESSAGE_CHARS = 300  # of a failure's message, as the row keeps it
REASON_CHARS = 160  # of a failure's message in a reason
DECAYED = {str(DecayStatus.DECAYING), str(DecayStatus.BELOW_FLOOR)}


# the facts, from their sources -----------------------------------------------------------
def finished_of(record: RunRecord) -> dict[str, Any] | None:
    """The facts of a finished run that health reads; None for a dry or unfinished run."""
    if record.dry_run or not record.status.finished:
        return None
    summary = record.summary if isinstance(record.summary, dict) else {}
    findings = summary.get("findings")
    drift = sum(
        1
        for f in (findings if isinstance(findings, list) else [])
        if isinstance(f, dict) and f.get("rule") in DRIFT_RULES
    )
    failed = record.status is RunStatus.FAILED
    error = record.error if failed and isinstance(record.error, dict) else {}
    judged, score = summary.get("champion_version"), summary.get("champion_score")
    scored = is_version(judged) and is_number(score)
    stage = error.get("stage") if isinstance(error.get("stage"), str) else str(record.stage)
    message = error.get("message")
    return {
        "run_id": record.run_id,
        "status": str(record.status),
        "outcome": str(record.outcome) if record.outcome else None,
        "finished_at": record.finished_at,
        "version": record.version,
        "drift_findings": drift,
        "failed_stage": stage if failed else None,
        "message": message[:MESSAGE_CHARS] if failed and isinstance(message, str) else None,
        "gate_champion_version": judged if scored else None,
        "gate_champion_score": _number(score) if scored else None,
    }


def decay_of(key: str, point: DecayResult | Mapping[str, Any]) -> dict[str, Any]:
    """The facts of a decay point that health reads (``point`` as stored, or as checked)."""
    data = point.to_dict() if isinstance(point, DecayResult) else point
    score, card = data.get("score"), data.get("card_score")
    version = data.get("version")
    return {
        "key": key,
        "checked_at": str(data.get("checked_at")),
        "status": str(data.get("status")),
        "version": version if is_version(version) else None,
        "score": _number(score),
        "card_score": _number(card),
        **(
            {"message": _cut(str(data.get("message")), REASON_CHARS)} if data.get("message") else {}
        ),
    }


def order(finished: Mapping[str, Any]) -> tuple[str, str]:
    """Which of two finished runs' facts is newer: by finished_at (milliseconds), then run
    id (whose time has whole seconds: two quick runs may share one)."""
    return (finished["finished_at"] or "", finished["run_id"])


# the status ------------------------------------------------------------------------------
def derive(
    row: Mapping[str, Any], decay_limit: float, metric_floor: float, now: str | None = None
) -> dict[str, Any]:
    """Status, reasons, drift findings, last failure and the champion's newest score on new
    data of a models-list row (see the module's rules); ``now`` (ISO, UTC) for an approval's
    deadline. Pure."""
    champion = row.get("champion_version")
    finished = row.get("last_finished")
    reasons: list[tuple[str, str]] = []  # (status, text)
    if "error" in row:
        reasons.append(("unknown", "its champion alias could not be read"))
    last_failure = None
    if finished is not None and finished["status"] == str(RunStatus.FAILED):
        last_failure = {
            "run_id": finished["run_id"],
            "finished_at": finished["finished_at"],
            "stage": finished["failed_stage"],
            "message": finished["message"],
        }
        message = _cut(finished["message"] or "no message", REASON_CHARS)
        where = f"run {finished['run_id']} failed in {finished['failed_stage']}"
        reasons.append(("failing", f"{where}: {message}"))
    point = row.get("decay") or {}
    of_champion = champion is not None and point.get("version") == champion
    if of_champion and point.get("status") == str(DecayStatus.ERROR):
        said = point.get("message") or "no message"
        when = str(point["checked_at"])[:10]
        reasons.append(("failing", f"champion v{champion}'s decay check {when} failed: {said}"))
    newest = _newest_score(row, decay_limit, metric_floor)
    if newest is not None and newest.pop("decaying"):
        reasons.append(("decaying", _decay_reason(newest, metric_floor)))
    card = _number(row.get("champion_score"))
    if newest is None and champion is not None and card is not None and card < metric_floor:
        # a version moved to champion by hand, below the floor the gate would have held it to
        text = f"champion v{champion} scores {card:.4f} on its card, below the floor"
        reasons.append(("decaying", f"{text} {metric_floor:g}"))
    drift = None
    if finished is not None:
        drift = finished["drift_findings"]
        if drift and champion is not None and finished["version"] != champion:
            findings = "finding" if drift == 1 else "findings"
            reasons.append(("drifting", f"{drift} drift {findings} in run {finished['run_id']}"))
    if (waiting := _awaiting(row, now)) is not None:
        reasons.append(("awaiting_approval", waiting))
    if champion is None and "error" not in row:
        reasons.append(("new", "no champion yet"))
    status = min((s for s, _ in reasons), key=STATUSES.index, default="healthy")
    return {
        "status": status,
        "reasons": [text for s, text in sorted(reasons, key=lambda r: STATUSES.index(r[0]))],
        "drift_findings": drift,
        "last_failure": last_failure,
        "champion_new_score": newest,
    }


def _awaiting(row: Mapping[str, Any], now: str | None) -> str | None:
    """Why the row's newest version awaits approval, or None if it does not (decided,
    judged against another champion than the one serving, or past its deadline)."""
    latest = row.get("latest_version") or {}
    facts = latest.get("approval")
    if not facts or facts["decision"] is not None or "error" in row:
        return None
    if facts["judged_against"] != row.get("champion_version"):
        return None
    deadline = facts["expires_at"]
    if deadline is not None and now is not None and now >= deadline:
        return None
    until = f" until {deadline[:16].replace('T', ' ')} UTC" if deadline else ""
    return f"v{latest['version']} passed the gate and awaits approval{until}"


def sort_key(name: str, status: str) -> tuple[int, str]:
    """Failing, decaying, drifting models and those awaiting approval first (in that order),
    then the rest; by name."""
    return (ATTENTION.index(status) if status in ATTENTION else len(ATTENTION), name)


def _newest_score(
    row: Mapping[str, Any], decay_limit: float, metric_floor: float
) -> dict[str, Any] | None:
    """The champion's newest score on new data, with where it comes from and whether it
    says the champion decays; None when nothing scored this champion on new data."""
    champion, card = row.get("champion_version"), row.get("champion_score")
    if champion is None or "error" in row:
        return None
    found = []
    point = row.get("decay")
    if point is not None and point["version"] == champion and point["score"] is not None:
        found.append(
            {
                "score": point["score"],
                "source": "decay_check",
                "at": point["checked_at"],
                "version": champion,
                "card_score": point["card_score"] if point["card_score"] is not None else card,
                "run_id": None,
                "decaying": point["status"] in DECAYED,
            }
        )
    finished = row.get("last_finished")
    if finished is not None and finished["gate_champion_version"] == champion:
        score = finished["gate_champion_score"]
        drop = None if card is None else round(card - score, 6)
        found.append(
            {
                "score": score,
                "source": "holdout",
                "at": finished["finished_at"],
                "version": champion,
                "card_score": card,
                "run_id": finished["run_id"],
                "decaying": score < metric_floor or (drop is not None and drop > decay_limit),
            }
        )
    return max(found, key=lambda f: f["at"] or "", default=None)


def _decay_reason(newest: Mapping[str, Any], metric_floor: float) -> str:
    where = (
        f"on new rows (decay check {str(newest['at'])[:10]})"
        if newest["source"] == "decay_check"
        else f"on run {newest['run_id']}'s holdout"
    )
    card = newest["card_score"]
    text = f"champion v{newest['version']} scores {newest['score']:.4f} {where}"
    text += f", {card:.4f} on its card" if card is not None else ""
    return text + (f", below the floor {metric_floor:g}" if newest["score"] < metric_floor else "")


def _number(value: Any) -> float | None:
    return float(value) if is_number(value) else None


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
