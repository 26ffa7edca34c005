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

Its rows are parsed into typed values (service/derived_rows.py): an entry with a wrong type
is read again from its card. The versions list also compares a few entries with their cards
on every request (``check``: the champion's, the newest and ``RECHECK`` others at random);
where an entry and its card disagree, the card wins, the summary is rewritten, and the list
says the version was mended.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from loguru import logger

from retrain import strict_json
from retrain.domain.errors import NotFoundError, RetrainError
from retrain.domain.ports import AlreadyExists, ObjectStore, PreconditionFailed
from retrain.service.derived_rows import (
    ENTRY_FIELDS,
    GATE_FIELDS,
    entry_of,
    parse_entry,
    parse_move,
)
from retrain.service.parallel import read_all

__all__ = ["ENTRY_FIELDS", "GATE_FIELDS", "entry_of"]  # what lists and tests name from here


class ModelRepository(Protocol):
    """What the summary reads through: the store and a model's verified cards (the
    service's ModelRepository; named here so that this module imports nothing of it)."""

    store: ObjectStore

    def card(self, model: str, version: int) -> dict[str, Any]: ...


SUMMARY = "summary.json"
FORMAT = 1
ATTEMPTS = 8
RECHECK = 2  # entries a versions list compares with their cards, at random, besides two
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
    # shown, never stored: what this read mended (version -> why), and what it read from
    # the cards themselves (nothing to compare those with)
    mended: dict[int, str] = field(default_factory=dict)
    fresh: set[int] = field(default_factory=set)
    dropped: int = 0  # stored entries too broken to tell their version

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
    """A stored summary, or ValueError/TypeError/KeyError if it is not one. An entry or a
    move with a wrong type is left out (its card or history entry is read again), and an
    entry whose version can be told is marked mended."""
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("model") != model:
        raise ValueError("not a summary of this model")
    if not isinstance(data["versions"], list) or not isinstance(data["moves"], dict):
        raise ValueError("'versions' or 'moves' has the wrong type")
    summary = Summary(model)
    for entry in data["versions"]:
        try:
            parsed = parse_entry(entry)
        except ValueError as exc:
            version = entry.get("version") if isinstance(entry, dict) else None
            if isinstance(version, int) and not isinstance(version, bool) and version >= 1:
                summary.mended[version] = (
                    f"its summary entry was not valid ({exc}); read from its card"
                )
            else:
                summary.dropped += 1
            logger.warning(
                "{}/{}: an entry is not valid ({}); read from its card", model, SUMMARY, exc
            )
            continue
        summary.versions[parsed["version"]] = parsed
    for key, move in data["moves"].items():
        try:
            summary.moves[str(key)] = parse_move(move)
        except ValueError:
            continue  # read again from its history entry
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
        return parse_move(json.loads(obj.data))
    except (ValueError, UnicodeDecodeError, RecursionError):
        logger.warning("alias history entry {} is unreadable", key)
        return None


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
            summary.mended.pop(version, None)
        elif entry is not None:
            summary.versions[version] = entry
            summary.fresh.add(version)
            if summary.dropped and version not in summary.mended:
                summary.mended[version] = "the summary held an unreadable entry; read from its card"
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
    summary.mended = {v: why for v, why in summary.mended.items() if v in summary.versions}
    return summary


def stored(repo: ModelRepository, model: str) -> Summary:
    """The summary as stored: one read, no listing (the models list reads 50 of these).
    Only a missing or unreadable one, or one with an entry that is not valid, is healed
    here; a version or move whose summary write was lost shows up once ``read`` (the
    versions list, the history) has healed it."""
    summary, _ = _load(repo, model)
    if summary is None or summary.mended or summary.dropped:  # a bad entry: heal it now
        return read(repo, model)
    return summary


def check(
    repo: ModelRepository,
    summary: Summary,
    first: Iterable[int | None] = (),
    sample: int = RECHECK,
) -> None:
    """Compare entries with their cards, side by side: the versions in ``first`` (those a
    list shows most prominently: the champion's, the newest), and ``sample`` others at
    random. An entry that disagrees with its card is replaced by the card's facts, marked
    mended and written back (compare-and-swap; a lost write is mended again next time); a
    card that is now unreadable is shown as its error. Entries read from their cards in
    this request are not read again."""
    model = summary.model
    candidates = [v for v in sorted(summary.versions) if v not in summary.fresh]
    picked = [v for v in dict.fromkeys(first) if v in candidates]
    rest = [v for v in candidates if v not in picked]
    picked += random.sample(rest, min(sample, len(rest)))
    mends: dict[int, dict[str, Any]] = {}
    for version, entry in zip(
        picked, read_all(lambda v: _card_entry(repo, model, v), picked), strict=True
    ):
        if isinstance(entry, Exception):
            summary.unreadable[version] = problem(entry)
            del summary.versions[version]
        elif entry is not None and entry != summary.versions[version]:
            logger.warning("{}/{}: v{} disagreed with its card; mended", model, SUMMARY, version)
            summary.versions[version] = mends[version] = entry
            summary.mended[version] = (
                "its summary entry disagreed with its card; shown from the card"
            )
        summary.fresh.add(version)
    if mends:
        _update(repo, model, lambda s: s.versions.update(mends))


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
    """``card`` as read back from storage (its JSON decoded), so that the entry equals the
    one a later read makes from the stored card."""
    entry = entry_of(version, card)
    _update(repo, model, lambda s: s.versions.__setitem__(version, entry))


def record_move(repo: ModelRepository, model: str, key: str, entry: dict[str, Any]) -> None:
    _update(repo, model, lambda s: s.moves.__setitem__(key, entry))
