"""The cross-model lists (models, runs) read one overview instead of a few objects per model,
and always show what the models' own objects say: lost, stale or corrupt overviews are
mended, unfinished runs are read live."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from retrain.domain.errors import BackendError
from retrain.domain.runs import RunStatus, Stage
from retrain.domain.specs import Registry
from retrain.service import overview, queries
from retrain.service.model_repository import ModelRepository
from retrain.service.promote import promote
from retrain.service.run_repository import RunRepository
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.fakes import FakeSource, MemoryObjectStore, toy_frame, toy_spec

NAMES = ["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO"]


class Store(MemoryObjectStore):
    """Counts reads and listings; ``fail`` makes writes of the overview fail."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []
        self.listed: list[str] = []
        self.fail = False

    def get(self, key):
        self.reads.append(key)
        return super().get(key)

    def list(self, prefix=""):
        self.listed.append(prefix)
        return super().list(prefix)

    def replace(self, key, data, etag):
        if self.fail and key == overview.KEY:
            raise BackendError("storage hiccup")
        return super().replace(key, data, etag)

    def forget(self):
        self.reads.clear()
        self.listed.clear()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=5)  # run ids differ by their time
        return self.now


@pytest.fixture
def many(svc):
    svc.registry = Registry([toy_spec(name) for name in NAMES])
    svc.source = FakeSource({name: toy_frame(seed=i) for i, name in enumerate(NAMES)})
    svc.models = ModelRepository(Store())
    svc.runs = RunRepository(Store())
    svc.clock = Clock()
    return svc


def run(svc, *names, dry_run=False):
    for record in start_runs(svc, list(names), trigger="test", dry_run=dry_run).runs:
        execute_run(svc, record.run_id)


def truth(svc):
    """Every row as the models' own objects say, and every run newest first."""
    rows = {spec.name: overview.model_row(svc, spec)[0] for spec in svc.registry}
    runs = svc.runs.scan(None, None, 500, models=svc.registry.names())[0]
    return rows, [r.to_dict() for r in runs]


def shown(svc):
    """What the two lists say, in the same shape (without the notes of what a list mended)."""
    spec_keys = {"name", "description", "primary_metric", "metric_floor", "active_run", "mended"}
    spec_keys |= {"status", "reasons", "drift_findings", "last_failure", "champion_new_score"}
    rows = {
        m["name"]: {k: v for k, v in m.items() if k not in spec_keys}
        for m in queries.list_models(svc)
    }
    runs = queries.list_runs(svc, None, None, 500)[0]
    return rows, [r.to_dict() for r in runs]


def test_lists_read_the_overview_and_a_few_rows_again_not_every_model(many):
    run(many, *NAMES)
    run(many, "ALPHA", "CHARLIE")
    assert shown(many) == truth(many)
    models, runs = many.models.store, many.runs.store
    models.forget()
    runs.forget()
    queries.list_models(many)
    aliases = [key for key in models.reads if key.endswith("/champion.json")]
    assert sorted(aliases) == sorted(f"{name}/champion.json" for name in NAMES)  # every alias
    others = [key for key in models.reads if key not in aliases]
    assert len({key.split("/")[0] for key in others}) <= overview.RECHECK  # and a few rows
    assert set(runs.listed) <= {"active/"} | {f"by-model/{n}/" for n in NAMES}
    assert len(runs.listed) <= 1 + overview.RECHECK
    runs.forget()
    models.forget()
    assert len(queries.list_runs(many, None, None, 50)[0]) == 7
    assert runs.reads == [overview.KEY] and runs.listed == [] and models.reads == []


def test_the_lists_follow_starts_runs_promotes_and_dry_runs(many):
    run(many, *NAMES)
    shown(many)  # the first lists build the overview
    run(many, "BRAVO")
    run(many, "DELTA", dry_run=True)
    promote(many, "ECHO", 1, reason="ops", actor="test")
    assert shown(many) == truth(many)
    (queued,) = start_runs(many, ["ALPHA"], trigger="test").runs
    rows, runs = shown(many)
    assert rows["ALPHA"]["last_run"]["status"] == "queued" and runs[0]["run_id"] == queued.run_id
    execute_run(many, queued.run_id)
    assert shown(many) == truth(many)


