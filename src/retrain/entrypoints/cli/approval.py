"""``retrain approve MODEL N --reason ...`` and ``retrain reject MODEL N --reason ...``: the
decision on a version awaiting approval (service/approval.py), with the same rules as
Slack's buttons and the console. A refusal (decided already, outdated, expired, nothing
awaiting) exits 1 and changes nothing."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from retrain.entrypoints.cli import EXIT_OK, Command, Context
from retrain.entrypoints.cli.train import actor
from retrain.entrypoints.whole_numbers import VERSION, argument

FIELDS = ("model", "version", "decision", "actor", "reason", "decided_at", "champion_version")


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("version", type=argument("version", VERSION))
    parser.add_argument("--reason", required=True, help="why (kept with the decision)")


def _decide(decision: str) -> Callable[[Context], int]:
    def run(ctx: Context) -> int:
        from retrain.service.approval import decide

        args = ctx.args
        decided = decide(
            ctx.services(), args.name, args.version, decision, actor=actor(), reason=args.reason
        )
        if args.json:
            ctx.json({k: decided.get(k) for k in FIELDS})
        elif decided["decision"] == "approved":
            ctx.print(f"{decided['model']} v{decided['version']} approved: it is the champion")
        else:
            champion = decided["champion_version"]
            serving = f"v{champion} stays champion" if champion else "no champion"
            ctx.print(f"{decided['model']} v{decided['version']} rejected; {serving}")
        return EXIT_OK

    return run


COMMANDS = [
    Command(
        "approve",
        "approve a version awaiting approval: it becomes the champion",
        _decide("approve"),
        _arguments,
        reads=False,
    ),
    Command(
        "reject",
        "reject a version awaiting approval: it never serves",
        _decide("reject"),
        _arguments,
        reads=False,
    ),
]
