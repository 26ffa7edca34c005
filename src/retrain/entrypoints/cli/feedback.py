"""`retrain feedback MODEL FILE.csv [--dry-run]`: send corrections from a CSV file, through
the same service function as POST /api/models/{name}/feedback (service/feedback.py).

Columns: ``key`` (or the spec's key_column by name) and/or feature columns by name,
``predicted``, ``true_label``, ``who``, ``when`` (ISO 8601 with a zone). An empty cell is a
missing value. The batch id is the file's name and a hash of its content, so sending the same
file again stores nothing twice; a file over FEEDBACK_MAX_RECORDS rows goes as several
batches (``<id>-1``, ``<id>-2``, ...). ``--dry-run`` checks every row and stores nothing."""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
from pathlib import Path
from typing import Any

from retrain.domain.errors import InputFileError
from retrain.domain.feedback import FIELDS, FeedbackError
from retrain.entrypoints.cli import EXIT_OK, EXIT_RUN_FAILED, Command, Context
from retrain.entrypoints.cli.tables import Column, table


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("file", metavar="FILE.csv", type=Path)
    parser.add_argument("--dry-run", action="store_true", help="check every row, store nothing")
    parser.add_argument("--batch-id", help="default: the file's name and a hash of its content")


def read_csv(path: Path, key_column: str | None, features: tuple[str, ...]) -> list[dict]:
    """The file's rows as records of the HTTP body's shape; InputFileError naming what is
    wrong with the file itself (not with a row: rows are checked one by one later)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = list(reader.fieldnames or [])
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        why = str(exc) if isinstance(exc, csv.Error) else type(exc).__name__
        raise InputFileError([f"{path}: cannot be read as UTF-8 CSV ({why})"]) from None
    keys = ["key", *([key_column] if key_column and key_column != "key" else [])]
    unknown = [c for c in columns if c not in {*FIELDS, *keys, *features} - {"features"}]
    if unknown or not columns:
        allowed = ", ".join([*sorted(keys), *features, "predicted", "true_label", "who", "when"])
        raise InputFileError(
            [f"{path}: unknown column(s) {', '.join(unknown[:5]) or '(none)'}; allowed: {allowed}"]
        )
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:  # DictReader would keep the last of them, silently
        raise InputFileError([f"{path}: column(s) {', '.join(twice[:5])} appear more than once"])
    if all(k in columns for k in keys) and len(keys) > 1:
        raise InputFileError([f"{path}: has both {keys[0]} and {keys[1]}: keep one of them"])
    records = []
    for row in rows:
        record: dict[str, Any] = {k: row.get(k) for k in ("predicted", "true_label", "who", "when")}
        key = next((row[k] for k in keys if row.get(k)), None)
        if key:
            record["key"] = key
        given = {c: row[c] for c in features if c in row and row[c] not in (None, "")}
        if given:
            record["features"] = given
        records.append(record)
    return records


def default_batch_id(path: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem)[:60].lstrip("._-") or "file"
    return f"{stem}-{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"


def send(ctx: Context) -> int:
    from retrain.service import feedback

    svc = ctx.services()
    spec = svc.registry.get(ctx.args.model)
    records = read_csv(ctx.args.file, spec.key_column, spec.features.all)
    if not records:
        raise InputFileError([f"{ctx.args.file}: no rows"])
    size = ctx.settings.feedback_max_records
    base = ctx.args.batch_id or default_batch_id(ctx.args.file)
    chunks = [records[i : i + size] for i in range(0, len(records), size)]
    answers = []
    for n, chunk in enumerate(chunks, 1):
        batch = base if len(chunks) == 1 else f"{base}-{n}"
        try:
            answer = feedback.receive(
                svc, spec.name, batch, chunk, max_records=size, dry_run=ctx.args.dry_run
            )
        except FeedbackError as exc:
            answer = {"batch_id": batch, "accepted": 0, "refused": exc.refused, "error": str(exc)}
        for refused in answer["refused"]:  # the file's line: the header is line 1
            refused["line"] = (n - 1) * size + refused["index"] + 2
        answers.append(answer)
    refused_any = any(a["refused"] or a.get("error") for a in answers)
    if ctx.args.json:
        ctx.json({"model": spec.name, "dry_run": ctx.args.dry_run, "batches": answers})
        return EXIT_RUN_FAILED if refused_any else EXIT_OK
    columns = [
        Column("batch_id", "batch", flex=True),
        Column("accepted", right=True),
        Column("unknown_class", "unknown class", right=True),
        Column("refused", show=lambda r: str(len(r)), right=True),
        Column("key", "stored as", flex=True, show=lambda k: k or "-"),
    ]
    shown = [{"unknown_class": 0, "key": None, **a} for a in answers]
    ctx.print(table(shown, columns))
    for answer in answers:
        if answer.get("error"):
            ctx.print(f"{answer['batch_id']}: {answer['error']}")
        for refused in answer["refused"]:
            ctx.print(f"line {refused['line']}: {'; '.join(refused['errors'])}")
    if ctx.args.dry_run:
        ctx.print("dry run: nothing was stored")
    return EXIT_RUN_FAILED if refused_any else EXIT_OK


COMMANDS = [
    Command(
        "feedback",
        "send corrections from a CSV file (key or features, predicted, true_label, who, when)",
        send,
        _arguments,
        reads=False,
    ),
]
