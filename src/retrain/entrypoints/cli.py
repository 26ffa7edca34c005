"""``python -m retrain``: train, inspect, promote, and make demo data. Runs inline (no queue)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import date
from typing import Any

from retrain import bootstrap
from retrain.domain.errors import ConfigError, RetrainError
from retrain.entrypoints import logs

EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m retrain", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train models now, inline")
    which = train.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", "-m", action="append", metavar="NAME", help="repeatable")
    which.add_argument("--all", action="store_true", help="every registered classifier")
    train.add_argument(
        "--dry-run",
        action="store_true",
        help="load and validate only; print the profile, publish nothing",
    )
    train.add_argument("--reason", default="", help="why (kept in the run record)")
    sub.add_parser("models", help="registered classifiers and their champions")
    versions = sub.add_parser("versions", help="versions of a model")
    versions.add_argument("name")
    runs = sub.add_parser("runs", help="recent runs")
    runs.add_argument("--model")
    runs.add_argument("--status", choices=["queued", "running", "succeeded", "failed"])
    runs.add_argument("--limit", type=int, default=20)
    promote = sub.add_parser("promote", help="move the champion alias (promote or roll back)")
    promote.add_argument("name")
    promote.add_argument("version", type=int)
    promote.add_argument("--reason", required=True)
    history = sub.add_parser("history", help="champion alias changes of a model")
    history.add_argument("name")
    console = sub.add_parser("console", help="serve the operator console and the API here")
    console.add_argument("--host", default="127.0.0.1", help="address to listen on")
    console.add_argument("--port", type=int, default=7071)
    demo = sub.add_parser("demo-data", help="write generated demo rows into the training DB")
    demo.add_argument("--rows", type=int, default=40_000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        help="last day of the generated data (default: today)",
    )
    return parser


def table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max([len(col), *(len(c[i]) for c in cells)]) for i, col in enumerate(columns)]
    lines = ["  ".join(col.ljust(w) for col, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None) -> int:
    args = _parser().parse_args(argv)
    environ = dict(os.environ if env is None else env)
    try:
        settings = bootstrap.load_settings(environ)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logs.configure(settings.log_level, settings.log_format, settings.secrets())
    try:
        if args.command == "demo-data":
            return _demo_data(settings, args)
        if args.command == "console":
            from retrain.entrypoints.local_server import serve

            serve(args.host, args.port, settings=settings)
            return EXIT_OK
        svc = bootstrap.build(settings)
        return COMMANDS[args.command](svc, args)
    except RetrainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_RUN_FAILED


def _train(svc: Any, args: argparse.Namespace) -> int:
    from retrain.service.report import outcome_words
    from retrain.service.runner import execute_run
    from retrain.service.start import start_runs

    names = svc.registry.names() if args.all else args.model
    started = start_runs(svc, names, trigger="cli", reason=args.reason, dry_run=args.dry_run)
    for conflict in started.conflicts:
        print(f"skipped {conflict.model}: run {conflict.run_id} is already active", file=sys.stderr)
    results = [execute_run(svc, record.run_id) for record in started.runs]
    rows = []
    for r in results:
        s = r.summary
        rows.append(
            {
                "model": r.model,
                "version": r.version,
                "outcome": outcome_words(r),
                "rows": s.get("rows_loaded"),
                "metric": s.get("metric"),
                "score": s.get("score"),
                "champion": s.get("champion_score"),
                "duration_s": r.duration_s,
                "note": (r.error or {}).get("message") or s.get("gate_reason", ""),
            }
        )
        if args.dry_run and "profile" in s:
            print(f"profile of {r.model}:")
            print(json.dumps({"profile": s["profile"], "findings": s["findings"]}, indent=2))
    print(
        table(
            rows,
            [
                "model",
                "version",
                "outcome",
                "rows",
                "metric",
                "score",
                "champion",
                "duration_s",
                "note",
            ],
        )
    )
    failed = any(r.status == "failed" for r in results) or bool(started.conflicts)
    return EXIT_RUN_FAILED if failed else EXIT_OK


def _models(svc: Any, args: argparse.Namespace) -> int:
    from retrain.service.queries import list_models

    print(
        table(
            list_models(svc),
            [
                "name",
                "champion_version",
                "primary_metric",
                "champion_score",
                "versions",
                "active_run",
                "description",
            ],
        )
    )
    return EXIT_OK


def _versions(svc: Any, args: argparse.Namespace) -> int:
    from retrain.service.queries import list_versions

    print(
        table(
            list_versions(svc, args.name),
            ["version", "status", "champion", "metric", "score", "created_at", "run_id"],
        )
    )
    return EXIT_OK


def _runs(svc: Any, args: argparse.Namespace) -> int:
    records = svc.runs.list(model=args.model, status=args.status, limit=args.limit)
    print(
        table(
            [{**r.to_dict(), "duration_s": r.duration_s} for r in records],
            ["run_id", "status", "stage", "outcome", "version", "trigger", "duration_s"],
        )
    )
    return EXIT_OK


def _promote(svc: Any, args: argparse.Namespace) -> int:
    from retrain.service.promote import promote

    actor = f"cli:{os.environ.get('USER', 'unknown')}"
    moved = promote(svc, args.name, args.version, reason=args.reason, actor=actor)
    print(f"{moved['model']} champion is now v{moved['version']} ({moved['reason']})")
    return EXIT_OK


def _history(svc: Any, args: argparse.Namespace) -> int:
    svc.registry.get(args.name)
    print(
        table(
            svc.models.history(args.name),
            ["moved_at", "previous_version", "version", "actor", "reason"],
        )
    )
    return EXIT_OK


def _demo_data(settings: Any, args: argparse.Namespace) -> int:
    from loguru import logger

    from retrain.adapters import demo_data

    if args.rows < 100:
        print("error: --rows must be at least 100", file=sys.stderr)
        return EXIT_USAGE
    frame = demo_data.generate(args.rows, args.seed, args.as_of)
    demo_data.write(bootstrap.sql_engine(settings), frame)
    logger.info("wrote {} rows to table {}", len(frame), demo_data.TABLE)
    return EXIT_OK


COMMANDS = {
    "train": _train,
    "models": _models,
    "versions": _versions,
    "runs": _runs,
    "promote": _promote,
    "history": _history,
}
