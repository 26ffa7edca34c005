"""Plain-text wording of outcomes, shared by the console, the CLI and Slack's fallback text."""

from __future__ import annotations

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


def score_text(record: RunRecord) -> str:
    s = record.summary
    if s.get("score") is None:
        return ""
    text = f"{s['metric']} {s['score']:.4f}"
    if s.get("champion_score") is not None:
        text += f" vs champion v{s['champion_version']} {s['champion_score']:.4f}"
        text += f" ({s['delta']:+.4f})"
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
