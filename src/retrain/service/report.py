"""Plain-text wording of outcomes, shared by the console, the CLI and Slack's fallback text."""

from __future__ import annotations

from typing import Any

from retrain.domain.decay import MIN_ROWS, DecayResult, DecayStatus
from retrain.domain.runs import Outcome, RunRecord

OUTCOME_WORDS = {
    Outcome.PROMOTED: "promoted",
    Outcome.KEPT_CHAMPION: "kept champion",
    Outcome.REJECTED: "rejected by the gate",
    Outcome.AWAITING_APPROVAL: "awaiting approval",
    Outcome.VALIDATED: "validated (dry run)",
    Outcome.FAILED: "failed",
}


def outcome_words(record: RunRecord) -> str:
    if record.outcome is None:
        return str(record.status)
    return OUTCOME_WORDS[record.outcome]


def comparison_text(comparison: Any) -> str:
    """'+0.0040, 95 % CI -0.0020 to +0.0100, 10,788 rows' (candidate minus champion on the
    same rows), from a gate decision's ``comparison``; '' when there was none."""
    if not isinstance(comparison, dict):
        return ""
    try:
        text = (
            f"{comparison['delta']:+.4f}, 95 % CI {comparison['low']:+.4f} to "
            f"{comparison['high']:+.4f}, {comparison['rows']:,} rows"
        )
    except (KeyError, TypeError, ValueError):
        return ""
    return text + (" (champion may have seen some)" if comparison.get("caveat") else "")


def holdout_text(rule: Any) -> str:
    """How a card's test rows were chosen, in words (cards before rules: a random split)."""
    if not isinstance(rule, dict):
        return "a random split (before holdout rules)"
    return str(rule.get("description") or "unreadable rule")


def on_compared_rows(score: Any, comparison: Any) -> str:
    """' (0.7162 on the 437 rows compared)': the candidate's score on the rows the champion
    was scored on, when it is not its score on its whole test part (the floor's). Without
    it, 'accuracy 0.8444 vs champion 0.7162 (+0.0000 ...)' put two row sets side by side."""
    try:
        there, rows = comparison["candidate"], comparison["rows"]
        if round(there, 4) == round(score, 4):
            return ""
        return f" ({there:.4f} on the {rows:,} rows compared)"
    except (KeyError, TypeError, ValueError):
        return ""


def score_text(record: RunRecord) -> str:
    s = record.summary
    if s.get("score") is None:
        return ""
    text = f"{s['metric']} {s['score']:.4f}{on_compared_rows(s['score'], s.get('comparison'))}"
    if s.get("champion_score") is not None:
        text += f" vs champion v{s['champion_version']} {s['champion_score']:.4f}"
        text += f" ({comparison_text(s.get('comparison')) or format(s['delta'], '+.4f')})"
    return text


def run_line(record: RunRecord) -> str:
    parts = [record.model]
    if record.version is not None:
        parts.append(f"v{record.version}")
    parts.append(outcome_words(record))
    if score := score_text(record):
        parts.append(score)
    s = record.summary
    unscored = s.get("champion_version") is not None and s.get("champion_score") is None
    if s.get("gate_reason") and (record.outcome is Outcome.REJECTED or unscored):
        reason = str(s["gate_reason"])  # what the score alone does not say
        parts.append(reason if len(reason) <= 300 else reason[:299] + "…")
    if record.error:
        parts.append(
            f"in {record.error['stage']}: {record.error['type']}: {record.error['message']}"
        )
    return " · ".join(parts)


def skipped_text(batch: dict[str, Any] | None) -> str:
    """'; not started: ARTFAM_ROH (run ... was queued or running)': the models of a batch
    that got no run, from its record; '' when none."""
    skipped = (batch or {}).get("skipped")
    if not isinstance(skipped, list) or not skipped:
        return ""
    said = [f"{s.get('model')} ({s.get('reason')})" for s in skipped if isinstance(s, dict)]
    return f"; not started: {', '.join(said)}" if said else ""


def batch_line(records: list[RunRecord]) -> str:
    counts: dict[str, int] = {}
    for record in records:
        counts[outcome_words(record)] = counts.get(outcome_words(record), 0) + 1
    return ", ".join(f"{n} {word}" for word, n in sorted(counts.items()))


DECAY_WORDS = {
    DecayStatus.OK: "ok",
    DecayStatus.DECAYING: "decaying",
    DecayStatus.BELOW_FLOOR: "below floor",
    DecayStatus.NOT_ENOUGH_ROWS: "not enough new rows",
    DecayStatus.NO_CHAMPION: "no champion",
    DecayStatus.ERROR: "check failed",
}


def decay_rows(result: DecayResult) -> str:
    """Which rows a decay check scored: '2,113 rows since 2026-10-31'."""
    window = result.window or {}
    rows = f"{result.rows:,} row{'s' if result.rows != 1 else ''}"
    if window.get("column") is None:
        return f"{rows} (all rows: no time column)"
    if window.get("after"):
        return f"{rows} since {str(window['after'])[:10]}"
    return f"{rows} (the spec's window: the card names no training window)"


def decay_line(result: DecayResult) -> str:
    """One model's decay check in a line, e.g. 'KLASSE_CORE v3: balanced_accuracy 0.6312 on
    2,113 rows since 2026-10-31, card 0.8601 (-0.2289, tolerance 0.01)'."""
    name = result.model + (f" v{result.version}" if result.version is not None else "")
    status = result.status
    if status is DecayStatus.NO_CHAMPION:
        return f"{name}: no champion yet"
    if status is DecayStatus.ERROR:
        return f"{name}: check failed: {result.message or 'unknown error'}"
    if status is DecayStatus.NOT_ENOUGH_ROWS or result.score is None:
        return f"{name}: not enough new rows: {decay_rows(result)} (at least {MIN_ROWS} labelled)"
    text = f"{name}: {result.metric} {result.score:.4f} on {decay_rows(result)}"
    if result.card_score is not None and result.delta is not None:
        limit = (
            f"floor {result.floor:g}"
            if status is DecayStatus.BELOW_FLOOR
            else f"tolerance {result.tolerance:g}"
        )
        text += f", card {result.card_score:.4f} ({result.delta:+.4f}, {limit})"
    if not status.alarm:
        text += f": {DECAY_WORDS[status]}"
    retrain = result.retrain or {}
    if retrain.get("run_id") and not retrain.get("skipped"):
        text += f"; retraining: run {retrain['run_id']}"
    elif retrain.get("skipped"):
        text += f"; not retrained: {retrain['skipped']}"
    return text


def decay_counts(results: list[DecayResult]) -> str:
    """'3 models checked: 1 decaying, 2 ok'."""
    counts: dict[str, int] = {}
    for result in results:
        counts[DECAY_WORDS[result.status]] = counts.get(DECAY_WORDS[result.status], 0) + 1
    checked = f"{len(results)} model{'s' if len(results) != 1 else ''} checked"
    return checked + ": " + ", ".join(f"{n} {word}" for word, n in sorted(counts.items()))
