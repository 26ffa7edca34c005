"""`retrain stats`: training statistics per model and overall over the last days (the
numbers of ``GET /api/training/statistics``, from service/statistics.py)."""

from __future__ import annotations

import argparse
from typing import Any

from retrain.entrypoints import whole_numbers
from retrain.entrypoints.cli import EXIT_OK, Command, Context
from retrain.entrypoints.cli.tables import Column, duration, table, when
from retrain.service.statistics import DEFAULT_DAYS, MAX_DAYS, MIN_DAYS

OVERALL = "all models"


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--days",
        type=whole_numbers.argument("days", (MIN_DAYS, MAX_DAYS)),
        default=DEFAULT_DAYS,
        metavar="N",
        help=f"the window: the last N days ({MIN_DAYS} to {MAX_DAYS}, default {DEFAULT_DAYS})",
    )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


RUN_COLUMNS = [
    Column("model", flex=True),
    Column("runs", right=True),
    Column("promoted", right=True),
    Column("awaiting_approval", "awaiting", right=True),
    Column("kept_champion", "kept", right=True),
    Column("rejected", right=True),
    Column("failed", right=True),
    Column("unfinished", right=True),
    Column("success_rate", "success", show=_percent, right=True),
    Column("median", show=duration, right=True),
    Column("p95", show=duration, right=True),
]
MOVE_COLUMNS = [
    Column("model", flex=True),
    Column("finished_at", "last success (UTC)", show=when),
    Column("version", right=True),
    Column("promotions", right=True),
    Column("rollbacks", right=True),
    Column("dry_runs_excluded", "dry runs (not counted)", right=True),
]


def stats(ctx: Context) -> int:
    from retrain.service.statistics import compute

    found = compute(ctx.services(), ctx.args.days)
    if ctx.args.json:
        ctx.json(found)
        return EXIT_OK
    rows = [_row(m["model"], m) for m in found["models"]] + [_row(OVERALL, found["overall"])]
    ctx.print(
        f"last {found['days']} days: {when(found['since'])} to {when(found['until'])} UTC; "
        "dry runs not counted"
    )
    ctx.print(table(rows, RUN_COLUMNS))
    ctx.print()
    ctx.print(table(rows, MOVE_COLUMNS))
    for key in found.get("unreadable", []):
        ctx.print(f"unreadable, not counted: {key}")
    return EXIT_OK


def _row(name: str, figures: dict[str, Any]) -> dict[str, Any]:
    last = figures["last_success"] or {}
    return {
        "model": name,
        **figures,
        **figures["outcomes"],
        **figures["duration_s"],
        "finished_at": last.get("finished_at"),
        "version": last.get("version"),
    }


COMMANDS = [
    Command(
        "stats",
        "runs by outcome, success rate, durations, promotions and rollbacks per model",
        stats,
        _arguments,
    ),
]
