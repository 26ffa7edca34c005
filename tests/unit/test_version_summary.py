"""The per-model version summary: lists read it instead of every card; a lost, stale or
corrupt summary never loses a version."""

from __future__ import annotations

import json
import math
import threading
import time

import pytest

from retrain.adapters.local_store import LocalObjectStore
from retrain.domain.errors import BackendError
from retrain.service import queries, version_summary
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


@pytest.fixture
def no_compare(monkeypatch):
    """Lists without their per-request comparison of a few entries with their cards, for
    the tests that count the cards a rebuild or a heal reads."""
    monkeypatch.setattr(version_summary, "check", lambda *args, **kwargs: None)


def move(svc, version):
    """Move the alias as promote does (promote itself also loads a real artifact)."""
    expected = svc.models.champion("TOY")
    svc.models.move_champion("TOY", version, reason="ops", actor="test", expected=expected)


def publish(svc, *scores):
    return [svc.models.publish("TOY", b"artifact", card(s))[0] for s in scores]


def listed(svc):
    return [(v["version"], v["score"]) for v in queries.list_versions(svc, "TOY")]


def test_publish_writes_the_summary_and_lists_read_a_few_cards_not_every_card(svc, store):
    publish(svc, 0.7, 0.8, 0.75)
    store.card_reads = 0
    versions = queries.list_versions(svc, "TOY")
    (model,) = queries.list_models(svc)
    assert store.card_reads == 3 + 1  # the versions list compares 3; the models list the newest
    assert [(v["version"], v["score"], v["status"]) for v in versions] == [
        (1, 0.7, "promoted"),
        (2, 0.8, "promoted"),
        (3, 0.75, "promoted"),
    ]
    assert versions[0]["gate"]["reason"] == "because"
    assert versions[0]["metrics"] == {"accuracy": 0.7, "macro_f1": pytest.approx(0.6)}
    assert model["versions"] == 3 and model["latest_version"]["version"] == 3
    assert not any("mended" in v for v in versions)
    publish(svc, *(0.5 + i / 100 for i in range(20)))
    store.card_reads = 0
    assert len(queries.list_versions(svc, "TOY")) == 23
    assert store.card_reads == 1 + version_summary.RECHECK  # the newest, and two at random


@pytest.mark.parametrize("damage", [b"{not json", b'{"format": 1, "model": "TOY"}', b"[]"])
def test_a_missing_or_corrupt_summary_is_rebuilt_from_the_cards(svc, store, damage, no_compare):
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


def test_a_lost_summary_write_never_fails_a_publish_nor_hides_the_version(svc, store, no_compare):
    publish(svc, 0.7)
    store.fail_summary_writes = True
    assert publish(svc, 0.8) == [2]  # the publish succeeded
    assert listed(svc) == [(1, 0.7), (2, 0.8)]  # read from its card
    store.fail_summary_writes = False
    store.card_reads = 0
    assert listed(svc) == [(1, 0.7), (2, 0.8)]
    assert store.card_reads == 1  # the first list could not heal; this one did
    assert listed(svc) == [(1, 0.7), (2, 0.8)] and store.card_reads == 1


def test_a_stale_summary_reads_only_the_missing_cards(svc, store, no_compare):
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


def damage_entry(store, version, change):
    """Edit the stored summary's entry of ``version`` in place, as a hand edit would."""
    obj = store.get(KEY)
    data = json.loads(obj.data)
    (entry,) = [e for e in data["versions"] if e["version"] == version]
    index = data["versions"].index(entry)
    data["versions"][index] = change(entry)
    store.replace(KEY, json.dumps(data).encode(), obj.etag)  # allow_nan: a NaN stays NaN


def typed(version):
    """What a version row may hold: the CLI and the console format these without checks."""
    assert isinstance(version["score"], float) and math.isfinite(version["score"])
    assert all(isinstance(v, float) and math.isfinite(v) for v in version["metrics"].values())
    assert isinstance(version["created_at"], str) and isinstance(version["run_id"], str)
    assert all(isinstance(v, int) for v in version["rows"].values())


