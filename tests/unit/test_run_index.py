"""Run lists read a per-model index, not the whole runs container (5,000 records on Azurite
made every list slow); records written before the index existed are indexed once."""

from __future__ import annotations

from retrain.domain.runs import RunRecord
from retrain.service.run_repository import RunRepository
from retrain.service.stored import dumps
from tests.fakes import MemoryObjectStore


class Counting(MemoryObjectStore):
    def __init__(self) -> None:
        super().__init__()
        self.listed: list[str] = []

    def list(self, prefix: str = "") -> list[str]:
        self.listed.append(prefix)
        return super().list(prefix)


def run_id(i: int, model: str) -> str:
    return f"2026110{i % 9 + 1}T0{i % 10}0000Z-{model}-t{i:04d}"


def test_lists_read_the_model_index_and_older_records_are_indexed_once():
    store = Counting()
    for i in range(30):  # written by a version without the index
        model = ("A_MODEL", "B_MODEL", "C_MODEL")[i % 3]
        record = RunRecord(run_id=run_id(i, model), model=model)
        store.create(f"{record.run_id}.json", dumps(record.to_dict()))
    runs = RunRepository(store)
    assert [r.model for r in runs.list("B_MODEL", limit=100)] == ["B_MODEL"] * 10
    assert store.listed.count("") == 1  # the one backfill listing
    fresh = RunRepository(store)  # another process: the marker says it is done
    store.listed.clear()
    newest = fresh.list(limit=4, models=["A_MODEL", "B_MODEL"])
    assert "" not in store.listed
    assert len(newest) == 4 and {r.model for r in newest} <= {"A_MODEL", "B_MODEL"}
    assert [r.run_id for r in newest] == sorted((r.run_id for r in newest), reverse=True)
    assert fresh.ids_of("D_MODEL") == [] and len(fresh.ids_of("C_MODEL")) == 10


def test_a_new_record_is_indexed_and_an_empty_store_stays_empty():
    store = Counting()
    runs = RunRepository(store)
    assert runs.list("A_MODEL") == [] and store.objects == {}  # reading writes nothing
    record = RunRecord(run_id=run_id(1, "A_MODEL"), model="A_MODEL")
    assert runs.create(record)
    assert [r.run_id for r in RunRepository(store).list("A_MODEL")] == [record.run_id]
