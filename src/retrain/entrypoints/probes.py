"""Dependency checks that answer within a deadline, whatever hangs behind them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def probe_all(probes: dict[str, Callable[[], None]], deadline_s: float) -> dict[str, str]:
    """Run every probe at once in a daemon thread; each is "ok", "unavailable (<error
    class>)" or "no answer within <deadline> s". A hung probe is left behind: its thread
    ends when its own timeout fires, and never delays the answer."""
    results: dict[str, str] = {}

    def run(name: str, probe: Callable[[], None]) -> None:
        try:
            probe()
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"unavailable ({type(exc).__name__})"

    threads = [
        threading.Thread(target=run, args=item, name=f"probe-{item[0]}", daemon=True)
        for item in probes.items()
    ]
    for thread in threads:
        thread.start()
    until = time.monotonic() + deadline_s
    for thread in threads:
        thread.join(max(0.0, until - time.monotonic()))
    return {name: results.get(name, f"no answer within {deadline_s:g} s") for name in probes}
