"""``retrain`` (or ``python -m retrain``): train, inspect, compare, promote; make demo data.
Runs inline, no queue. Every read command takes ``--json`` (keys documented in docs/cli.md)
and creates nothing; results go to stdout, logs and progress to stderr.

A command is one entry of ``COMMANDS`` (name, help, arguments, function): adding a
subcommand is adding an entry."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from retrain import __version__, bootstrap, strict_json
from retrain.config import Settings
from retrain.domain.errors import ConfigError, RetrainError
from retrain.domain.ports import NoProgress
from retrain.entrypoints import logs

EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE = 0, 1, 2


@dataclass
class Context:
    """What a command gets: its arguments, settings, streams and the services (built on
    first use)."""

    args: argparse.Namespace
    settings: Settings
    out: TextIO
    err: TextIO
    progress: Any = field(default_factory=NoProgress)
    _services: Any = None

    def services(self, *, reads_rows: bool = False) -> Any:
        """The app's services; a command that reads no training rows gets no database
        connection (and SQLite's file is not created)."""
        if self._services is None:
            source = None if reads_rows else _NoRows()
            self._services = bootstrap.build(self.settings, source=source)
            self._services.progress = self.progress
        return self._services

    def json(self, data: Any) -> None:
        text = strict_json.dumps(data, indent=2, ensure_ascii=False)
        self.out.write(text + "\n")

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def note(self, text: str) -> None:
        self.err.write(text + "\n")


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: Callable[[Context], int]
    arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None
    offers_json: bool = True
    reads: bool = True  # creates nothing; says so when nothing is stored yet


class _NoRows:
    """The training source of commands that never read training rows."""

    def load(self, *args: Any, **kwargs: Any) -> Any:
        raise ConfigError(["this command reads no training rows"])

    def count_before(self, *args: Any, **kwargs: Any) -> Any:
        raise ConfigError(["this command reads no training rows"])

    def ping(self) -> None:
        pass


ORDER = (
    *("train", "models", "versions", "card", "diff", "runs", "stats", "decay", "history"),
    *("promote", "approve", "reject"),
)


def _commands() -> list[Command]:
    """Every subcommand: each module lists its own in ``COMMANDS``; shown in ORDER, then
    the rest (a new module's commands only need adding here)."""
    from retrain.entrypoints.cli import approval, console, decay, inspect, stats, train, versions
    from retrain.entrypoints.cli import feedback as feedback_cli

    found = [
        *train.COMMANDS,
        *inspect.COMMANDS,
        *versions.COMMANDS,
        *stats.COMMANDS,
        *decay.COMMANDS,
        *console.COMMANDS,
        *approval.COMMANDS,
        *feedback_cli.COMMANDS,
    ]
    return sorted(found, key=lambda c: ORDER.index(c.name) if c.name in ORDER else len(ORDER))


def parser(commands: Sequence[Command]) -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="retrain",
        description="Train, version and promote classifiers (docs/cli.md).",
    )
    top.add_argument("--version", action="version", version=f"retrain {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in commands:
        one = sub.add_parser(command.name, help=command.help, description=command.help)
        command.arguments(one)
        if command.offers_json:
            one.add_argument(
                "--json", action="store_true", help="one JSON document on stdout (docs/cli.md)"
            )
        one.add_argument(
            "--quiet", "-q", action="store_true", help="no progress, only warnings and errors"
        )
    return top


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None) -> int:
    commands = _commands()
    args = parser(commands).parse_args(argv)
    command = next(c for c in commands if c.name == args.command)
    environ = dict(os.environ if env is None else env)
    try:
        settings = bootstrap.load_settings(environ)
    except ConfigError as exc:
        return _failed(args, exc, EXIT_USAGE)
    progress = _progress(args)
    level = "WARNING" if args.quiet and settings.log_level in ("TRACE", "DEBUG", "INFO") else None
    logs.configure(
        level or settings.log_level,
        settings.log_format,
        settings.secrets(),
        stream=progress if progress is not None else None,
        environment=settings.environment,
    )
    ctx = Context(args, settings, sys.stdout, sys.stderr)
    if progress is not None:
        ctx.progress = progress
    try:
        if command.reads:
            _say_if_nothing_stored(ctx)
        if progress is None:
            return command.run(ctx)
        with progress:
            return command.run(ctx)
    except RetrainError as exc:
        return _failed(args, exc, EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_RUN_FAILED)


def _progress(args: argparse.Namespace) -> Any:
    """A live progress line when both stdout and stderr are terminals and not --quiet."""
    if args.quiet or not (sys.stdout.isatty() and sys.stderr.isatty()):
        return None
    from retrain.entrypoints.cli.progress import TerminalProgress

    return TerminalProgress(sys.stderr)


def _failed(args: argparse.Namespace, exc: RetrainError, code: int) -> int:
    print(f"error: {exc}", file=sys.stderr)
    if getattr(args, "json", False):
        print(strict_json.dumps({"error": {"code": exc.code, "message": str(exc)}}, indent=2))
    return code


def embedded_database(settings: Settings) -> bool:
    """Whether the training database is the embedded SQLite default (RETRAIN_HOME's
    training.db, where `retrain demo-data` writes) rather than one TRAINING_DB_URL names."""
    return settings.training_db_url.reveal() == f"sqlite:///{settings.home / 'training.db'}"


def _say_if_nothing_stored(ctx: Context) -> None:
    """Run from another folder, the default home (./.retrain) is usually not there: say
    which home was looked in and how to make one, and create nothing. With a training
    database of one's own, demo rows are no advice: the first training run makes the
    folder."""
    settings = ctx.settings
    if settings.uses_blob or settings.artifact_dir.exists():
        return
    if not embedded_database(settings):
        ctx.note(
            f"note: nothing trained yet in {settings.artifact_dir.resolve()} "
            f"(RETRAIN_HOME={settings.home}, from {Path.cwd()}); the first `retrain train` "
            "creates it."
        )
        return
    ctx.note(
        f"note: nothing stored yet in {settings.artifact_dir.resolve()} "
        f"(RETRAIN_HOME={settings.home}, from {Path.cwd()}). Make demo data and train with "
        "`retrain demo-data` and `retrain train --all`, or set RETRAIN_HOME to an existing home."
    )
