"""Training statistics (service/statistics.py) on in-memory stores with a pinned clock: what
counts, in which window, and what is never read."""

from __future__ import annotations

import dataclasses

import pytest

from retrain.domain.specs import Registry
from retrain.service import statistics
from retrain.service.context import Services
from tests.fakes import MemoryObjectStore, toy_spec
from tests.statistics_seed import NOW, add_move, add_run, check, days_ago, seed


@pytest.fixture
def three(svc: Services) -> Services:
    """Three toy models (ALPHA, BETA, GAMMA), the clock pinned at NOW."""
    registry = Registry([toy_spec(name) for name in ("ALPHA", "BETA", "GAMMA")])
    return dataclasses.replace(svc, registry=registry, clock=lambda: NOW)


class CountingStore(MemoryObjectStore):
    def __init__(self) -> None:
        super().__init__()
        self.read: list[str] = []

    def get(self, key: str):  # type: ignore[no-untyped-def]
        self.read.append(key)
        return super().get(key)


def test_every_figure_per_model_and_overall(three):
    unreadable = seed(three, "ALPHA", "BETA")
    check(statistics.compute(three, 90), "ALPHA", "BETA", "GAMMA", unreadable)


def test_a_shorter_window_counts_only_what_falls_in_it(three):
    seed(three, "ALPHA", "BETA")
    body = statistics.compute(three, 7)
    alpha = next(m for m in body["models"] if m["model"] == "ALPHA")
    assert alpha["runs"] == 1 and alpha["outcomes"]["unfinished"] == 1
    assert alpha["success_rate"] is None and alpha["last_success"] is None
    assert (alpha["promotions"], alpha["rollbacks"], alpha["dry_runs_excluded"]) == (0, 1, 1)
    assert body["since"] == "2026-11-15T09:00:00.000Z"
    assert body["unreadable"] == ["BETA/history/20261118T090000.000Z-000001-000000.json"]


def test_records_older_than_the_window_are_never_read(three):
    store = CountingStore()
    svc = dataclasses.replace(three, runs=type(three.runs)(store))
    add_run(svc, "ALPHA", days_ago(91), "succeeded", "promoted", 5, version=1)
    recent = add_run(svc, "ALPHA", days_ago(1), "succeeded", "promoted", 5, version=2)
    store.read.clear()
    body = statistics.compute(svc, 90)
    assert [k for k in store.read if k.endswith(".json") and "/" not in k] == [
        f"{recent.run_id}.json"
    ]
    assert body["overall"]["runs"] == 1


def test_a_first_champion_is_a_promotion_and_an_older_version_a_rollback(three):
    add_move(three, "GAMMA", 1, None, days_ago(9))
    add_move(three, "GAMMA", 3, 1, days_ago(8))
    add_move(three, "GAMMA", 2, 3, days_ago(7))
    add_move(three, "GAMMA", 1, 2, days_ago(6))
    gamma = statistics.compute(three, 30)["models"][2]
    assert (gamma["model"], gamma["promotions"], gamma["rollbacks"]) == ("GAMMA", 2, 2)


def test_nothing_stored_gives_zeros_and_creates_nothing(three):
    body = statistics.compute(three, 90)
    assert [m["runs"] for m in body["models"]] == [0, 0, 0]
    assert body["overall"]["success_rate"] is None and "unreadable" not in body
    assert not three.runs.store.objects and not three.models.store.objects


@pytest.mark.parametrize(
    ("values", "p95"),
    [
        ([7.0], 7.0),
        ([1.0, 2.0], 2.0),  # rank ceil(1.9) = 2
        ([float(v) for v in range(1, 21)], 19.0),  # rank 19 of 20
        ([float(v) for v in range(100, 0, -1)], 95.0),  # order does not matter
        ([float(v) for v in range(1, 102)], 96.0),  # rank ceil(95.95) = 96
    ],
)
def test_p95_is_the_nearest_rank(values, p95):
    assert statistics.nearest_rank(values, 95) == p95


def test_the_window_must_be_1_to_3650_days(three):
    for days in (0, 3651):
        with pytest.raises(ValueError, match="from 1 to 3650"):
            statistics.compute(three, days)
    assert statistics.compute(three, 3650)["since"] == "2016-11-24T09:00:00.000Z"


def test_a_run_awaiting_approval_has_a_column_of_its_own(three, capsys):
    """It was counted in ``runs`` and the success rate, but in no column of the CLI table
    or the console's panel: an extra key the docs did not list."""
    from retrain.entrypoints.cli import stats as cli_stats
    from retrain.entrypoints.cli.tables import table

    add_run(three, "ALPHA", days_ago(3), "succeeded", "awaiting_approval", 30.0, version=2)
    alpha = next(m for m in statistics.compute(three, 90)["models"] if m["model"] == "ALPHA")
    assert list(alpha["outcomes"]) == list(statistics.OUTCOMES)
    assert alpha["outcomes"]["awaiting_approval"] == 1 and alpha["runs"] == 1
    header, _, row = table([cli_stats._row("ALPHA", alpha)], cli_stats.RUN_COLUMNS).splitlines()
    assert header.split()[:4] == ["model", "runs", "promoted", "awaiting"]
    assert row.split()[:4] == ["ALPHA", "1", "0", "1"]
