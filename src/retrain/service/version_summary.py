"""A small per-model summary of its versions: what lists read instead of every card.

``<MODEL>/summary.json`` holds, per complete version, the few facts lists and charts show
(status, scores, gate decision, rows, when, which run) and which versions ever served as
champion. It is derived state: publish and promote add to it (ETag compare-and-swap, merged
on retry), and every read checks it against one listing of the versions, so a version whose
summary write was lost or raced is read from its card and added back. A missing or
unreadable summary is rebuilt from the cards and the alias history. A summary problem never
fails a publish or a promote and never hides a version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loguru import logger

from retrain.domain.errors import NotFoundError, RetrainError
from retrain.domain.ports import AlreadyExists, PreconditionFailed

if TYPE_CHECKING:
    from retrain.service.model_repository import ModelRepository

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
# a card that cannot be read is shown, never stored: its entry is re-read next time
UNREADABLE = (RetrainError, ValueError, KeyError, TypeError)


@dataclass
class Summary:
    model: str
    versions: dict[int, dict[str, Any]] = field(default_factory=dict)
    served: set[int] = field(default_factory=set)
    unreadable: dict[int, dict[str, str]] = field(default_factory=dict)  # version -> error

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "model": self.model,
            "versions": [self.versions[v] for v in sorted(self.versions)],
            "served": sorted(self.served),
        }


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
    summary.served = {int(v) for v in data["served"]}
    return summary


def _load(repo: ModelRepository, model: str) -> tuple[Summary | None, str | None]:
    """(summary, etag); (None, None) if missing; (None, etag) if unreadable."""
    obj = repo.store.get(f"{model}/{SUMMARY}")
    if obj is None:
        return None, None
    try:
        return _parse(model, json.loads(obj.data)), obj.etag
    except (ValueError, TypeError, KeyError, UnicodeDecodeError, RecursionError):
        logger.warning("{}/{} is unreadable; rebuilding it from the cards", model, SUMMARY)
        return None, obj.etag


def _rebuild(repo: ModelRepository, model: str) -> Summary:
    """From the alias history (who served); cards are read by ``_complete``."""
    summary = Summary(model)
    try:
        for entry in repo.history(model):
            if isinstance(entry, dict) and isinstance(entry.get("version"), int):
                summary.served.add(entry["version"])
    except UNREADABLE as exc:
        logger.warning("{}: alias history unreadable while rebuilding the summary: {}", model, exc)
    return summary


def _complete(repo: ModelRepository, summary: Summary, versions: list[int]) -> bool:
    """Add the listed versions the summary lacks, from their cards. True if any was added."""
    added = False
    for version in versions:
        if version in summary.versions:
            continue
        try:
            summary.versions[version] = entry_of(version, repo.card(summary.model, version))
            added = True
        except NotFoundError:
            continue
        except UNREADABLE as exc:
            summary.unreadable[version] = problem(exc)
    return added


def _save(repo: ModelRepository, summary: Summary, etag: str | None) -> None:
    data = json.dumps(summary.to_json(), sort_keys=True, separators=(",", ":")).encode()
    key = f"{summary.model}/{SUMMARY}"
    if etag is None:
        repo.store.create(key, data)
    else:
        repo.store.replace(key, data, etag)


def read(repo: ModelRepository, model: str, champion: int | None = None) -> Summary:
    """The summary of every complete version (one listing, one read; cards only for versions
    the summary lacks), healed in place when something was missing."""
    versions = repo.versions(model)
    summary, etag = _load(repo, model)
    rebuilt = summary is None
    if summary is None:
        summary = _rebuild(repo, model)
    changed = _complete(repo, summary, versions) or rebuilt
    if champion is not None and champion in versions and champion not in summary.served:
        summary.served.add(champion)
        changed = True
    listed = set(versions)
    if changed:
        try:
            _save(repo, summary, etag)
        except (AlreadyExists, PreconditionFailed):
            pass  # someone else wrote it meanwhile: theirs is as good, ours is returned
        except RetrainError as exc:
            logger.warning("{}: could not store the healed summary: {}", model, exc)
    summary.versions = {v: e for v, e in summary.versions.items() if v in listed}
    return summary


def _update(repo: ModelRepository, model: str, change: Any) -> None:
    """Read (or rebuild), apply ``change``, write with compare-and-swap; retry on a lost
    race. Never raises: the next read heals whatever this could not write."""
    try:
        for _ in range(ATTEMPTS):
            summary, etag = _load(repo, model)
            if summary is None:
                summary = _rebuild(repo, model)
                _complete(repo, summary, repo.versions(model))
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


def record_served(repo: ModelRepository, model: str, version: int) -> None:
    _update(repo, model, lambda s: s.served.add(version))
