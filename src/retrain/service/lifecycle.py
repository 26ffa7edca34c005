"""The artifact's lifecycle tag: which versions storage may age and delete.

Every artifact (``<MODEL>/versions/<n>/model.skops``) carries the blob index tag
``status``. The storage account's lifecycle policy (infra/main.bicep) filters on it: an
artifact tagged ``rejected`` or ``kept_champion`` (a version that never served) moves to the
cool tier after 30 days and is deleted after ``deleteArtifactsAfterDays``. Every other value,
an artifact without the tag, and every model card are never touched: a version stays safe
unless it is positively marked as one nobody needs, so a lost tag write costs storage, never
a model.

- publish: the gate's outcome (``promoted``, ``kept_champion``, ``rejected``);
- the alias moves to a version: ``champion``; the version it leaves: ``former_champion``,
  kept for rollbacks (a rollback needs the old champions, so they never age);
- each publish writes ``champion`` on the current champion again: a champion whose tag write
  failed or raced is healed by the model's next run, long before anything could age it.

Tags are best effort: a failed tag write is a warning and never fails a publish or a promote.
A store without tags (the local folder, the tests' fakes) skips them."""

from __future__ import annotations

from enum import StrEnum

from loguru import logger

from retrain.domain.ports import ObjectStore, TaggableStore

TAG = "status"


class ArtifactStatus(StrEnum):
    PROMOTED = "promoted"  # the gate said promote; becomes CHAMPION when the alias moves
    KEPT_CHAMPION = "kept_champion"  # ages: worse than the champion, never served
    REJECTED = "rejected"  # ages: below the floor, never served
    CHAMPION = "champion"  # the alias points at it
    FORMER_CHAMPION = "former_champion"  # served once: kept for a rollback


# what the lifecycle policy ages (infra/main.bicep; tests/unit/test_infra.py keeps them equal)
AGEING = frozenset({ArtifactStatus.REJECTED, ArtifactStatus.KEPT_CHAMPION})


_OUTCOMES = {ArtifactStatus.PROMOTED, ArtifactStatus.KEPT_CHAMPION, ArtifactStatus.REJECTED}


def of_card(card: dict) -> ArtifactStatus | None:
    """The tag a new version's artifact gets from its card's gate outcome; None (no tag: kept)
    for anything else."""
    status = card.get("status")
    return ArtifactStatus(status) if status in _OUTCOMES else None


def mark(store: ObjectStore, key: str, status: ArtifactStatus) -> None:
    """Tag ``key`` with ``status``; a failure is logged, never raised."""
    if not isinstance(store, TaggableStore):
        return
    try:
        store.set_tags(key, {TAG: str(status)})
    except Exception as exc:  # best effort: an untagged or stale-tagged artifact is kept
        logger.warning(
            "{}: lifecycle tag {}={} not written ({}: {}); the artifact is kept",
            key,
            TAG,
            status,
            type(exc).__name__,
            str(exc)[:200],
        )


def taggable(store: ObjectStore) -> bool:
    return isinstance(store, TaggableStore)
