"""Promise 2 under concurrency, on Azurite: per round, two overlapping firings of the monthly
timer and two HTTP starts race each other, then every message is delivered twice at once
and once more afterwards. Every round must end with one message per run, every run
finished, at most one version per run, one announcement per run and the champion moved
only by promoting runs. ``STRESS_ROUNDS`` sets the rounds (``make stress``: 60)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import pytest

from tests.faults.world import TALLY, World

ROUNDS = int(os.environ.get("STRESS_ROUNDS", "20"))


def _together(calls: list[Callable[[], object]]) -> list[object]:
    """Run ``calls`` in threads released at the same instant; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int, call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("stress")  # one demo database for every round


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_overlapping_starts_and_duplicate_deliveries(home, azurite, use, round_):
    world = World(home, azurite.connection_string, use, lease_s=1.0)
    timer_a, timer_b, post_all, post_one = _together(
        [
            world.fire_timer,
            world.fire_timer,
            lambda: world.post("all"),
            lambda: world.post(["KLASSE_ROH"]),
        ]
    )
    messages = [*timer_a, *timer_b, *post_all[1], *post_one[1]]
    assert messages, "nothing started"
    _together([lambda m=m: world.deliver(m) for m in messages for _ in range(2)])
    for message in messages:  # a stray redelivery after the fact
        world.deliver(message)
    world.check(messages, {spec.name: None for spec in world.svc.registry})
    TALLY.add(
        stress_rounds=1,
        messages=len(messages),
        deliveries=3 * len(messages),
        timer_firings=2,
        http_starts=2,
    )
