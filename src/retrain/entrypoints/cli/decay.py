"""`retrain decay [MODEL ...]`: the champion-decay check of the timer, now (service/decay.py):
each champion scored on the rows that arrived since it was trained, the score stored, Slack
told about the decaying ones; a spec with ``retrain_on_decay`` gets a run, trained inline."""

from __future__ import annotations

import argparse
from typing import Any

from retrain.entrypoints.cli import EXIT_OK, EXIT_RUN_FAILED, Command, Context
from retrain.entrypoints.cli.results import print_results, run_result
from retrain.entrypoints.cli.tables import Column, score, table, wrapped


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "models", nargs="*", metavar="MODEL", help="default: every registered classifier"
    )


def _version(value: Any) -> str:
    return "-" if value is None else f"v{value}"


def _delta(value: float | None) -> str:
    return "-" if value is None else f"{value:+.4f}"


def _day(value: str | None) -> str:
    return "-" if not value else str(value)[:10]


COLUMNS = [
    Column("model", flex=True),
    Column("version", "v", show=_version, right=True),
    Column("metric"),
    Column("card_score", "card", show=score, right=True),
    Column("score", "new", show=score, right=True),
    Column("delta", show=_delta, right=True),
    Column("rows", right=True),
    Column("after", "rows after", show=_day),
    Column("status", flex=True),
]


def decay(ctx: Context) -> int:
    from retrain.service.decay import check
    from retrain.service.report import DECAY_WORDS
    from retrain.service.runner import execute_run

    svc = ctx.services(reads_rows=True)
    checked = check(svc, ctx.args.models or None)  # an unknown name: before anything runs
    executed = [execute_run(svc, record.run_id) for record in checked.runs]
    failed = any(r.status == "error" for r in checked.results) or any(
        r.status == "failed" for r in executed
    )
    if ctx.args.json:
        ctx.json(
            {
                "results": [r.to_dict() for r in checked.results],
                "runs": [run_result(r) for r in executed],
            }
        )
        return EXIT_RUN_FAILED if failed else EXIT_OK
    rows = [
        {
            **r.to_dict(),
            "after": (r.window or {}).get("after"),
            "status": DECAY_WORDS[r.status],
        }
        for r in checked.results
    ]
    ctx.print(table(rows, COLUMNS))
    for r in checked.results:
        for text in (r.note, r.message if r.status == "error" else None):
            if text:
                ctx.print(wrapped(r.model, text))
        if r.retrain:
            words = r.retrain.get("skipped") or f"retraining: run {r.retrain['run_id']}"
            ctx.print(wrapped(r.model, words))
    if executed:
        ctx.print()
        print_results(ctx, executed)
    return EXIT_RUN_FAILED if failed else EXIT_OK


COMMANDS = [
    Command(
        "decay",
        "score each champion on the rows that arrived since it was trained; store and report",
        decay,
        _arguments,
        reads=False,
    ),
]
