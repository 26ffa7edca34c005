"""Blob index tags on Azurite (it supports Get/Set Blob Tags since 3.2x; the pinned 3.35.0
keeps ETag and last-modified time unchanged, as Azure does): what the lifecycle policy in
infra/main.bicep filters on is really written to the artifact blobs, and never to a card."""

from __future__ import annotations

import pytest

from retrain.adapters.blob_store import BlobObjectStore
from retrain.domain.errors import BackendError
from retrain.service.model_repository import ModelRepository


def tags(container, key: str) -> dict[str, str]:
    return container.get_blob_client(key).get_blob_tags()


def test_set_tags_labels_a_blob_without_changing_it(container):
    store = BlobObjectStore(container)
    etag = store.create("M/versions/1/model.skops", b"artifact")
    before = container.get_blob_client("M/versions/1/model.skops").get_blob_properties()
    store.set_tags("M/versions/1/model.skops", {"status": "rejected"})
    assert tags(container, "M/versions/1/model.skops") == {"status": "rejected"}
    store.set_tags("M/versions/1/model.skops", {"status": "champion"})  # replaces, not merges
    assert tags(container, "M/versions/1/model.skops") == {"status": "champion"}
    after = container.get_blob_client("M/versions/1/model.skops").get_blob_properties()
    assert store.get("M/versions/1/model.skops").etag == etag  # the policy ages by upload time
    assert after.last_modified == before.last_modified
    with pytest.raises(BackendError, match="set_tags"):
        store.set_tags("M/versions/9/model.skops", {"status": "rejected"})


def test_publish_and_promote_write_the_lifecycle_tags(container):
    repo = ModelRepository(BlobObjectStore(container))
    v1, _ = repo.publish("M", b"one", {"run_id": "r1", "status": "promoted"})
    repo.move_champion("M", v1, reason="first", actor="test", expected=None)
    v2, _ = repo.publish("M", b"two", {"run_id": "r2", "status": "kept_champion"})
    v3, _ = repo.publish("M", b"three", {"run_id": "r3", "status": "rejected"})
    assert tags(container, "M/versions/1/model.skops") == {"status": "champion"}
    assert tags(container, "M/versions/2/model.skops") == {"status": "kept_champion"}
    assert tags(container, "M/versions/3/model.skops") == {"status": "rejected"}
    for version in (v1, v2, v3):  # cards are outside every rule of the policy
        assert tags(container, f"M/versions/{version}/card.json") == {}

    repo.move_champion("M", v3, reason="by hand", actor="test", expected=repo.champion("M"))
    assert tags(container, "M/versions/1/model.skops") == {"status": "former_champion"}
    assert tags(container, "M/versions/3/model.skops") == {"status": "champion"}