def test_an_unfinished_run_is_read_live_and_a_removed_one_disappears(many):
    run(many, *NAMES)
    shown(many)
    (queued,) = start_runs(many, ["CHARLIE"], trigger="test").runs
    record = many.runs.get(queued.run_id)
    record.status, record.stage = RunStatus.RUNNING, Stage.FIT
    many.runs.save(record)  # as an attempt does: no overview patch
    rows, runs = shown(many)
    assert (runs[0]["run_id"], runs[0]["stage"]) == (queued.run_id, "fit")
    assert rows["CHARLIE"]["last_run"]["stage"] == "fit"
    many.runs.store.delete(f"{queued.run_id}.json")
    many.runs.release("CHARLIE", queued.run_id)
    assert queued.run_id not in [r["run_id"] for r in shown(many)[1]]


def test_a_refused_start_never_shows_as_a_vanished_last_run(many):
    run(many, "ALPHA")
    (held,) = start_runs(many, ["ALPHA"], trigger="test").runs
    refused = start_runs(many, ["ALPHA"], trigger="test")
    assert refused.conflicts and not refused.runs
    many.runs.store.delete(overview.KEY)  # the rows are read from their sources
    rows, _ = shown(many)
    assert rows["ALPHA"]["last_run"]["run_id"] == held.run_id
    assert rows["ALPHA"]["last_run"]["error"] is None


def test_lost_overview_writes_never_fail_a_run_and_are_mended(many):
    run(many, *NAMES)
    shown(many)  # both lists: the overview holds every row and run
    many.runs.store.fail = True
    run(many, "BRAVO", "DELTA")
    promote(many, "ECHO", 1, reason="ops", actor="test")
    assert [r.status for r in many.runs.list(limit=2, models=NAMES)] == ["succeeded"] * 2
    many.runs.store.fail = False
    want_rows, want_runs = truth(many)
    held = overview.load(many).models
    assert held["BRAVO"] != want_rows["BRAVO"] and held["DELTA"] != want_rows["DELTA"]
    for _ in range(100):  # each request reads two rows again, at random
        rows, runs = shown(many)
        if rows == want_rows:
            break
    assert rows == want_rows
    assert {r["run_id"] for r in runs} == {r["run_id"] for r in want_runs}  # each last run


@pytest.mark.parametrize(
    "damage",
    [
        b"not json",
        b"{}",
        b'{"format": 1, "models": [], "runs": {}, "runs_from": null}',
        b'{"format": 1, "models": {"ALPHA": {"last_run": 3}}, "runs": {}, "runs_from": null}',
        b'{"format": 1, "models": {}, "runs": {"x": {"run_id": "x"}}, "runs_from": ""}',
    ],
)
def test_a_corrupt_overview_is_rebuilt(many, damage):
    run(many, *NAMES)
    shown(many)
    obj = many.runs.store.get(overview.KEY)
    many.runs.store.replace(overview.KEY, damage, obj.etag)
    listed = {m["name"]: m for m in queries.list_models(many)}
    if b"ALPHA" in damage:  # one bad row: only it is read again, and it says so
        assert "its overview row was not valid" in listed["ALPHA"]["mended"]
        assert not any("mended" in listed[name] for name in NAMES[1:])
    assert shown(many) == truth(many)
    assert overview.load(many).models  # written again


def test_a_filtered_or_long_list_beyond_the_held_runs_scans(many, monkeypatch):
    monkeypatch.setattr(overview, "KEEP_RUNS", 4)
    many.source.frames["ALPHA"] = toy_frame(rows=10)  # too few rows: the run fails
    run(many, "ALPHA")
    many.source.frames["ALPHA"] = toy_frame()
    run(many, *NAMES)
    run(many, "BRAVO", "CHARLIE")
    assert len(overview.load(many).runs) <= 4
    failed = queries.list_runs(many, None, "failed", 10)[0]
    assert [r.model for r in failed] == ["ALPHA"]
    assert [r.run_id for r in queries.list_runs(many, None, None, 50)[0]] == [
        r["run_id"] for r in truth(many)[1]
    ]
    assert len(queries.list_runs(many, None, None, 3)[0]) == 3


def test_lists_of_an_empty_store_write_nothing(many):
    assert [m["last_run"] for m in queries.list_models(many)] == [None] * len(NAMES)
    assert queries.list_runs(many, None, None, 50) == ([], [])
    assert many.runs.store.objects == {} and many.models.store.objects == {}


