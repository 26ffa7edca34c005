"""Promise 9: storage 500s, refused connections and lost answers injected through the Azure
SDK's pipeline (a transport), at a rate where some operations exhaust the SDK's retries.
Whatever fails, every promise of point 2 holds once the queue is done with the messages."""

from __future__ import annotations

import os

import pytest

from tests.faults.world import TALLY, Faults, World

SEEDS = range(int(os.environ.get("FAULT_SEEDS", "2")))  # make stress: 20


@pytest.mark.parametrize("seed", SEEDS)
def test_storage_faults_through_the_sdk_pipeline(tmp_path, use, azurite, seed):
    faults = Faults(seed, rate=0.0)
    world = World(tmp_path, azurite.connection_string, use, transport=faults)
    messages: list[str] = []
    status, first = world.post(["KLASSE_ROH", "KLASSE_CORE"])  # champions to judge against
    assert status == 202
    for message in first:
        world.deliver(message)
    messages += first
    before = world.champions()

    faults.rate = 0.3
    for _ in range(5):  # the timer's retry policy fires again while nothing was created
        try:
            messages += world.fire_timer()
            break
        except Exception:
            TALLY.add(timer_retries=1)
    for _ in range(3):
        status, sent = world.post("all")
        assert status in (202, 409, 503), status
        messages += sent
    for message in messages[len(first) :]:
        world.deliver(message)
    faults.rate = 0.0
    world.check(messages, before)
    TALLY.add(fault_rounds=1, **{f"injected_{k}": v for k, v in faults.injected.items()})
    assert sum(faults.injected.values()) > 20  # the faults really happened
    faults.close()
