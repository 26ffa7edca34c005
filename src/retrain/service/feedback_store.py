"""Correction batches in the artifact store, apart from everything else (issue 27).

Layout: ``feedback/<MODEL>/<yyyy>/<mm>/<batch_id>.jsonl.gz`` in the models container (or
folder), the month the batch was received. One batch is one object, written create-only:
a reader sees a whole batch or none, and a write cut by a storage fault leaves nothing
behind; the client sends the same batch again. The object is gzip-compressed JSON lines:
the first line describes the batch (who received it when, the content's sha256, what was
refused and why), each further line is one accepted correction (``Correction.to_dict``).
gzip with a fixed mtime: the same batch gives the same bytes.

Why not Parquet: pyarrow adds 161 MB to the app's install (370 -> 531 MB without test
suites, measured like docs/benchmarks.md's footprint), over the 400 MB the app must stay
within. Batches are small (at most FEEDBACK_MAX_RECORDS records); JSON lines read by the
standard library are plenty."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from retrain import strict_json
from retrain.domain.errors import CorruptStateError
from retrain.domain.feedback import Correction
from retrain.domain.ports import AlreadyExists, ObjectStore

PREFIX = "feedback"
SUFFIX = ".jsonl.gz"
FORMAT = 1


@dataclass(frozen=True)
class Batch:
    """A stored batch: its first line (``header``) and its corrections."""

    key: str
    header: dict[str, Any]
    corrections: list[Correction] = field(default_factory=list)

    @property
    def batch_id(self) -> str:
        return str(self.header["batch_id"])

    @property
    def received_at(self) -> str:
        return str(self.header["received_at"])


def key(model: str, batch_id: str, month: date | datetime) -> str:
    return f"{PREFIX}/{model}/{month.year:04d}/{month.month:02d}/{batch_id}{SUFFIX}"


def previous_month(day: date | datetime) -> date:
    index = day.year * 12 + day.month - 2
    return date(index // 12, index % 12 + 1, 1)


def encode(header: dict[str, Any], corrections: list[Correction]) -> bytes:
    lines = [header, *(c.to_dict() for c in corrections)]
    text = "".join(strict_json.dumps(line, sort_keys=True, compact=True) + "\n" for line in lines)
    return gzip.compress(text.encode(), mtime=0)


def decode(data: bytes, where: str) -> Batch:
    """A stored batch; CorruptStateError naming it when it is not one."""
    repair = "move it out of feedback/ (its corrections are then not used)"
    try:
        lines = gzip.decompress(data).decode().splitlines()
        header = json.loads(lines[0])
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError("no batch header")
        for name in ("batch_id", "received_at", "content_sha256"):
            if not isinstance(header.get(name), str):
                raise ValueError(f"header has no {name}")
        if not isinstance(header.get("refused"), list):
            raise ValueError("header has no refused list")
        corrections = [Correction.from_dict(json.loads(line)) for line in lines[1:] if line]
    except (OSError, EOFError, UnicodeDecodeError, IndexError, RecursionError) as exc:
        raise CorruptStateError(
            "correction batch", where, f"not gzip JSON lines: {type(exc).__name__}", repair
        ) from None
    except ValueError as exc:
        raise CorruptStateError("correction batch", where, str(exc)[:120], repair) from None
    return Batch(where, header, corrections)


class FeedbackStore:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def get(self, key: str) -> Batch | None:
        found = self.store.get(key)
        return None if found is None else decode(found.data, key)

    def create(self, key: str, data: bytes) -> Batch | None:
        """Write a batch create-only; None when written, else the batch already stored
        under ``key`` (a resend, or another batch with the same id)."""
        try:
            self.store.create(key, data)
            return None
        except AlreadyExists:
            stored = self.get(key)
            if stored is None:  # deleted in between: try once more
                self.store.create(key, data)
            return stored

    def keys(self, model: str, since: date | None = None) -> list[str]:
        """Batch keys of ``model``, oldest month first; with ``since`` only the months from
        ``since``'s on (a batch received earlier corrects rows older than the window)."""
        prefix = f"{PREFIX}/{model}/"
        found = [k for k in self.store.list(prefix) if k.endswith(SUFFIX)]
        if since is None:
            return found
        first = f"{prefix}{since.year:04d}/{since.month:02d}/"
        return [k for k in found if k[: len(first)] >= first]

    def uri(self, key: str) -> str:
        return self.store.uri(key)
