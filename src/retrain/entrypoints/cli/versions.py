"""Read commands over a model's versions: versions, card, diff."""

from __future__ import annotations

import argparse
from typing import Any

from retrain.domain.errors import NotFoundError
from retrain.entrypoints.cli import EXIT_OK, Command, Context
from retrain.entrypoints.cli.tables import Column, score, table, when, yes_no
from retrain.entrypoints.whole_numbers import VERSION, argument

VERSION_KEYS = ("version", "status", "champion", "metric", "score", "created_at", "run_id", "rows")
APPROVAL_WORDS = {  # service/approval.py state: what the table says
    "awaiting": "awaiting approval",
    "approved": "approved",
    "rejected": "rejected on approval",
}


def _name_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="model name")


def versions(ctx: Context) -> int:
    from retrain.service.queries import list_versions

    listed = list_versions(ctx.services(), ctx.args.name)
    found = [
        {k: v.get(k) for k in VERSION_KEYS}
        | ({"approval": v["approval"]} if "approval" in v else {})
        for v in listed
    ]
    name = ctx.services().registry.get(ctx.args.name).name
    for v in listed:  # a stored summary entry that its card corrected: say so
        if "mended" in v:
            ctx.note(f"note: {name} v{v['version']}: {v['mended']}")
        if "error" in v:
            ctx.note(f"note: {name} v{v['version']}: {v['error']['message']}")
    if ctx.args.json:
        ctx.json({"model": name, "versions": found})
        return EXIT_OK
    metric = str(found[0]["metric"]) if found else "score"
    for v in found:
        v["loaded"] = (v["rows"] or {}).get("loaded")
        if "approval" in v:  # what became of a version that awaited approval
            state = v["approval"].get("state")
            v["status"] = APPROVAL_WORDS.get(state, f"approval {state}")
    columns = [
        Column("version", right=True),
        Column("status"),
        Column("champion", show=yes_no),
        Column("score", metric, show=score, right=True),
        Column("loaded", "rows", right=True),
        Column("created_at", "created (UTC)", show=when),
    ]
    ctx.print(table(found, columns))
    return EXIT_OK


def _card_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="model name")
    parser.add_argument(
        "version", type=argument("version", VERSION), nargs="?", help="default: the champion"
    )


def card(ctx: Context) -> int:
    from retrain.entrypoints.cli.card_view import card_text

    svc = ctx.services()
    name = svc.registry.get(ctx.args.name).name
    champion = svc.models.champion(name)
    version = ctx.args.version
    if version is None:
        if champion is None:
            raise NotFoundError(
                f"{name} has no champion yet: name a version (retrain versions {name})"
            )
        version = champion.version
    stored = svc.models.card(name, version)
    is_champion = bool(champion and champion.version == version)
    if ctx.args.json:
        ctx.json({"model": name, "version": version, "champion": is_champion, "card": stored})
    else:
        ctx.print(card_text(stored, is_champion))
    return EXIT_OK


def _diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="model name")
    parser.add_argument(
        "a", type=argument("version", VERSION), help="a version (the older one, usually)"
    )
    parser.add_argument(
        "b", type=argument("version", VERSION), help="the version to compare with it"
    )


def diff(ctx: Context) -> int:
    from retrain.entrypoints.cli.diff_view import compare, diff_text

    svc = ctx.services()
    name = svc.registry.get(ctx.args.name).name
    cards: list[dict[str, Any]] = [svc.models.card(name, v) for v in (ctx.args.a, ctx.args.b)]
    compared = compare(*cards)
    if ctx.args.json:
        ctx.json(compared)
    else:
        ctx.print(diff_text(compared))
    return EXIT_OK


COMMANDS = [
    Command(
        "versions", "every version of a model with its status and score", versions, _name_argument
    ),
    Command(
        "card", "a version's model card, readable (default: the champion)", card, _card_arguments
    ),
    Command("diff", "compare two versions of a model", diff, _diff_arguments),
]
