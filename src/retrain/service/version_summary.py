"""A small per-model summary: what lists and the console read instead of every card and
every alias-history entry.

``<MODEL>/summary.json`` holds, per complete version, the few facts lists and charts show
(status, scores, gate decision, rows, when, which run), and a copy of each alias-history
entry (which versions served, who moved the alias and why). It is derived state: publish and
promote add to it (ETag compare-and-swap, merged again on a lost race), and every read checks
it against one listing of the model's folder, so a version or a move whose summary write was
lost is read from its own object and added back. A missing or unreadable summary is rebuilt
from the cards and the history. A summary problem never fails a publish or a promote, and
never hides a version or a move.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from loguru import logger

from retrain import strict_json
from retrain.domain.errors import NotFoundError, RetrainError
from retrain.domain.ports import AlreadyExists, ObjectStore, PreconditionFailed
from retrain.service.parallel import read_all


class ModelRepository(Protocol):
    """What the summary reads through: the store and a model's verified cards (the
    service's ModelRepository; named here so that this module imports nothing of it)."""

    store: ObjectStore

    def card(self, model: str, version: int) -> dict[str, Any]: ...


SUMMARY = "summary.json"
FORMAT = 1
ATTEMPTS = 8
GATE_FIELDS = (
    *("outcome", "reason", "metric", "candidate", "champion", "champion_version"),
    *("delta", "floor", "tolerance"),
)
ENTRY_FIELDS = (
    *("version", "status", "created_at", "run_id", "primary_metric", "metrics"),
    *("rows", "gate"),
)
# an object that cannot be read is shown, never stored: it is read again next time
UNREADABLE = (RetrainError, ValueError, KeyError, TypeError)
_VERSION_FILE = re.compile(r"^[^/]+/versions/(\d+)/([^/]+)$")


@dataclass
class Summary:
    model: str
    versions: dict[int, dict[str, Any]] = field(default_factory=dict)
    moves: dict[str, dict[str, Any]] = field(default_factory=dict)  # history key -> entry
    unreadable: dict[int, dict[str, str]] = field(default_factory=dict)  # version -> error
    unreadable_moves: set[str] = field(default_factory=set)

    @property
    def served(self) -> set[int]:
        """Versions the alias ever pointed at."""
        return {m["version"] for m in self.moves.values() if isinstance(m.get("version"), int)}

    def history(self) -> list[dict[str, Any]]:
        """The alias history, oldest first (keys start with the time of the move)."""
        keys = sorted(set(self.moves) | self.unreadable_moves)
        return [self.moves.get(k) or {"key": k, "error": "unreadable"} for k in keys]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "model": self.model,
            "versions": [self.versions[v] for v in sorted(self.versions)],
            "moves": dict(sorted(self.moves.items())),
        }


@dataclass(frozen=True)
class Listing:
    """One listing of ``<MODEL>/``: the complete versions and the history keys."""

    versions: list[int]
    moves: list[str]


def problem(exc: Exception) -> dict[str, str]:
    """An unreadable object as the API shows it: a code and a message naming it."""
    code = exc.code if isinstance(exc, RetrainError) else "corrupt_state"
    return {"code": code, "message": str(exc) or type(exc).__name__}


def entry_of(version: int, card: dict[str, Any]) -> dict[str, Any]:
    """The facts of one version that lists show: small, and immutable like the card."""
    metrics = card.get("metrics")
    gate = card.get("gate")
    rows = card.get("rows")
    return {
        "version": version,
        "status": card.get("status"),
        "created_at": card.get("created_at"),
        "run_id": card.get("run_id"),
        "primary_metric": card.get("primary_metric"),
        "metrics": {
            k: v
            for k, v in (metrics.items() if isinstance(metrics, dict) else ())
            if isinstance(v, int | float) and not isinstance(v, bool)
        },
        "rows": rows if isinstance(rows, dict) else None,
        "gate": {k: gate.get(k) for k in GATE_FIELDS} if isinstance(gate, dict) else None,
    }


def listing(repo: ModelRepository, model: str) -> Listing:
    files: dict[int, set[str]] = {}
    moves = []
    for key in repo.store.list(f"{model}/"):
        if m := _VERSION_FILE.match(key):
            files.setdefault(int(m[1]), set()).add(m[2])
        elif key.startswith(f"{model}/history/") and key.endswith(".json"):
            moves.append(key)
    complete = sorted(n for n, names in files.items() if {"card.json", "model.skops"} <= names)
    return Listing(complete, sorted(moves))


