"""retrain.ChampionWatcher against Azure Blob Storage (Azurite) and a local folder: it serves
the champion, reads the alias at most every ``every_s`` seconds, swaps a moved champion in
whole, and keeps serving the old model when the new one does not load."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from loguru import logger

import retrain
from retrain import bootstrap
from retrain.adapters.blob_store import BlobObjectStore
from retrain.domain.errors import BackendError, NotFoundError
from retrain.service.model_repository import ModelRepository
from tests.fakes import toy_frame, toy_spec

OLD_LABELS = {"small", "medium", "large"}
NEW_LABELS = {"S", "M", "L"}  # v2 learnt renamed labels: its answers tell it apart
ALIAS = "TOY/champion.json"


@pytest.fixture(scope="module")
def artifacts() -> dict[str, bytes]:
    """Two tiny real models: ``old`` answers small/medium/large, ``new`` S/M/L."""
    from retrain.training import fit, serialize

    spec = toy_spec()
    renamed = toy_frame()
    renamed["label"] = renamed["label"].map({"small": "S", "medium": "M", "large": "L"})
    return {
        "old": serialize.dumps(fit.fit(spec, fit.split(toy_frame(), spec))),
        "new": serialize.dumps(fit.fit(spec, fit.split(renamed, spec))),
    }


@pytest.fixture
def rows() -> pd.DataFrame:
    return toy_frame(rows=20, seed=7).drop(columns=["label"])


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CountingStore:
    """The store, counting reads per key; ``hold`` makes reads of one key wait for an
    event, ``fail`` makes reads of keys starting with a prefix raise a storage error."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.reads: list[str] = []
        self.hold: tuple[str, threading.Event, threading.Event] | None = None
        self.fail: str | None = None

    def get(self, key: str) -> Any:
        self.reads.append(key)
        if self.fail is not None and key.startswith(self.fail):
            raise BackendError(f"blob storage get failed on models/{key}: ServiceRequestError")
        if self.hold is not None and key == self.hold[0]:
            _, reached, release = self.hold
            reached.set()
            assert release.wait(10)
        return self.store.get(key)

    def alias_reads(self) -> int:
        return self.reads.count(ALIAS)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.fixture
def blob(container: Any) -> CountingStore:
    return CountingStore(BlobObjectStore(container))


@pytest.fixture
def logged() -> Iterator[list[str]]:
    """Warnings loguru logs during the test."""
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(m.record["message"]), level="WARNING")
    yield lines
    logger.remove(sink)


def publish(store: Any, artifact: bytes, *, promote: bool = True) -> int:
    """Publish a version the way a run does, and (by default) move the champion to it."""
    repo = ModelRepository(store)
    version, _ = repo.publish("TOY", artifact, {"run_id": f"r-{uuid.uuid4().hex[:8]}"})
    if promote:
        repo.move_champion(
            "TOY", version, reason="test", actor="test", expected=repo.champion("TOY")
        )
    return version


