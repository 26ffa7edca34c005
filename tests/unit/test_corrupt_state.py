"""Promise 3: a corrupt state object (alias, run record, batch record, card, active mark)
gives an error naming the object; other models and the lists keep working; an operator can
repair a corrupt champion alias with promote, and the repair is in the history."""

from __future__ import annotations

import uuid

import pytest

from retrain.domain.errors import CorruptStateError
from retrain.domain.runs import RunStatus
from retrain.domain.specs import Registry
from retrain.service import queries
from retrain.service.promote import promote
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.fakes import FakeSource, toy_frame, toy_spec

GARBAGE = [
    b"{not json",
    b"\xff\xfe\x00",
    b"[" * 5000 + b"]" * 5000,
    b'"just a string"',
    b'{"version": "three"}',
    b'{"version": -1}',
    b"{}",
]


def corrupt(store, key: str, data: bytes) -> None:
    """Overwrite ``key`` with ``data`` through the store's own compare-and-swap."""
    current = store.get(key)
    store.replace(key, data, current.etag if current else None)


@pytest.fixture(params=["memory", "azurite"])
def two(svc, request):
    """Two toy models, each trained once, on in-memory stores or real Azurite containers."""
    if request.param == "azurite":
        from azure.storage.blob import BlobServiceClient

        from retrain.adapters.blob_store import BlobObjectStore
        from retrain.service.model_repository import ModelRepository
        from retrain.service.run_repository import RunRepository

        server = request.getfixturevalue("azurite")
        service = BlobServiceClient.from_connection_string(server.connection_string)
        prefix = f"c{uuid.uuid4().hex[:12]}"
        svc.models = ModelRepository(BlobObjectStore(service.get_container_client(prefix + "m")))
        svc.runs = RunRepository(BlobObjectStore(service.get_container_client(prefix + "r")))
    svc.registry = Registry([toy_spec("TOY"), toy_spec("OTHER")])
    svc.source = FakeSource({"TOY": toy_frame(), "OTHER": toy_frame(seed=1)})
    for name in ("TOY", "OTHER"):
        record = execute_run(svc, start_runs(svc, [name], trigger="test").runs[0].run_id)
        assert record.status is RunStatus.SUCCEEDED
    return svc


@pytest.mark.parametrize("garbage", GARBAGE)
def test_a_corrupt_alias_is_named_and_repaired_by_promote(two, garbage):
    corrupt(two.models.store, "TOY/champion.json", garbage)
    with pytest.raises(CorruptStateError, match=r"champion alias TOY/champion\.json") as info:
        two.models.champion("TOY")
    assert "retrain promote TOY" in str(info.value)  # says how to repair it
    listed = {m["name"]: m for m in queries.list_models(two)}
    assert listed["OTHER"]["champion_version"] == 1  # the other model is unaffected
    assert listed["TOY"]["error"]["code"] == "corrupt_state"
    assert "TOY/champion.json" in listed["TOY"]["error"]["message"]

    # a run of TOY stops and says why, instead of guessing the champion
    record = execute_run(two, start_runs(two, ["TOY"], trigger="test").runs[0].run_id)
    assert record.status is RunStatus.FAILED
    assert record.error["type"] == "CorruptStateError"
    assert "TOY/champion.json" in record.error["message"] and record.attempts == 1

    moved = promote(two, "TOY", 1, reason="repair the alias", actor="test")
    assert moved["version"] == 1 and two.models.champion("TOY").version == 1
    last = two.models.history("TOY")[-1]
    assert last["previous_version"] is None and "TOY/champion.json" in last["repaired"]
    assert last["reason"] == "repair the alias"


def test_a_corrupt_run_record_is_named_and_the_list_keeps_the_others(two):
    runs = two.runs.list(model="TOY")
    bad = runs[0].run_id
    corrupt(two.runs.store, f"{bad}.json", b'{"run_id": 5}')
    with pytest.raises(CorruptStateError, match=rf"run record {bad}\.json"):
        two.runs.get(bad)
    records, unreadable = two.runs.scan()
    assert unreadable == [f"{bad}.json"]
    assert {r.model for r in records} == {"OTHER"}


def test_a_record_that_names_another_run_is_refused(two):
    first, second = (r.run_id for r in two.runs.list())
    corrupt(two.runs.store, f"{first}.json", two.runs.store.get(f"{second}.json").data)
    with pytest.raises(CorruptStateError, match="names another run"):
        two.runs.get(first)


def test_a_corrupt_card_is_named_and_the_versions_list_keeps_the_others(two):
    execute_run(two, start_runs(two, ["TOY"], trigger="test").runs[0].run_id)
    store = two.models.store
    corrupt(store, "TOY/versions/1/card.json", store.get("TOY/champion.json").data)
    with pytest.raises(CorruptStateError, match=r"model card TOY/versions/1/card\.json"):
        two.models.card("TOY", 1)
    listed = queries.list_versions(two, "TOY")  # from the summary: cards are not read
    assert [v["version"] for v in listed] == [1, 2]
    store.delete("TOY/summary.json")  # rebuilt from the cards: the bad one is named
    versions = queries.list_versions(two, "TOY")
    assert versions[0]["error"]["code"] == "corrupt_state" and versions[1]["version"] == 2
    assert "TOY/versions/1/card.json" in versions[0]["error"]["message"]


def test_a_corrupt_active_mark_does_not_block_its_model(two):
    two.runs.store.create("active/TOY.json", b"\x00garbage")
    started = start_runs(two, ["TOY"], trigger="test")
    assert started.runs and not started.conflicts


def test_a_corrupt_batch_record_does_not_stop_its_runs_being_reported(two):
    started = start_runs(two, ["TOY", "OTHER"], trigger="timer")
    corrupt(two.runs.store, f"batches/{started.batch_id}.json", b"{")
    with pytest.raises(CorruptStateError, match="batch record"):
        two.runs.batch(started.batch_id)
    for record in started.runs:
        assert execute_run(two, record.run_id).status is RunStatus.SUCCEEDED
    reported = [r.run_id for r in two.notifier.runs]
    assert all(r.run_id in reported for r in started.runs)
