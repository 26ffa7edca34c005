"""Block Kit payloads for Slack: one message per run, one summary per batch.

Pure: builds ``{"text": fallback, "blocks": [...]}`` dicts from run records, within Slack's
limits (50 blocks, 3,000 characters per section text, 2,000 per field, 150 per header).
User text is escaped so it can neither break the formatting nor ping anyone. ``scrub``
(retrain.redact) replaces secret values and credential-shaped substrings in any payload."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from retrain.domain.decay import DecayResult, DecayStatus
from retrain.domain.findings import DRIFT_RULES
from retrain.domain.runs import Outcome, RunRecord, RunStatus
from retrain.redact import scrub
from retrain.service.report import (
    batch_line,
    comparison_text,
    decay_counts,
    decay_line,
    on_compared_rows,
    outcome_words,
    run_line,
)

__all__ = ["batch_message", "decay_message", "run_message", "scrub"]

MAX_BLOCKS, SECTION_CHARS, FIELD_CHARS, HEADER_CHARS, TEXT_CHARS = 50, 3000, 2000, 150, 3000
MAX_FINDINGS = 5
MAX_DRIFT, DRIFT_CHARS = 10, 120
ICONS = {
    Outcome.PROMOTED: ":white_check_mark:",
    Outcome.KEPT_CHAMPION: ":heavy_minus_sign:",
    Outcome.REJECTED: ":no_entry:",
    Outcome.AWAITING_APPROVAL: ":raised_hand:",
    Outcome.VALIDATED: ":mag:",
    Outcome.FAILED: ":x:",
    RunStatus.QUEUED: ":hourglass_flowing_sand:",
    RunStatus.RUNNING: ":arrows_counterclockwise:",
}


def run_message(record: RunRecord, environment: str = "LOCAL") -> dict[str, Any]:
    """One run: outcome, metric against the champion, rows, window, duration, artifact; for a
    failure the stage, error class and short message (never a traceback or row data)."""
    s = record.summary
    title = f"{_icon(record)} {record.model}"
    title += f" v{record.version}" if record.version is not None else ""
    title += f" · {outcome_words(record)}"
    title += " (dry run)" if record.dry_run and record.outcome is not Outcome.VALIDATED else ""
    fields = []
    if s.get("score") is not None:
        fields.append(f"*{_esc(s['metric'])}*\n{s['score']:.4f}  {_versus(s)}")
    if s.get("rows_loaded") is not None:
        rows = f"{s['rows_loaded']:,} loaded"
        if s.get("rows_train") is not None:
            rows += f"\n{s['rows_train']:,} train / {s.get('rows_test', 0):,} test"
        fields.append(f"*Rows*\n{rows}")
    if window := _window(s.get("data_window")):
        fields.append(f"*Data window*\n{window}")
    fields.append(f"*Duration*\n{_duration(record)}")
    trigger = _esc(record.trigger)
    trigger += f": {_cut(_esc(record.reason), 200)}" if record.reason else ""
    fields.append(f"*Trigger*\n{trigger}")
    blocks: list[dict[str, Any]] = [
        _header(title),
        {"type": "section", "fields": [_mrkdwn(f, FIELD_CHARS) for f in fields[:10]]},
    ]
    if record.error:
        e = record.error
        blocks.append(
            _section(
                f"*Failed in* `{_code(e.get('stage', '?'))}` · `{_code(e.get('type', '?'))}`\n"
                f"> {_cut(_esc(e.get('message', '')), 1000).replace(chr(10), ' ')}"
            )
        )
    elif s.get("gate_reason"):
        blocks.append(_section(f"*Gate:* {_esc(s['gate_reason'])}"))
    blocks += [_section(text) for text in _findings(s.get("findings") or [])]
    blocks += approval_blocks(record)
    context = [f"*{_esc(environment)}*", f"Run `{_code(record.run_id)}`"]
    if record.attempts > 1:
        context.append(f"attempt {record.attempts}")
    if s.get("artifact_uri"):
        context.append(f"Artifact `{_code(s['artifact_uri'])}`")
    blocks.append(_context(context))
    return {"text": _cut(_esc(run_line(record)), TEXT_CHARS), "blocks": blocks}


APPROVAL_BLOCK = "approval"  # the actions block's id: a decision replaces it


def approval_blocks(record: RunRecord) -> list[dict[str, Any]]:
    """For a version awaiting approval: the deadline and the Approve / Reject buttons. A
    button's value names the model, version and run (nothing secret); Slack asks to confirm.
    Once decided (``summary["approval"]``, kept by service/approval.py): who decided, when."""
    if record.outcome is not Outcome.AWAITING_APPROVAL or record.version is None:
        return []
    decided = record.summary.get("approval")
    if isinstance(decided, dict):
        return [_section(decided_line(record.model, record.version, decided))]
    value = json.dumps(
        {"model": record.model, "version": record.version, "run_id": record.run_id},
        separators=(",", ":"),
    )
    label = f"{record.model} v{record.version}"
    until = str(record.summary.get("approval_expires_at") or "")[:16].replace("T", " ")
    deadline = f" (until {_esc(until)} UTC)" if until else ""
    champion = record.summary.get("champion_version")
    instead = f" instead of v{champion}" if champion is not None else ""

    def button(action: str, text: str, style: str, question: str) -> dict[str, Any]:
        return {
            "type": "button",
            "action_id": action,
            "text": {"type": "plain_text", "text": text},
            "style": style,
            "value": value,
            "confirm": {
                "title": {"type": "plain_text", "text": f"{text} {label}?"[:100]},
                "text": {"type": "mrkdwn", "text": question},
                "confirm": {"type": "plain_text", "text": text},
                "deny": {"type": "plain_text", "text": "Cancel"},
            },
        }

    note = _section(
        f"*Awaiting approval*{deadline}: it passed the gate; approve to make it the "
        f"champion{instead}, or reject it."
    )
    return [
        {**note, "block_id": f"{APPROVAL_BLOCK}-note"},
        {
            "type": "actions",
            "block_id": APPROVAL_BLOCK,
            "elements": [
                button("approve", "Approve", "primary", f"{label} becomes the champion{instead}."),
                button("reject", "Reject", "danger", f"{label} will never serve; nothing moves."),
            ],
        },
    ]


def decided_line(model: str, version: int, decided: Mapping[str, Any], who: str = "") -> str:
    """``decided``: ``decision``, ``actor``, ``decided_at`` (``who``: the actor as Slack
    mentions it, for a click)."""
    label = f"{model} v{version}"
    at = str(decided.get("decided_at") or "")[:16].replace("T", " ")
    by = f"by {who or _esc(str(decided.get('actor') or '?'))} at {_esc(at)} UTC"
    if decided.get("decision") == "approved":
        return f":white_check_mark: *Approved* {by}: {label} is the champion"
    return f":no_entry: *Rejected* {by}: {label} will not serve"


def batch_message(
    batch_id: str,
    records: list[RunRecord],
    *,
    final: bool,
    environment: str = "LOCAL",
    corrections: str | None = None,
    skipped: str = "",
) -> dict[str, Any]:
    """A batch's summary, one line per model: 'queued/running' at the start, outcomes at
    the end. The details of each run are in its thread (or its own message). ``skipped``:
    the models that got no run (``report.skipped_text``), at the end."""
    trigger = records[0].trigger if records else "batch"
    count = f"{len(records)} model{'s' if len(records) != 1 else ''}"
    title = f"Retraining {'finished' if final else 'started'}: {count} ({trigger})"
    lines = [_batch_row(r, final) for r in records]
    sections = _chunks(lines, SECTION_CHARS)
    # the monthly summary's line on people's corrections (issue 27), and the batch's models
    # that got no run (the lines above list runs only)
    extra = [_cut(_esc(t), SECTION_CHARS) for t in (corrections, skipped.lstrip("; ")) if t]
    room = MAX_BLOCKS - 2 - len(extra)
    if len(sections) > room:
        dropped = sum(s.count("\n") + 1 for s in sections[room - 1 :])
        sections = [*sections[: room - 1], f"…and {dropped} more models"]
    sections = [*sections, *extra]
    blocks = [_header(title), *(_section(text) for text in sections)]
    summary = batch_line(records) if final else "details of each model follow in the thread"
    blocks.append(_context([f"*{_esc(environment)}*", _esc(summary), f"Batch `{_code(batch_id)}`"]))
    text = f"{title}: " + (batch_line(records) if final else ", ".join(r.model for r in records))
    text += skipped
    return {"text": _cut(_esc(text), TEXT_CHARS), "blocks": blocks}


DECAY_ICONS = {
    DecayStatus.DECAYING: ":chart_with_downwards_trend:",
    DecayStatus.BELOW_FLOOR: ":no_entry:",
    DecayStatus.ERROR: ":warning:",
}


def decay_message(results: list[DecayResult], environment: str = "LOCAL") -> dict[str, Any] | None:
    """A champion-decay check: one line per decaying or below-floor model and per model
    whose check failed, or None when there is none (nothing is posted)."""
    alarms = [r for r in results if r.status.told]
    if not alarms:
        return None
    below = sum(r.status.alarm for r in alarms)
    failed = len(alarms) - below
    said = []
    if below:
        cards = "its card" if below == 1 else "their cards"
        said.append(f"{below} model{'s' if below != 1 else ''} below {cards}")
    if failed:
        said.append(f"{failed} not checked")
    title = f"Champion decay: {', '.join(said)}"
    lines = [f"{DECAY_ICONS[r.status]} {_cut(_esc(decay_line(r)), 500)}" for r in alarms]
    sections = _chunks(lines, SECTION_CHARS)
    room = MAX_BLOCKS - 2
    if len(sections) > room:
        dropped = sum(s.count("\n") + 1 for s in sections[room - 1 :])
        sections = [*sections[: room - 1], f"…and {dropped} more models"]
    notes = sorted({r.note for r in alarms if r.note})
    blocks = [_header(title), *(_section(text) for text in sections)]
    context = [f"*{_esc(environment)}*", _esc(decay_counts(results))]
    blocks.append(_context([*context, *(_esc(n) for n in notes)]))
    text = f"{title}: " + "; ".join(decay_line(r) for r in alarms)
    return {"text": _cut(_esc(text), TEXT_CHARS), "blocks": blocks}


def _batch_row(record: RunRecord, final: bool) -> str:
    parts = [f"{_icon(record)} *{record.model}*"]
    if not final and not record.status.finished:
        return f"{parts[0]} {record.status}"
    if record.version is not None:
        parts.append(f"v{record.version}")
    parts.append(outcome_words(record))
    s = record.summary
    if s.get("score") is not None:
        parts.append(f"{_esc(s['metric'])} {s['score']:.4f} {_versus(s)}".rstrip())
    if record.error:
        parts.append(
            f"in {_code(record.error.get('stage', '?'))}: {_esc(record.error.get('type', '?'))}"
        )
    return _cut(" · ".join(parts), 500)


def _versus(s: dict[str, Any]) -> str:
    if s.get("champion_score") is not None and s.get("delta") is not None:
        champion = f"v{s.get('champion_version')} {s['champion_score']:.4f}"
        compared = comparison_text(s.get("comparison")) or f"{s['delta']:+.4f}"
        there = on_compared_rows(s.get("score"), s.get("comparison")).strip(" ()")
        return f"({there + ', ' if there else ''}vs champion {champion}: {_esc(compared)})"
    if s.get("champion_version") is not None:
        return f"(champion v{s['champion_version']} could not be scored)"
    return "(first version)"


def _window(window: Any) -> str:
    if not isinstance(window, dict):
        return ""
    if "column" in window and window["column"] is None:
        return "all rows (no time column)"
    if window.get("first") and window.get("last"):
        return f"{_esc(str(window['first'])[:10])} → {_esc(str(window['last'])[:10])}"
    return f"since {_esc(window['since'])} (no rows)" if window.get("since") else ""


def _duration(record: RunRecord) -> str:
    total = record.duration_s
    text = "-" if total is None else _seconds(total)
    if fit := record.timings.get("fit"):
        text += f" (fit {_seconds(fit)})"
    return text


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 90 else f"{int(value // 60)} min {int(value % 60):02d} s"


def _findings(findings: list[dict[str, Any]]) -> list[str]:
    """A section of data checks and one of drift findings (each only when there are some)."""
    checks = [f for f in findings if f.get("rule") not in DRIFT_RULES]
    drift = [f for f in findings if f.get("rule") in DRIFT_RULES]
    parts = []
    if checks:
        lines = [
            f"• {':x:' if f.get('severity') == 'error' else ':warning:'} "
            f"{_cut(_esc(f.get('message', '')), 300)}"
            for f in checks[:MAX_FINDINGS]
        ]
        if len(checks) > MAX_FINDINGS:
            lines.append(f"…and {len(checks) - MAX_FINDINGS} more in the run record")
        parts.append("*Data checks*\n" + "\n".join(lines))
    if drift:  # one short line each: "column: what moved (PSI)"
        lines = [f"• {_cut(_esc(f.get('message', '')), DRIFT_CHARS)}" for f in drift[:MAX_DRIFT]]
        if len(drift) > MAX_DRIFT:
            lines.append(f"…and {len(drift) - MAX_DRIFT} more in the run record")
        parts.append("*Drift against the champion*\n" + "\n".join(lines))
    return parts


def _icon(record: RunRecord) -> str:
    return ICONS.get(record.outcome or record.status, ":grey_question:")


def _header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": _cut(text, HEADER_CHARS), "emoji": True},
    }


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text, SECTION_CHARS)}


def _context(items: list[str]) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(i, FIELD_CHARS) for i in items[:10]]}


def _mrkdwn(text: str, limit: int) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": _cut(text, limit)}


def _chunks(lines: list[str], limit: int) -> list[str]:
    out: list[str] = []
    for line in lines:
        if out and len(out[-1]) + 1 + len(line) <= limit:
            out[-1] += "\n" + line
        else:
            out.append(_cut(line, limit))
    return out


def _esc(text: Any) -> str:
    """Slack's three control characters; stops '<!channel>' pings and broken links."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: Any) -> str:
    return _cut(_esc(text), 300).replace("`", "'")


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` characters, never ending inside an '&amp;'-style entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&", max(0, len(cut) - 5))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"
