"""The per-model version summary: lists read it instead of every card; a lost, stale or
corrupt summary never loses a version."""

from __future__ import annotations

import threading
import time

import pytest

from retrain.adapters.local_store import LocalObjectStore
from retrain.domain.errors import BackendError
from retrain.service import queries
from retrain.service.model_repository import ModelRepository
from retrain.service.version_summary import SUMMARY
from tests.fakes import MemoryObjectStore

KEY = f"TOY/{SUMMARY}"


class CountingStore(MemoryObjectStore):
    """Counts card reads; ``fail_summary_writes`` makes writes of summaries fail."""

    def __init__(self) -> None:
        super().__init__()
        self.card_reads = 0
        self.history_reads = 0
        self.fail_summary_writes = False

    def get(self, key):
        self.card_reads += key.endswith("/card.json")
        self.history_reads += "/history/" in key
        return super().get(key)

    def create(self, key, data):
        self._check(key)
        return super().create(key, data)

    def replace(self, key, data, etag):
        self._check(key)
        return super().replace(key, data, etag)

    def _check(self, key):
        if self.fail_summary_writes and key.endswith(SUMMARY):
            raise BackendError("storage hiccup")


def card(score: float, status: str = "promoted") -> dict:
    return {
        "run_id": f"20261122T090000Z-TOY-{int(score * 1000):04d}",
        "created_at": "2026-11-22T09:00:00.000Z",
        "status": status,
        "primary_metric": "accuracy",
        "metrics": {"accuracy": score, "macro_f1": score - 0.1, "per_class": {"a": {}}},
        "rows": {"loaded": 100, "train": 80, "test": 20},
        "gate": {"outcome": status, "reason": "because", "candidate": score, "champion": None},
    }


@pytest.fixture
def store(svc):
    store = CountingStore()
    svc.models = ModelRepository(store)
    return store


def move(svc, version):
    """Move the alias as promote does (promote itself also loads a real artifact)."""
    expected = svc.models.champion("TOY")
    svc.models.move_champion("TOY", version, reason="ops", actor="test", expected=expected)


def publish(svc, *scores):
    return [svc.models.publish("TOY", b"artifact", card(s))[0] for s in scores]


def listed(svc):
    return [(v["version"], v["score"]) for v in queries.list_versions(svc, "TOY")]


def test_publish_writes_the_summary_and_lists_read_no_card(svc, store):
    publish(svc, 0.7, 0.8, 0.75)
    store.card_reads = 0
    versions = queries.list_versions(svc, "TOY")
    (model,) = queries.list_models(svc)
    assert store.card_reads == 0
    assert [(v["version"], v["score"], v["status"]) for v in versions] == [
        (1, 0.7, "promoted"),
        (2, 0.8, "promoted"),
        (3, 0.75, "promoted"),
    ]
    assert versions[0]["gate"]["reason"] == "because"
    assert versions[0]["metrics"] == {"accuracy": 0.7, "macro_f1": pytest.approx(0.6)}
    assert model["versions"] == 3 and model["latest_version"]["version"] == 3


@pytest.mark.parametrize("damage", [b"{not json", b'{"format": 1, "model": "TOY"}', b"[]"])
def test_a_missing_or_corrupt_summary_is_rebuilt_from_the_cards(svc, store, damage):
    publish(svc, 0.7, 0.8)
    move(svc, 2)
    move(svc, 1)  # v1 and v2 both served
    obj = store.get(KEY)
    store.replace(KEY, damage, obj.etag)
    store.card_reads = 0
    assert listed(svc) == [(1, 0.7), (2, 0.8)]
    assert store.card_reads == 2
    assert [v["served"] for v in queries.list_versions(svc, "TOY")] == [True, True]
    assert store.card_reads == 2  # healed: the second list read no card
    store.delete(KEY)
    assert listed(svc) == [(1, 0.7), (2, 0.8)]
    assert store.get(KEY) is not None