def flip_a_byte(store: Any, version: int) -> bytes:
    """Corrupt ``version``'s artifact in place; return its original bytes."""
    key = f"TOY/versions/{version}/model.skops"
    obj = store.get(key)
    broken = bytearray(obj.data)
    broken[len(broken) // 2] ^= 0x01
    store.replace(key, bytes(broken), obj.etag)
    return obj.data


def test_serves_the_champion_from_the_configured_blob_container(
    azurite, container, artifacts, rows, tmp_path
):
    env = {
        "ARTIFACT_CONNECTION_STRING": azurite.connection_string,
        "ARTIFACT_CONTAINER": container.container_name,
        "RETRAIN_HOME": str(tmp_path),
    }
    with pytest.raises(NotFoundError) as by_loader:
        retrain.load_model("TOY", env=env)
    with pytest.raises(NotFoundError) as by_watcher:
        retrain.ChampionWatcher("TOY", env=env)
    assert str(by_watcher.value) == str(by_loader.value)  # the same error, word for word

    store = BlobObjectStore(container)
    publish(store, artifacts["old"])
    watcher = retrain.ChampionWatcher("TOY", env=env)
    loaded = retrain.load_model("TOY", env=env)
    assert watcher.version == 1 and watcher.card["version"] == 1
    assert list(watcher.classes_) == list(loaded.classes_)
    assert list(watcher.predict(rows)) == list(loaded.predict(rows))
    assert (watcher.predict_proba(rows) == loaded.predict_proba(rows)).all()
    assert set(watcher.predict(rows)) <= OLD_LABELS


def test_reads_the_alias_at_most_once_every_every_s(blob, artifacts, rows):
    publish(blob, artifacts["old"])
    clock = Clock()
    watcher = retrain.ChampionWatcher("TOY", store=blob, every_s=30, clock=clock)
    read_at_start = blob.alias_reads()
    for _ in range(5):
        watcher.predict(rows)
        clock.advance(5)  # 25 s in all: not due yet
    assert blob.alias_reads() == read_at_start
    clock.advance(5)
    watcher.predict(rows)
    watcher.predict_proba(rows)
    assert blob.alias_reads() == read_at_start + 1  # one check, then quiet again
    assert blob.reads.count("TOY/versions/1/model.skops") == 1  # unchanged: nothing reloaded


def test_a_promoted_champion_serves_from_the_first_call_after_every_s(blob, artifacts, rows):
    publish(blob, artifacts["old"])
    clock = Clock()
    watcher = retrain.ChampionWatcher("TOY", store=blob, every_s=60, clock=clock)
    assert publish(blob, artifacts["new"]) == 2
    clock.advance(59)
    assert set(watcher.predict(rows)) <= OLD_LABELS and watcher.version == 1
    clock.advance(1)
    assert set(watcher.predict(rows)) <= NEW_LABELS
    assert watcher.version == 2 and watcher.card["version"] == 2
    assert list(watcher.classes_) == sorted(NEW_LABELS)
    # a rollback is followed the same way
    repo = ModelRepository(blob)
    repo.move_champion("TOY", 1, reason="roll back", actor="test", expected=repo.champion("TOY"))
    clock.advance(60)
    assert set(watcher.predict(rows)) <= OLD_LABELS and watcher.version == 1


def test_a_predict_in_progress_finishes_on_the_model_it_started_with(blob, artifacts, rows):
    publish(blob, artifacts["old"])
    watcher = retrain.ChampionWatcher("TOY", store=blob, every_s=60, clock=Clock())
    old = watcher.pipeline
    started, release = threading.Event(), threading.Event()
    predict = old.predict

    def held(X: Any) -> Any:
        started.set()
        assert release.wait(10)
        return predict(X)

    old.predict = held  # this instance only: stops in the middle of a predict
    answers: dict[str, Any] = {}
    slow = threading.Thread(target=lambda: answers.update(held=watcher.predict(rows)))
    slow.start()
    assert started.wait(10)
    publish(blob, artifacts["new"])
    assert watcher.refresh() is True  # the champion moves while that predict runs
    assert watcher.version == 2
    assert set(watcher.predict(rows)) <= NEW_LABELS  # a new call gets the new model at once
    release.set()
    slow.join(10)
    assert not slow.is_alive()
    assert set(answers["held"]) <= OLD_LABELS  # the old pipeline, whole, to the end
    assert list(answers["held"]) == list(predict(rows))


def test_while_a_new_champion_loads_the_old_one_keeps_answering(blob, artifacts, rows):
    """The thread whose call is due checks and loads; no other call waits for it or sees a
    half-loaded model, and none reads the alias a second time."""
    publish(blob, artifacts["old"])
    clock = Clock()
    watcher = retrain.ChampionWatcher("TOY", store=blob, every_s=60, clock=clock)
    version = publish(blob, artifacts["new"])
    reached, release = threading.Event(), threading.Event()
    blob.hold = (f"TOY/versions/{version}/model.skops", reached, release)
    clock.advance(60)
    answers: dict[str, Any] = {}
    checking = threading.Thread(target=lambda: answers.update(first=watcher.predict(rows)))
    checking.start()
    assert reached.wait(10)  # that call is reading the new artifact now
    alias_reads = blob.alias_reads()
    assert set(watcher.predict(rows)) <= OLD_LABELS and watcher.version == 1
    assert blob.alias_reads() == alias_reads
    release.set()
    checking.join(10)
    assert set(answers["first"]) <= NEW_LABELS and watcher.version == 2


def test_a_corrupt_new_artifact_keeps_the_old_model_serving(blob, artifacts, rows, logged):
    publish(blob, artifacts["old"])
    clock = Clock()
    watcher = retrain.ChampionWatcher("TOY", store=blob, every_s=60, clock=clock)
    version = publish(blob, artifacts["new"])
    original = flip_a_byte(blob, version)
    clock.advance(60)
    assert set(watcher.predict(rows)) <= OLD_LABELS
    assert watcher.version == 1 and watcher.card["version"] == 1
    assert len(logged) == 1
    assert "TOY" in logged[0] and "v2" in logged[0] and "still serving v1" in logged[0]
    assert "sha256" in logged[0]  # why: ArtifactIntegrityError's own words
    reads = blob.alias_reads()
    clock.advance(30)
    watcher.predict(rows)
    assert blob.alias_reads() == reads and len(logged) == 1  # no retry before every_s

    clock.advance(30)
    watcher.predict(rows)
    assert watcher.version == 1 and len(logged) == 2  # retried, still broken, said again
    key = f"TOY/versions/{version}/model.skops"
    blob.replace(key, original, blob.get(key).etag)  # repaired (the alias did not move)
    clock.advance(60)
    assert set(watcher.predict(rows)) <= NEW_LABELS and watcher.version == 2
    assert len(logged) == 2


def test_a_failing_store_keeps_the_old_model_serving(blob, artifacts, rows, logged):
    publish(blob, artifacts["old"])
    clock = Clock()
    watcher = retrain.ChampionWatcher("TOY", store=blob, every_s=60, clock=clock)
    blob.fail = ALIAS  # storage down: the alias cannot be read
    clock.advance(60)
    assert set(watcher.predict(rows)) <= OLD_LABELS and watcher.version == 1
    assert "alias could not be read" in logged[-1] and "BackendError" in logged[-1]
    blob.fail = None
    publish(blob, artifacts["new"])
    blob.fail = "TOY/versions/2/"  # the alias answers, the new version does not
    clock.advance(60)
    assert watcher.refresh() is False and watcher.version == 1
    assert "v2 failed to load" in logged[-1] and "still serving v1" in logged[-1]
    blob.fail = None
    clock.advance(60)
    assert set(watcher.predict(rows)) <= NEW_LABELS and watcher.version == 2


def test_a_local_folder_store_is_followed_the_same_way(tmp_path: Path, artifacts, rows, logged):
    env = {"RETRAIN_HOME": str(tmp_path)}
    store, _ = bootstrap.object_stores(bootstrap.load_settings(env))
    publish(store, artifacts["old"])
    clock = Clock()
    watcher = retrain.ChampionWatcher("TOY", env=env, every_s=10, clock=clock)
    assert watcher.version == 1 and set(watcher.predict(rows)) <= OLD_LABELS

    broken = publish(store, artifacts["new"])
    (tmp_path / "artifacts/models/TOY/versions" / str(broken) / "model.skops").unlink()
    clock.advance(10)
    assert set(watcher.predict(rows)) <= OLD_LABELS and watcher.version == 1
    assert "v2 failed to load" in logged[-1] and "artifact missing" in logged[-1]

    assert publish(store, artifacts["new"]) == 3  # another promote, to a good version
    clock.advance(10)
    assert set(watcher.predict(rows)) <= NEW_LABELS and watcher.version == 3
    assert repr(watcher) == "ChampionWatcher('TOY', version=3, every_s=10.0)"
