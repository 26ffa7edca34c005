"""The fault-injection suite: the function app's fixtures (the real services come from
tests/conftest.py), and a summary of what it injected and what broke."""

from __future__ import annotations

from tests.functions.conftest import quick_app, use  # noqa: F401 (fixtures)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    from tests.faults.world import TALLY

    if not TALLY.counts:
        return
    terminalreporter.section("fault injection: what ran (every promise held where it passed)")
    for key, value in sorted(TALLY.counts.items()):
        terminalreporter.write_line(f"  {key:<34} {value}")