def test_two_promotes_racing_leave_the_overview_naming_the_aliass_champion(many, monkeypatch):
    """Issue 28, point 3: promote A moves the alias, reads its row, and its overview write is
    held until promote B has moved the alias back and written its row. A's write then loses
    its compare-and-swap and reads the row again, alias included: the overview stored last
    names the champion the alias names, not A's."""
    run(many, "ALPHA")
    run(many, "ALPHA")
    promote(many, "ALPHA", 2, reason="start at v2", actor="test")
    queries.list_models(many)  # the overview holds ALPHA's row
    store = many.runs.store
    held, released = threading.Event(), threading.Event()
    replace = store.replace

    def held_replace(key, data, etag):
        if key == overview.KEY and threading.current_thread().name == "A":
            held.set()
            released.wait(10)
        return replace(key, data, etag)

    monkeypatch.setattr(store, "replace", held_replace)
    a = threading.Thread(
        target=promote, args=(many, "ALPHA", 1), kwargs={"reason": "A", "actor": "a"}, name="A"
    )
    a.start()
    assert held.wait(10)  # A moved the alias to v1 and read its row; its write waits
    promote(many, "ALPHA", 2, reason="B", actor="b")  # B: the alias back to v2, row written
    released.set()
    a.join(10)
    assert many.models.champion("ALPHA").version == 2
    assert overview.load(many).models["ALPHA"]["champion_version"] == 2  # as stored
    for _ in range(20):
        row = next(m for m in queries.list_models(many) if m["name"] == "ALPHA")
        assert row["champion_version"] == 2 and "mended" not in row


def test_a_stale_champion_in_the_overview_is_never_shown_and_says_it_was_mended(many):
    """A patch lost after the alias moved (the mover died, storage failed): every models
    list reads every alias, so the stale row is corrected on the first request, says so
    once, and is written back."""
    run(many, *NAMES)
    run(many, "ALPHA")
    promote(many, "ALPHA", 2, reason="v2", actor="test")
    queries.list_models(many)
    overview.patch(many, lambda o: o.models["ALPHA"].update(champion_version=1))
    listed = {m["name"]: m for m in queries.list_models(many)}
    assert listed["ALPHA"]["champion_version"] == 2
    assert listed["ALPHA"]["mended"] == "the overview named v1 as champion; the alias names v2"
    assert not any("mended" in listed[name] for name in NAMES[1:])
    assert overview.load(many).models["ALPHA"]["champion_version"] == 2  # written back
    assert "mended" not in next(m for m in queries.list_models(many) if m["name"] == "ALPHA")


@pytest.mark.parametrize(
    "damage",
    [
        {"champion_version": "2"},
        {"champion_score": float("nan")},
        {"versions": -1},
        {"latest_version": [2]},
        {
            "latest_version": {
                "version": 2,
                "status": "promoted",
                "score": "0.9",
                "created_at": None,
            }
        },
        {"last_run": {"run_id": "x", "status": "exploded", "stage": "fit", "outcome": None}},
        {"error": {"code": "x", "message": "y"}},
        {"last_finished": {"run_id": "x", "status": "running"}},
        {
            "decay": {
                "key": "k",
                "checked_at": "t",
                "status": "ok",
                "version": 1,
                "score": "0.9",
                "card_score": None,
            }
        },
    ],
    ids=[
        *("version-text", "score-nan", "count", "latest-list", "latest-score", "status"),
        *("error", "finished", "decay-score"),
    ],
)
def test_an_overview_row_with_wrong_types_is_read_again_and_says_so(many, damage):
    run(many, *NAMES)
    queries.list_models(many)
    obj = many.runs.store.get(overview.KEY)
    stored = json.loads(obj.data)
    stored["models"]["BRAVO"].update(damage)
    many.runs.store.replace(overview.KEY, json.dumps(stored).encode(), obj.etag)
    listed = {m["name"]: m for m in queries.list_models(many)}
    assert "its overview row was not valid" in listed["BRAVO"]["mended"]
    assert shown(many) == truth(many)
    assert overview.load(many).models["BRAVO"] == truth(many)[0]["BRAVO"]  # written back