def test_a_lost_summary_write_never_fails_a_publish_nor_hides_the_version(svc, store):
    publish(svc, 0.7)
    store.fail_summary_writes = True
    assert publish(svc, 0.8) == [2]  # the publish succeeded
    assert listed(svc) == [(1, 0.7), (2, 0.8)]  # read from its card
    store.fail_summary_writes = False
    store.card_reads = 0
    assert listed(svc) == [(1, 0.7), (2, 0.8)]
    assert store.card_reads == 1  # the first list could not heal; this one did
    assert listed(svc) == [(1, 0.7), (2, 0.8)] and store.card_reads == 1


def test_a_stale_summary_reads_only_the_missing_cards(svc, store):
    publish(svc, 0.7, 0.8)
    old = store.get(KEY).data
    publish(svc, 0.9, 0.6)
    store.replace(KEY, old, store.get(KEY).etag)  # as if the last two writes were lost
    store.card_reads = 0
    assert listed(svc) == [(1, 0.7), (2, 0.8), (3, 0.9), (4, 0.6)]
    assert store.card_reads == 2


def test_an_unreadable_card_is_shown_as_an_error_and_hides_nothing(svc, store):
    publish(svc, 0.7, 0.8)
    store.delete(KEY)
    store.objects["TOY/versions/2/card.json"] = store.objects["TOY/versions/2/card.json"].__class__(
        b"{broken", '"x"'
    )
    versions = queries.list_versions(svc, "TOY")
    assert versions[0]["score"] == 0.7
    assert versions[1]["version"] == 2 and versions[1]["error"]["message"]
    assert b'"version":2' not in store.get(KEY).data  # never stored: re-read next time


def test_promote_marks_the_version_as_served(svc, store):
    publish(svc, 0.7, 0.8)
    move(svc, 2)
    versions = queries.list_versions(svc, "TOY")
    assert [(v["champion"], v["served"]) for v in versions] == [(False, False), (True, True)]


def test_concurrent_publishers_all_land_in_the_summary(svc, tmp_path):
    svc.models = ModelRepository(LocalObjectStore(tmp_path))
    barrier = threading.Barrier(4)

    def publisher(i):
        barrier.wait()
        for j in range(3):
            svc.models.publish("TOY", b"artifact", card(0.5 + i / 10 + j / 100))

    threads = [threading.Thread(target=publisher, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    import json

    stored = json.loads(svc.models.store.get(KEY).data)  # as written, before any healing
    assert [e["version"] for e in stored["versions"]] == list(range(1, 13))


def test_list_models_shows_the_last_run_and_a_corrupt_alias_only_for_its_model(svc):
    from retrain.service.runner import execute_run
    from retrain.service.start import start_runs

    run = start_runs(svc, ["TOY"], trigger="test").runs[0]
    (model,) = queries.list_models(svc)
    assert model["last_run"]["status"] == "queued" and model["active_run"] == run.run_id
    execute_run(svc, run.run_id)
    (model,) = queries.list_models(svc)
    assert (model["last_run"]["run_id"], model["last_run"]["outcome"]) == (run.run_id, "promoted")
    assert model["champion_version"] == 1 and model["active_run"] is None
    svc.models.store.replace(
        "TOY/champion.json", b"garbage", svc.models.store.get("TOY/champion.json").etag
    )
    (model,) = queries.list_models(svc)
    assert model["error"]["message"] and model["versions"] == 1


def test_the_alias_history_comes_from_the_summary_and_a_lost_move_is_healed(svc, store):
    publish(svc, 0.7, 0.8)
    move(svc, 2)
    time.sleep(0.002)  # history keys start with the time of the move, in milliseconds
    store.fail_summary_writes = True
    move(svc, 1)  # its summary write is lost; the move itself stands
    store.fail_summary_writes = False
    store.history_reads = 0
    history = svc.models.history("TOY")
    assert [(h["previous_version"], h["version"]) for h in history] == [(None, 2), (2, 1)]
    assert store.history_reads == 1  # only the move the summary lacked
    assert svc.models.history("TOY") == history and store.history_reads == 1
    (key,) = [k for k in store.objects if "/history/" in k][:1]
    store.objects[key] = store.objects[key].__class__(b"garbage", '"g"')
    store.delete(KEY)
    damaged = svc.models.history("TOY")
    assert damaged[0] == {"key": key, "error": "unreadable"} and damaged[1]["version"] == 1
