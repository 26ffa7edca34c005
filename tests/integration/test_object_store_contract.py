"""One contract, two stores: the local folder and Azure Blob Storage (Azurite)."""

from __future__ import annotations

import threading

import pytest

from retrain.adapters.blob_store import BlobObjectStore
from retrain.adapters.local_store import LocalObjectStore
from retrain.domain.errors import ArtifactIntegrityError, ConflictError
from retrain.domain.ports import AlreadyExists, PreconditionFailed
from retrain.service.model_repository import ModelRepository
from retrain.training import serialize
from tests.fakes import toy_frame, toy_spec


@pytest.fixture(params=["local", "blob"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalObjectStore(tmp_path / "store")
    return BlobObjectStore(request.getfixturevalue("container"))


def test_create_only(store):
    assert store.get("a/b.json") is None
    etag = store.create("a/b.json", b"one")
    assert store.get("a/b.json").data == b"one" and store.get("a/b.json").etag == etag
    with pytest.raises(AlreadyExists):
        store.create("a/b.json", b"two")
    assert store.get("a/b.json").data == b"one"


def test_compare_and_swap(store):
    with pytest.raises(PreconditionFailed):
        store.replace("alias.json", b"x", '"not-the-etag"')  # nothing there yet
    first = store.replace("alias.json", b"v1", None)
    with pytest.raises(PreconditionFailed):
        store.replace("alias.json", b"v2", None)  # must not exist: it does
    second = store.replace("alias.json", b"v2", first)
    with pytest.raises(PreconditionFailed):
        store.replace("alias.json", b"v3", first)  # stale ETag loses
    assert store.get("alias.json").data == b"v2" and store.get("alias.json").etag == second


def test_a_write_whose_bytes_are_already_stored_counts_as_done(store):
    """Over a network the first try may land and only its answer be lost; the retry then
    meets its own write. Equal bytes are that same write: success, not a conflict."""
    etag = store.create("run.json", b"attempt-7")
    assert store.create("run.json", b"attempt-7") == etag
    newer = store.replace("run.json", b"attempt-8", etag)
    assert store.replace("run.json", b"attempt-8", etag) == newer  # stale ETag, same bytes
    with pytest.raises(PreconditionFailed):
        store.replace("run.json", b"attempt-9", etag)


def test_delete_and_list(store):
    for key in ("m/versions/2/card.json", "m/versions/10/card.json", "m/champion.json", "x.json"):
        store.create(key, b"{}")
    assert store.list("m/versions/") == ["m/versions/10/card.json", "m/versions/2/card.json"]
    assert store.list("") == sorted(store.list(""))
    etag = store.get("x.json").etag
    with pytest.raises(PreconditionFailed):
        store.delete("x.json", '"stale"')
    store.delete("x.json", etag)
    store.delete("x.json")  # missing is fine
    assert store.get("x.json") is None


def test_concurrent_creates_have_one_winner(store):
    wins = []

    def claim(i):
        try:
            store.create("claim.json", str(i).encode())
            wins.append(i)
        except AlreadyExists:
            pass

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and store.get("claim.json").data == str(wins[0]).encode()


@pytest.fixture(scope="module")
def artifact():
    from retrain.training import fit, serialize

    spec = toy_spec()
    model = fit.fit(spec, fit.split(toy_frame(), spec))
    return serialize.dumps(model)


def test_eight_publishers_get_eight_versions_and_one_consistent_champion(store, artifact):
    repo = ModelRepository(store)
    versions = []
    lock = threading.Lock()

    def publish(i):
        version, _ = repo.publish("TOY", artifact, {"run_id": f"r{i}", "writer": i})
        with lock:
            versions.append(version)
        for _ in range(50):  # lose the CAS race -> re-read and try again
            current = repo.champion("TOY")
            try:
                repo.move_champion(
                    "TOY", version, reason=f"writer {i}", actor="test", expected=current
                )
                return
            except ConflictError:
                continue
        raise AssertionError("never won the champion CAS")

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(versions) == list(range(1, 9))
    assert repo.versions("TOY") == list(range(1, 9))
    history = repo.history("TOY")
    assert len(history) == 8
    champion = repo.champion("TOY")
    assert champion.version in versions
    chain = {h["previous_version"]: h["version"] for h in history}  # one unbroken chain
    at, seen = None, []
    while at in chain:
        at = chain[at]
        seen.append(at)
    assert sorted(seen) == sorted(versions) and seen[-1] == champion.version
    assert {repo.card("TOY", v)["writer"] for v in versions} == set(range(8))


class LostAnswers:
    """The store as seen through a retrying client whose first answer to each create got
    lost: the write happened, and the retried request is told the key already exists."""

    def __init__(self, store):
        self.store = store

    def create(self, key, data):
        self.store.create(key, data)
        raise AlreadyExists(key)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_a_retried_publish_whose_answer_was_lost_is_one_version(store, artifact):
    repo = ModelRepository(LostAnswers(store))
    version, card = repo.publish("TOY", artifact, {"run_id": "r1"})
    assert version == 1 and card["run_id"] == "r1"
    assert repo.versions("TOY") == [1]
    stored = store.get("TOY/versions/1/model.skops").data  # the artifact with its identity
    assert stored == serialize.with_identity(artifact, "TOY", 1, "r1")
    other, _ = ModelRepository(store).publish("TOY", artifact, {"run_id": "r2"})
    assert other == 2  # same model bytes from another run: a version of its own


def test_a_flipped_byte_is_refused(store, artifact):
    repo = ModelRepository(store)
    repo.publish("TOY", artifact, {"run_id": "r1"})
    repo.move_champion("TOY", 1, reason="first", actor="test", expected=None)
    assert repo.load("TOY")[1]["version"] == 1
    stored = bytearray(store.get("TOY/versions/1/model.skops").data)
    stored[len(stored) // 2] ^= 0x01
    obj = store.get("TOY/versions/1/model.skops")
    store.replace("TOY/versions/1/model.skops", bytes(stored), obj.etag)
    with pytest.raises(ArtifactIntegrityError, match="sha256"):
        repo.load("TOY")
