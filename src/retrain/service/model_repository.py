"""Versions, champion alias and alias history, on any ObjectStore.

Layout (DESIGN.md):
  <MODEL>/versions/<n>/model.skops   artifact, create-only
  <MODEL>/versions/<n>/card.json     model card, create-only
  <MODEL>/champion.json              alias -> version, moved with ETag compare-and-swap
  <MODEL>/history/<ts>-<n>.json      append-only alias changes

Artifacts carry the lifecycle tag ``status`` (service/lifecycle.py): the gate's outcome at
publish, ``champion`` / ``former_champion`` as the alias moves.

A stored version proves it is the one asked for (service/version_identity.py): its card
names its model, its version and its artifact's key, and the identity embedded in the
artifact names the card's model, version and run. A folder holding another version's or
another model's card or artifact is a CorruptStateError naming the object: never a loaded
model, never a champion.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from loguru import logger

from retrain.domain.errors import ConflictError, CorruptStateError, NotFoundError
from retrain.domain.ports import AlreadyExists, ObjectStore, PreconditionFailed
from retrain.domain.runs import iso, utcnow
from retrain.service import lifecycle, stored, version_identity, version_summary
from retrain.service.lifecycle import ArtifactStatus
from retrain.training import serialize

ARTIFACT = "model.skops"
CARD = "card.json"
_VERSION_KEY = re.compile(r"^[^/]+/versions/(\d+)/")


_json = stored.dumps


@dataclass(frozen=True)
class Champion:
    """The alias as read. ``version`` is None when the stored alias is unreadable: only a
    promote (``expected=`` this, naming the problem in ``record["unreadable"]``) may
    overwrite it."""

    version: int | None
    record: dict[str, Any]
    etag: str


def _alias(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError("'version' is not a version number")
    return data


def _card(data: Any) -> dict[str, Any]:
    artifact = data.get("artifact") if isinstance(data, dict) else None
    if not (
        isinstance(artifact, dict)
        and isinstance(artifact.get("path"), str)
        and isinstance(artifact.get("sha256"), str)
        and isinstance(artifact.get("size_bytes"), int)
    ):
        raise ValueError("not a model card (no artifact path, sha256 and size)")
    return data


class ModelRepository:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    # versions -------------------------------------------------------------------------
    def _files_by_version(self, model: str) -> dict[int, set[str]]:
        """One listing: version number -> the file names stored under it."""
        found: dict[int, set[str]] = {}
        for key in self.store.list(f"{model}/versions/"):
            if m := _VERSION_KEY.match(key):
                found.setdefault(int(m[1]), set()).add(key.rsplit("/", 1)[1])
        return found

    def versions(self, model: str) -> list[int]:
        """Complete versions (card and artifact written), ascending."""
        files = self._files_by_version(model)
        return sorted(n for n, names in files.items() if {CARD, ARTIFACT} <= names)

    def publish(self, model: str, artifact: bytes, card: dict[str, Any]) -> tuple[int, dict]:
        """Store an immutable new version; return its number and the completed card.

        The card (it names the run and the artifact's sha256) claims the number with a
        create-only write, so two publishers never share one. A conflict whose stored bytes
        equal ours is our own earlier attempt whose answer was lost: it counts as success.
        Any other conflict tries the next number. The artifact follows, create-only too, with
        its identity (model, this version, the card's run) inside; a version counts only once
        both exist. A card of the same run without its artifact (an earlier attempt stopped in
        between: storage failed) is that run's claim: the retry completes that version instead
        of leaving it half-written for good."""
        files = self._files_by_version(model)
        version = max(files, default=0) + 1
        for number in sorted(n for n, names in files.items() if ARTIFACT not in names):
            half = self.store.get(f"{model}/versions/{number}/{CARD}")
            if half is not None and self._half_published(model, number, half, card):
                version = number  # this run's earlier attempt stopped there: complete it
                break
        while True:
            stamped = version_identity.stamped(model, version, artifact, card)
            full = self._complete_card(model, version, stamped, card)
            data = _json(full)
            key = f"{model}/versions/{version}/{CARD}"
            try:
                self.store.create(key, data)
                break
            except AlreadyExists:
                existing = self.store.get(key)
                if existing is not None and existing.data == data:
                    break
                if existing is not None and self._half_published(model, version, existing, card):
                    try:  # our run's earlier attempt stopped before the artifact: complete it
                        self.store.replace(key, data, existing.etag)
                        break
                    except PreconditionFailed:
                        pass  # changed meanwhile: not ours to complete
                version += 1
        key = self._artifact(model, version)
        try:
            self.store.create(key, stamped)
        except AlreadyExists:
            existing = self.store.get(key)
            if existing is None or existing.data != stamped:
                raise ConflictError(f"{key} exists with other bytes than its card claims") from None
        self._tag_published(model, key, full)
        version_summary.record_version(self, model, version, json.loads(data))  # as stored
        return version, full

    def _half_published(
        self, model: str, version: int, existing: Any, card: dict[str, Any]
    ) -> bool:
        """``existing`` is a card an earlier attempt of the same run wrote before storage
        failed, with no artifact after it: a claim that run may complete, not a version."""
        run_id = card.get("run_id")
        try:
            claimed = json.loads(existing.data).get("run_id")
        except (ValueError, AttributeError, UnicodeDecodeError, RecursionError):
            return False
        return (
            isinstance(run_id, str)
            and claimed == run_id
            and self.store.get(self._artifact(model, version)) is None
        )

    def _tag_published(self, model: str, key: str, card: dict[str, Any]) -> None:
        """The new artifact's lifecycle tag, and the current champion's once more (heals a
        champion tag that was lost or overtaken). Best effort, never raises."""
        if not lifecycle.taggable(self.store):
            return
        if (status := lifecycle.of_card(card)) is not None:
            lifecycle.mark(self.store, key, status)
        try:
            champion = self.champion(model)
        except Exception as exc:  # an unreadable alias is the run's business, not the tag's
            logger.warning("{}: champion not re-tagged: {}", model, type(exc).__name__)
            return
        if champion is not None and champion.version is not None:
            lifecycle.mark(
                self.store, self._artifact(model, champion.version), ArtifactStatus.CHAMPION
            )

    @staticmethod
    def _artifact(model: str, version: int) -> str:
        return f"{model}/versions/{version}/{ARTIFACT}"

    def _complete_card(
        self, model: str, version: int, artifact: bytes, card: dict[str, Any]
    ) -> dict[str, Any]:
        key = self._artifact(model, version)
        return {
            **card,
            "model": model,
            "version": version,
            "artifact": {
                "path": key,
                "uri": self.store.uri(key),
                "sha256": serialize.sha256(artifact),
                "size_bytes": len(artifact),
                "format": "skops",
            },
        }

    def summary(self, model: str) -> version_summary.Summary:
        """Every complete version's list facts and every alias move, without reading every
        card and history entry (service/version_summary.py)."""
        return version_summary.read(self, model)

    def card(self, model: str, version: int) -> dict[str, Any]:
        """``model`` v``version``'s card, checked to be that version's: CorruptStateError
        (naming the card) if it is unreadable or names another model, version or artifact."""
        key = f"{model}/versions/{version}/{CARD}"
        obj = self.store.get(key)
        if obj is None:
            raise NotFoundError(f"{model} has no version {version}")
        card = stored.parse(obj, "model card", key, _card)
        problem = version_identity.card_problem(
            card, model, version, self._artifact(model, version)
        )
        if problem is not None:
            raise CorruptStateError(
                "model card",
                key,
                problem,
                "cards are written once: restore the card this version was published with",
                verdict="is not this version's card",
            )
        return card

    def version_of_run(self, model: str, run_id: str, newest: int = 5) -> int | None:
        """The complete version ``run_id`` published, among the newest few: a retried or
        taken-over run adopts it instead of publishing a second one."""
        for version in reversed(self.versions(model)[-newest:]):
            try:
                if self.card(model, version).get("run_id") == run_id:
                    return version
            except CorruptStateError:
                continue
        return None

    def serving(self, model: str) -> tuple[int, str]:
        """The champion's version and the alias's ETag; NotFoundError when there is none."""
        champion = self.champion(model)
        if champion is None or champion.version is None:
            raise NotFoundError(f"{model} has no champion yet: train it first")
        return champion.version, champion.etag

    def load(self, model: str, version: int | None = None) -> tuple[Any, dict[str, Any]]:
        """The fitted pipeline and its card: the champion's, or a given version's.
        Before loading: the card names this model and version (``card``), the artifact's
        size and sha256 match the card (ArtifactIntegrityError), and the identity inside the
        artifact names the card's model, version and run (CorruptStateError)."""
        if version is None:
            version, _ = self.serving(model)
        card = self.card(model, version)
        key = self._artifact(model, version)  # the card's artifact path: checked by card()
        obj = self.store.get(key)
        if obj is None:
            raise NotFoundError(f"{model} v{version}: artifact missing")
        serialize.verify(obj.data, card["artifact"]["sha256"], card["artifact"]["size_bytes"])
        version_identity.check_artifact(obj.data, key, card)
        return serialize.load_trusted(obj.data), card

    # champion alias ---------------------------------------------------------------------
    def champion(self, model: str) -> Champion | None:
        """The alias; CorruptStateError (naming it and how to repair it) if unreadable."""
        key = f"{model}/champion.json"
        obj = self.store.get(key)
        if obj is None:
            return None
        repair = f"repair it by promoting a version: retrain promote {model} <version> --reason ..."
        record = stored.parse(obj, "champion alias", key, _alias, repair)
        return Champion(record["version"], record, obj.etag)

    def champion_for_update(self, model: str) -> Champion | None:
        """The alias for a promote: an unreadable one comes back with ``version`` None, so
        the promote can replace it (compare-and-swap on its ETag) and say so in the history."""
        try:
            return self.champion(model)
        except CorruptStateError as exc:
            obj = self.store.get(f"{model}/champion.json")
            if obj is None:
                return None
            return Champion(None, {"unreadable": str(exc)}, obj.etag)

    def move_champion(
        self,
        model: str,
        version: int,
        *,
        reason: str,
        actor: str,
        expected: Champion | None,
        run_id: str | None = None,
        score: float | None = None,
    ) -> dict[str, Any]:
        """Point the alias at ``version`` if it still is what ``expected`` says (ETag CAS);
        append the change to the history. Lost race -> ConflictError, nothing changed."""
        now = iso(utcnow())
        record = {
            "model": model,
            "version": version,
            "reason": reason,
            "actor": actor,
            "run_id": run_id,
            "score": score,
            "moved_at": now,
        }
        try:
            self.store.replace(
                f"{model}/champion.json", _json(record), expected.etag if expected else None
            )
        except PreconditionFailed:
            raise ConflictError(
                f"{model}: the champion alias changed while this run worked; v{version} was "
                "stored but not promoted. Promote it explicitly if it should serve."
            ) from None
        lifecycle.mark(self.store, self._artifact(model, version), ArtifactStatus.CHAMPION)
        if expected is not None and expected.version not in (None, version):
            lifecycle.mark(
                self.store, self._artifact(model, expected.version), ArtifactStatus.FORMER_CHAMPION
            )
        entry = {**record, "previous_version": expected.version if expected else None}
        if expected is not None and expected.version is None:
            entry["repaired"] = expected.record.get("unreadable")
        self._append_history(model, entry)
        return record

    def complete_history(self, model: str, alias: dict[str, Any], previous: int | None) -> None:
        """Write the history entry of a move ``alias`` records, if it is missing: the mover
        died between moving the alias and writing its history (a retry calls this)."""
        run_id = alias.get("run_id")
        if run_id and not any(h.get("run_id") == run_id for h in self.history(model)):
            self._append_history(model, {**alias, "previous_version": previous})

    def _append_history(self, model: str, entry: dict[str, Any]) -> None:
        stamp = str(entry["moved_at"]).replace(":", "").replace("-", "")
        key = f"{model}/history/{stamp}-{entry['version']:06d}-{secrets.token_hex(3)}.json"
        self.store.create(key, _json(entry))
        version_summary.record_move(self, model, key, entry)

    def history(self, model: str) -> list[dict[str, Any]]:
        """Alias changes, oldest first; an unreadable entry is ``{"key", "error"}``."""
        return version_summary.read(self, model).history()
