"""Promise 2 and 9 under storage failure: Azurite stopped right after each write of a run,
then started again. The run finishes exactly once: one version at most, the champion moved
only by a promoting run, one announcement, nothing left queued or marked active."""

from __future__ import annotations

import json

import pytest

from tests.faults.world import TALLY, Tripwire, World, restartable_azurite


def _record(stage: str | None = None, **fields: object):
    def when(key: str, data: bytes) -> bool:
        if "/" in key or not key.endswith(".json"):
            return False
        record = json.loads(data)
        if stage is not None and record.get("stage") != stage:
            return False
        return all(record.get(k) == v for k, v in fields.items())

    return when


# where a run loses its storage: right after this write landed
CUTS = {
    "claimed": ("runs", _record(status="running", stage="queued")),
    "load": ("runs", _record("load")),
    "validate": ("runs", _record("validate")),
    "fit": ("runs", _record("fit")),
    "evaluate": ("runs", _record("evaluate")),
    "card written": ("models", lambda k, d: k.endswith("/card.json")),
    "artifact written": ("models", lambda k, d: k.endswith("/model.skops")),
    "alias moved": ("models", lambda k, d: k.endswith("/champion.json")),
    "history written": ("models", lambda k, d: "/history/" in k),
    "final record": ("runs", _record(status="succeeded", notified=False)),
    "announced": ("runs", _record(notified=True)),
}


@pytest.mark.parametrize("cut", list(CUTS))
def test_storage_lost_after_each_write_of_a_run(tmp_path, use, cut):
    with restartable_azurite(tmp_path) as azurite:
        world = World(tmp_path / "home", azurite.connection_string, use)
        status, first = world.post(["KLASSE_ROH"])  # a champion to be judged against
        assert status == 202
        world.deliver(first[0])
        before = world.champions()

        which, when = CUTS[cut]
        repo = world.svc.runs if which == "runs" else world.svc.models
        wire = Tripwire(repo.store, when, azurite.stop)
        repo.store = wire
        status, second = world.post(["KLASSE_ROH"])
        assert status == 202
        world.deliver(second[0], before_retry=lambda: azurite.proc or azurite.start())
        if azurite.proc is None:
            azurite.start()
        assert wire.tripped, f"the run never wrote {cut!r}"
        world.deliver(second[0])  # a stray redelivery afterwards changes nothing
        world.check(first + second, {"KLASSE_ROH": None})
        TALLY.add(outages=1)
        assert world.champions()["KLASSE_ROH"] is not None and before["KLASSE_ROH"] == 1
