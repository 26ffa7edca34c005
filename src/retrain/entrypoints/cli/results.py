"""What `retrain train` prints: the result table, gate reasons, a dry run's profile, and
the keys of `train --json`."""

from __future__ import annotations

import shutil
from typing import Any

from retrain.domain.runs import RunRecord
from retrain.entrypoints.cli import Context
from retrain.entrypoints.cli.tables import (
    WIDTH,
    Column,
    duration,
    pairs,
    score,
    table,
    wrapped,
)

RESULT_COLUMNS = [
    Column("model"),
    Column("version"),  # left: "KLASSE_ROH  2" reads as one phrase
    Column("outcome"),
    Column("rows", right=True),
    Column("metric"),
    Column("score", show=score, right=True),
    Column("champion", show=score, right=True),
    Column("time", show=duration, right=True),
]


def run_result(r: RunRecord) -> dict[str, Any]:
    """One run's result: the keys of ``train --json`` (docs/cli.md)."""
    s = r.summary
    return {
        "model": r.model,
        "run_id": r.run_id,
        "status": str(r.status),
        "outcome": str(r.outcome) if r.outcome else None,
        "version": r.version,
        "rows": s.get("rows_loaded"),
        "metric": s.get("metric"),
        "score": s.get("score"),
        "champion_score": s.get("champion_score"),
        "champion_version": s.get("champion_version"),
        "delta": s.get("delta"),
        "gate_reason": s.get("gate_reason"),
        "duration_s": r.duration_s,
        "error": r.error,
        "data_window": s.get("data_window"),
        "findings": s.get("findings", []),
        "profile": s.get("profile"),
    }


def print_results(ctx: Context, results: list[RunRecord]) -> None:
    from retrain.service.report import outcome_words

    width = _width()
    for r in results:
        if r.dry_run and "profile" in r.summary:
            ctx.print("\n".join(profile_lines(r, width)) + "\n")
    rows = [
        {
            "model": r.model,
            "version": r.version,
            "outcome": outcome_words(r),
            "rows": r.summary.get("rows_loaded"),
            "metric": r.summary.get("metric"),
            "score": r.summary.get("score"),
            "champion": r.summary.get("champion_score"),
            "time": r.duration_s,
        }
        for r in results
    ]
    ctx.print(table(rows, RESULT_COLUMNS))
    for r in results:
        for line in notes(r, width):
            ctx.print(line)


def notes(r: RunRecord, width: int = WIDTH) -> list[str]:
    """What follows a run's row: its gate reason, or why it failed. A validation stop
    lists every finding that stopped it, one each: the run record's error message joins
    them and is cut at 500 characters, so on its own it could hide some columns."""
    if not r.error:
        reason = r.summary.get("gate_reason")
        return [wrapped(r.model, reason, width)] if reason else []
    failed = f"failed in {r.error['stage']}: {r.error['type']}"
    stops = [
        f
        for f in r.summary.get("findings") or []
        if f.get("severity") == "error" and r.error.get("type") == "DataValidationError"
    ]
    if len(stops) < 2:
        return [wrapped(r.model, f"{failed}: {r.error.get('message')}", width)]
    return [
        wrapped(r.model, f"{failed}: {len(stops)} problems stopped the run", width),
        *(wrapped("  error", f["message"], width) for f in stops),
    ]


def _width() -> int:
    """The terminal's width, at most the tables' 100 columns (100 in a pipe)."""
    return max(40, min(WIDTH, shutil.get_terminal_size((WIDTH, 24)).columns))


def profile_lines(r: RunRecord, width: int = WIDTH) -> list[str]:
    """A dry run's data profile in a few lines (``--json`` has all of it)."""
    profile = r.summary["profile"]
    window = r.summary.get("data_window") or {}
    classes = sorted(profile["class_counts"].items(), key=lambda kv: -kv[1])
    nulls = sorted(
        ((c, v) for c, v in profile["null_rates"].items() if v > 0), key=lambda kv: -kv[1]
    )
    items = [
        ("rows", f"{profile['rows']:,} usable of {r.summary.get('rows_loaded', 0):,} loaded"),
        ("window", f"{_day(window.get('first'))} .. {_day(window.get('last'))}"),
        ("classes", f"{len(classes)}: " + _few(f"{k} {v:,}" for k, v in classes)),
        ("nulls", _few(f"{c} {v:.1%}" for c, v in nulls) or "none"),
        (
            "categories",
            _few(f"{c} {len(v):,}" for c, v in profile.get("categories", {}).items()) or "-",
        ),
    ]
    findings = r.summary.get("findings") or []
    lines = [f"{r.model}: dry run, nothing published", *pairs(items, width=width)]
    lines += [wrapped(f"  {f['severity']}", f["message"], width) for f in findings] or [
        "  no findings"
    ]
    return lines


def _day(value: str | None) -> str:
    return value[:10] if value else "?"


def _few(items: Any, limit: int = 6) -> str:
    items = list(items)
    more = f" · … {len(items) - limit} more" if len(items) > limit else ""
    return " · ".join(items[:limit]) + more
