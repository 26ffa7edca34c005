"""The commands that write: train (or dry-run), promote, demo-data."""

from __future__ import annotations

import argparse
import getpass
from datetime import date
from pathlib import Path

from loguru import logger

from retrain import bootstrap
from retrain.domain.errors import NotFoundError
from retrain.entrypoints.cli import (
    EXIT_OK,
    EXIT_RUN_FAILED,
    EXIT_USAGE,
    Command,
    Context,
    embedded_database,
)
from retrain.entrypoints.cli.results import print_results, run_result
from retrain.entrypoints.whole_numbers import VERSION, argument


def _train_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", "-m", action="append", metavar="NAME", help="repeatable")
    which.add_argument("--all", action="store_true", help="every registered classifier")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="load and validate only: show the data profile and findings, publish nothing",
    )
    parser.add_argument("--reason", default="", help="why (kept in the run record)")


def train(ctx: Context) -> int:
    from retrain.service.runner import execute_run
    from retrain.service.start import start_runs

    _training_db_exists(ctx)
    logger.info("training rows from {}; versions in {}", *where(ctx))
    svc = ctx.services(reads_rows=True)
    args = ctx.args
    names = svc.registry.names() if args.all else args.model
    started = start_runs(svc, names, trigger="cli", reason=args.reason, dry_run=args.dry_run)
    for conflict in started.conflicts:
        ctx.note(f"skipped {conflict.model}: run {conflict.run_id} is already active")
    results = []
    for record in started.runs:
        results.append(execute_run(svc, record.run_id))
        getattr(ctx.progress, "done", lambda: None)()
    if args.json:
        ctx.json(
            {
                "runs": [run_result(r) for r in results],
                "skipped": [{"model": c.model, "run_id": c.run_id} for c in started.conflicts],
            }
        )
    else:
        print_results(ctx, results)
    failed = any(r.status == "failed" for r in results) or bool(started.conflicts)
    return EXIT_RUN_FAILED if failed else EXIT_OK


def where(ctx: Context) -> tuple[str, str]:
    """(training database, artifact store) in words that name no secret."""
    settings = ctx.settings
    url = settings.training_db_url.reveal()
    rows = (
        str(Path(url.removeprefix("sqlite:///")).resolve())
        if url.startswith("sqlite:///")
        else "TRAINING_DB_URL"
    )
    if settings.uses_blob:
        return rows, f"Blob Storage container {settings.artifact_container}"
    return rows, str(settings.artifact_dir.resolve())


def _training_db_exists(ctx: Context) -> None:
    """A SQLite training database is a file: if it is not there, say so instead of
    creating an empty database and failing on a missing table. Only the embedded default
    (RETRAIN_HOME's) gets the demo hint; a file TRAINING_DB_URL names is the user's own."""
    url = ctx.settings.training_db_url.reveal()
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return
    path = Path(url.removeprefix("sqlite:///"))
    if path.exists():
        return
    if embedded_database(ctx.settings):
        raise NotFoundError(
            f"no training database at {path.resolve()} (RETRAIN_HOME={ctx.settings.home}): "
            "write demo rows with `retrain demo-data`, or set TRAINING_DB_URL"
        )
    raise NotFoundError(
        f"no training database at {path.resolve()} (TRAINING_DB_URL): check the path; "
        "nothing was created"
    )


def _promote_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("version", type=argument("version", VERSION))
    parser.add_argument("--reason", required=True, help="why (kept in the history)")


def actor() -> str:
    """``cli:<login name>``: $USER / $LOGNAME, else the account's name."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no such variable and no passwd entry for the uid
        return "cli:unknown"


def promote(ctx: Context) -> int:
    from retrain.service.promote import promote as move

    args = ctx.args
    moved = move(ctx.services(), args.name, args.version, reason=args.reason, actor=actor())
    if args.json:
        ctx.json({k: moved.get(k) for k in ("model", "version", "reason", "actor", "moved_at")})
    else:
        ctx.print(f"{moved['model']} champion is now v{moved['version']} ({moved['reason']})")
    return EXIT_OK


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        help="last day of the generated data (default: today)",
    )


def demo_data(ctx: Context) -> int:
    from retrain.adapters import demo_data as demo

    args = ctx.args
    if args.rows < 100:
        ctx.note("error: --rows must be at least 100")
        return EXIT_USAGE
    note = getattr(ctx.progress, "note", lambda *a: None)
    note("demo-data", f"generating {args.rows:,} rows")
    frame = demo.generate(args.rows, args.seed, args.as_of)
    note("demo-data", f"writing {len(frame):,} rows")
    demo.write(bootstrap.sql_engine(ctx.settings), frame)
    logger.info("wrote {} rows to table {} ({})", len(frame), demo.TABLE, where(ctx)[0])
    return EXIT_OK


COMMANDS = [
    Command(
        "train", "train models now, inline (or --dry-run)", train, _train_arguments, reads=False
    ),
    Command(
        "promote",
        "move the champion alias (promote or roll back)",
        promote,
        _promote_arguments,
        reads=False,
    ),
    Command(
        "demo-data",
        "write generated demo rows into the training database",
        demo_data,
        _demo_arguments,
        offers_json=False,
        reads=False,
    ),
]
