"""Read commands over models and runs: models, runs, history."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from retrain.entrypoints.cli import EXIT_OK, Command, Context
from retrain.entrypoints.cli.tables import Column, duration, score, table, when, wrapped
from retrain.entrypoints.whole_numbers import RUNS_LIMIT, argument
from retrain.service.run_filter import TRIGGERS, RunFilter, parse_batch, parse_time

MODEL_KEYS = (
    "name",
    "description",
    "primary_metric",
    "metric_floor",
    "champion_version",
    "champion_score",
    "versions",
    "active_run",
    # health (service/health.py)
    "status",
    "reasons",
    "drift_findings",
    "last_failure",
    "champion_new_score",
)
RUN_KEYS = (
    "run_id",
    "model",
    "status",
    "stage",
    "outcome",
    "version",
    "trigger",
    "reason",
    "dry_run",
    "created_at",
    "started_at",
    "finished_at",
    "duration_s",
    "attempts",
    "timings",
    "summary",
    "error",
)
HISTORY_KEYS = ("moved_at", "version", "previous_version", "actor", "reason", "run_id", "score")


def models(ctx: Context) -> int:
    from retrain.service.queries import list_models

    found = [{k: m.get(k) for k in MODEL_KEYS} for m in list_models(ctx.services())]
    if ctx.args.json:
        ctx.json({"models": found})
        return EXIT_OK
    columns = [
        Column("name"),
        Column("status"),
        Column("champion_version", "champion", show=_version, right=True),
        Column("primary_metric", "metric"),
        Column("champion_score", "score", show=score, right=True),
        Column("versions", right=True),
        Column("active_run", "active run", flex=True),
        Column("description", flex=True),
    ]
    lines = [table(found, columns)]
    for m in found:  # why, under the table, for those that need a look (listed first)
        if m["status"] not in ("healthy", "new"):
            lines += [wrapped(f"{m['name']} {m['status']}", r) for r in m.get("reasons") or []]
    ctx.print("\n".join(lines))
    return EXIT_OK


def _version(value: Any) -> str:
    return "-" if value is None else f"v{value}"


def _runs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="NAME", help="only this model's runs")
    parser.add_argument("--status", choices=["queued", "running", "succeeded", "failed"])
    parser.add_argument(
        "--limit",
        type=argument("limit", RUNS_LIMIT),
        default=20,
        help=f"newest first (default 20, at most {RUNS_LIMIT[1]})",
    )
    parser.add_argument("--trigger", choices=TRIGGERS, help="only runs started this way")
    parser.add_argument(
        "--since", type=_time("since"), metavar="TIME", help="from this date or time (UTC)"
    )
    parser.add_argument(
        "--until", type=_time("until"), metavar="TIME", help="before this date or time (UTC)"
    )
    parser.add_argument(
        "--batch", type=_checked(parse_batch), metavar="ID", help="only this batch's runs"
    )


def _checked(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type=``: ``parse``'s ValueError as a usage error."""

    def checked(raw: str) -> Any:
        try:
            return parse(raw)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return checked


def _time(name: str) -> Callable[[str], Any]:
    return _checked(lambda raw: parse_time(raw, name))


def runs(ctx: Context) -> int:
    svc = ctx.services()
    args = ctx.args
    model = svc.registry.get(args.model).name if args.model else None  # unknown: say so
    from retrain.service.queries import find_runs

    chosen = RunFilter(model, args.status, args.trigger, args.since, args.until, args.batch)
    records, _ = find_runs(svc, chosen, args.limit)
    found = [{**r.to_dict(), "duration_s": r.duration_s} for r in records]
    found = [{k: r.get(k) for k in RUN_KEYS} for r in found]
    if args.json:
        ctx.json({"runs": found})
        return EXIT_OK
    for r in found:
        r["state"] = _state(r)
        r["delta"] = (r.get("summary") or {}).get("delta")
    columns = [
        Column("run_id", "run id"),
        Column("state", "state", flex=True),
        Column("version", right=True),
        Column("delta", "delta", show=_signed, right=True),
        Column("trigger", flex=True),
        Column("created_at", "created (UTC)", show=when),
        Column("duration_s", "time", show=duration, right=True),
    ]
    ctx.print(table(found, columns))
    return EXIT_OK


def _signed(value: Any) -> str:
    return "-" if not isinstance(value, int | float) else f"{value:+.4f}"


def _state(run: dict[str, Any]) -> str:
    """``queued``; ``running: fit 47%``; ``failed in load``; a finished run's outcome
    (``promoted``, ``kept_champion``, ``rejected``, ``validated`` for a dry run)."""
    if run["status"] == "running":
        fraction = (run.get("progress") or {}).get("fraction")
        done = f" {fraction:.0%}" if isinstance(fraction, (int, float)) else ""
        return f"running: {run['stage']}{done}"
    if run["status"] == "failed":
        return f"failed in {(run.get('error') or {}).get('stage', run['stage'])}"
    return str(run["outcome"] or run["status"])


def _name_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="model name")


def history(ctx: Context) -> int:
    svc = ctx.services()
    name = svc.registry.get(ctx.args.name).name
    entries = [{k: h.get(k) for k in HISTORY_KEYS} for h in svc.models.history(name)]
    if ctx.args.json:
        ctx.json({"model": name, "history": entries})
        return EXIT_OK
    columns = [
        Column("moved_at", "moved (UTC)", show=when),
        Column("previous_version", "from", show=_version, right=True),
        Column("version", "to", show=_version, right=True),
        Column("actor", flex=True),
        Column("reason", flex=True),
    ]
    ctx.print(table(entries, columns))
    return EXIT_OK


COMMANDS = [
    Command("models", "registered classifiers and their champions", models),
    Command("runs", "recent runs, newest first", runs, _runs_arguments),
    Command("history", "who moved a model's champion, when and why", history, _name_argument),
]
