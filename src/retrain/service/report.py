"""Plain-text wording of outcomes, shared by the console, the CLI and Slack's fallback text."""

from __future__ import annotations

from typing import Any

from retrain.domain.runs import Outcome, RunRecord

OUTCOME_WORDS = {
    Outcome.PROMOTED: "promoted",
    Outcome.KEPT_CHAMPION: "kept champion",
    Outcome.REJECTED: "rejected by the gate",
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


def score_text(record: RunRecord) -> str:
    s = record.summary
    if s.get("score") is None:
        return ""
    text = f"{s['metric']} {s['score']:.4f}"
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
    if record.error:
        parts.append(
            f"in {record.error['stage']}: {record.error['type']}: {record.error['message']}"
        )
    return " · ".join(parts)


def batch_line(records: list[RunRecord]) -> str:
    counts: dict[str, int] = {}
    for record in records:
        counts[outcome_words(record)] = counts.get(outcome_words(record), 0) + 1
    return ", ".join(f"{n} {word}" for word, n in sorted(counts.items()))