@pytest.mark.parametrize(
    "change",
    [
        lambda e: {**e, "metrics": {**e["metrics"], "accuracy": float("nan")}},
        lambda e: {**e, "metrics": {**e["metrics"], "accuracy": "0.99"}},
        lambda e: {**e, "metrics": [e["metrics"]]},
        lambda e: {**e, "rows": [1, 2, 3]},
        lambda e: {**e, "rows": {"loaded": "many"}},
        lambda e: {**e, "created_at": 20261122},
        lambda e: {**e, "gate": [e["gate"]]},
        lambda e: {**e, "gate": {**e["gate"], "candidate": {"x": 1}}},
        lambda e: {k: v for k, v in e.items() if k != "rows"},
    ],
    ids=["nan", "score-text", "metrics-list", "rows-list", "rows-text", "created-int", "gate-list",
         "gate-object", "no-rows"],
)  # fmt: skip
def test_a_summary_entry_with_wrong_types_is_read_from_its_card_and_says_so(svc, store, change):
    publish(svc, 0.7, 0.8, 0.75)
    before = queries.list_versions(svc, "TOY")
    damage_entry(store, 2, change)
    versions = queries.list_versions(svc, "TOY")
    assert "its summary entry was not valid" in versions[1]["mended"]
    assert [{k: v for k, v in row.items() if k != "mended"} for row in versions] == before
    for row in versions:
        typed(row)
    again = queries.list_versions(svc, "TOY")
    assert again == before  # written back: nothing left to mend


@pytest.mark.parametrize(
    "entry", [[2, "promoted"], {"version": "2"}, "v2", None], ids=["list", "text", "str", "null"]
)
def test_a_summary_entry_too_broken_to_name_its_version_is_read_from_the_cards(svc, store, entry):
    publish(svc, 0.7, 0.8)
    before = queries.list_versions(svc, "TOY")
    damage_entry(store, 2, lambda e: entry)
    versions = queries.list_versions(svc, "TOY")
    assert [v["score"] for v in versions] == [0.7, 0.8]
    assert "unreadable entry" in versions[1]["mended"] and "mended" not in versions[0]
    assert queries.list_versions(svc, "TOY") == before


def test_a_summary_entry_that_contradicts_its_card_loses_to_the_card(svc, store):
    """A well-typed entry saying another score or status than its card: the versions list
    compares the champion's and the newest entry with their cards on every request, and two
    others at random; the card wins, the row says so, the summary is written back."""
    publish(svc, 0.7, 0.8, 0.75, 0.6, 0.65, 0.9)
    move(svc, 2)
    before = queries.list_versions(svc, "TOY")
    for version in (2, 6):  # the champion's and the newest: mended on the first request
        damage_entry(store, version, lambda e: {**e, "metrics": {**e["metrics"], "accuracy": 0.99}})
        versions = queries.list_versions(svc, "TOY")
        assert versions[version - 1]["score"] == before[version - 1]["score"]
        assert "disagreed with its card" in versions[version - 1]["mended"]
        assert queries.list_versions(svc, "TOY") == before
    damage_entry(store, 4, lambda e: {**e, "status": "promoted", "run_id": "someone-else"})
    for _ in range(60):  # one of the others: found within a few requests
        versions = queries.list_versions(svc, "TOY")
        if "mended" in versions[3]:
            break
    assert "disagreed with its card" in versions[3]["mended"]
    assert versions[3]["run_id"] == before[3]["run_id"]
    assert queries.list_versions(svc, "TOY") == before


def test_the_models_list_takes_the_newest_versions_facts_from_its_card(svc, store):
    publish(svc, 0.7, 0.8)
    damage_entry(store, 2, lambda e: {**e, "metrics": {**e["metrics"], "accuracy": 0.99}})
    (model,) = queries.list_models(svc)
    assert model["latest_version"]["score"] == 0.8


def test_a_move_with_wrong_types_is_read_from_its_history_entry(svc, store):
    publish(svc, 0.7, 0.8)
    move(svc, 2)
    before = svc.models.history("TOY")
    obj = store.get(KEY)
    data = json.loads(obj.data)
    (key,) = data["moves"]
    data["moves"][key] = {**data["moves"][key], "moved_at": 5, "version": "2"}
    store.replace(KEY, json.dumps(data).encode(), obj.etag)
    assert svc.models.history("TOY") == before
    history_key = key
    store.objects[history_key] = store.objects[history_key].__class__(
        json.dumps({**before[0], "previous_version": [1]}).encode(), '"h"'
    )
    store.delete(KEY)
    assert svc.models.history("TOY") == [{"key": history_key, "error": "unreadable"}]