def _parse(model: str, data: Any) -> Summary:
    """A stored summary, or ValueError/TypeError/KeyError if it is not one."""
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("model") != model:
        raise ValueError("not a summary of this model")
    summary = Summary(model)
    for entry in data["versions"]:
        version = entry["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError("bad version number")
        if set(ENTRY_FIELDS) - set(entry) or not isinstance(entry["metrics"], dict):
            raise ValueError(f"entry of version {version} is incomplete")
        summary.versions[version] = entry
    for key, move in data["moves"].items():
        if not isinstance(move, dict):
            raise ValueError("bad alias move")
        summary.moves[str(key)] = move
    return summary


def _load(repo: ModelRepository, model: str) -> tuple[Summary | None, str | None]:
    """(summary, etag); (None, None) if missing; (None, etag) if unreadable."""
    obj = repo.store.get(f"{model}/{SUMMARY}")
    if obj is None:
        return None, None
    try:
        return _parse(model, json.loads(obj.data)), obj.etag
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError, RecursionError):
        logger.warning("{}/{} is unreadable; rebuilding it from the cards", model, SUMMARY)
        return None, obj.etag


def _card_entry(repo: ModelRepository, model: str, version: int) -> Any:
    try:
        return entry_of(version, repo.card(model, version))
    except NotFoundError:
        return None
    except UNREADABLE as exc:
        return exc


def _move(repo: ModelRepository, key: str) -> dict[str, Any] | None:
    obj = repo.store.get(key)
    if obj is None:
        return None
    try:
        entry = json.loads(obj.data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        logger.warning("alias history entry {} is unreadable", key)
        return None
    return entry if isinstance(entry, dict) else None


def _complete(repo: ModelRepository, summary: Summary, found: Listing) -> bool:
    """Add the listed versions and moves the summary lacks, from their own objects (read
    side by side). True if anything was added."""
    model = summary.model
    missing = [v for v in found.versions if v not in summary.versions]
    for version, entry in zip(
        missing, read_all(lambda v: _card_entry(repo, model, v), missing), strict=True
    ):
        if isinstance(entry, Exception):
            summary.unreadable[version] = problem(entry)
        elif entry is not None:
            summary.versions[version] = entry
    keys = [k for k in found.moves if k not in summary.moves]
    for key, move in zip(keys, read_all(lambda k: _move(repo, k), keys), strict=True):
        if move is None:
            summary.unreadable_moves.add(key)
        else:
            summary.moves[key] = move
    return any(v in summary.versions for v in missing) or any(k in summary.moves for k in keys)


def _save(repo: ModelRepository, summary: Summary, etag: str | None) -> None:
    data = strict_json.dumps(summary.to_json(), sort_keys=True, compact=True).encode()
    key = f"{summary.model}/{SUMMARY}"
    if etag is None:
        repo.store.create(key, data)
    else:
        repo.store.replace(key, data, etag)


def read(repo: ModelRepository, model: str) -> Summary:
    """The summary of every complete version and every alias move: one listing and one read
    (plus the objects the summary lacks), healed in place when something was missing."""
    found = listing(repo, model)
    summary, etag = _load(repo, model)
    rebuilt = summary is None
    if summary is None:
        summary = Summary(model)
    nothing_stored = not (found.versions or found.moves)  # a read never creates a folder
    if (_complete(repo, summary, found) or rebuilt) and not nothing_stored:
        try:
            _save(repo, summary, etag)
        except (AlreadyExists, PreconditionFailed):
            pass  # someone else wrote it meanwhile: theirs is as good; ours is returned
        except RetrainError as exc:
            logger.warning("{}: could not store the healed summary: {}", model, exc)
    listed, moves = set(found.versions), set(found.moves)
    summary.versions = {v: e for v, e in summary.versions.items() if v in listed}
    summary.moves = {k: m for k, m in summary.moves.items() if k in moves}
    return summary


def stored(repo: ModelRepository, model: str) -> Summary:
    """The summary as stored: one read, no listing (the models list reads 50 of these).
    Only a missing or unreadable one is rebuilt here; a version or move whose summary write
    was lost shows up once ``read`` (the versions list, the history) has healed it."""
    summary, _ = _load(repo, model)
    return summary if summary is not None else read(repo, model)


def _update(repo: ModelRepository, model: str, change: Any) -> None:
    """Read (or rebuild), apply ``change``, write with compare-and-swap; retry on a lost
    race. Never raises: the next read heals whatever this could not write."""
    try:
        for _ in range(ATTEMPTS):
            summary, etag = _load(repo, model)
            if summary is None:
                summary = Summary(model)
                _complete(repo, summary, listing(repo, model))
            change(summary)
            try:
                _save(repo, summary, etag)
                return
            except (AlreadyExists, PreconditionFailed):
                continue
        logger.warning(
            "{}: summary busy after {} attempts; the next read heals it", model, ATTEMPTS
        )
    except Exception as exc:  # derived state: never fail the write it follows
        logger.warning("{}: could not update the summary ({}); the next read heals it", model, exc)


def record_version(repo: ModelRepository, model: str, version: int, card: dict[str, Any]) -> None:
    entry = entry_of(version, card)
    _update(repo, model, lambda s: s.versions.__setitem__(version, entry))


def record_move(repo: ModelRepository, model: str, key: str, entry: dict[str, Any]) -> None:
    _update(repo, model, lambda s: s.moves.__setitem__(key, entry))
