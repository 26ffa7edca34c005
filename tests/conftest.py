from __future__ import annotations

from datetime import UTC, datetime

import pytest

from retrain.domain.specs import Registry
from retrain.service.context import Services
from retrain.service.model_repository import ModelRepository
from retrain.service.run_repository import RunRepository
from tests.fakes import FakeSource, MemoryObjectStore, RecordingNotifier, toy_frame, toy_spec


@pytest.fixture
def svc() -> Services:
    """Services on fakes: one toy model, in-memory stores, a recording notifier."""
    return Services(
        registry=Registry([toy_spec()]),
        source=FakeSource({"TOY": toy_frame()}),
        models=ModelRepository(MemoryObjectStore()),
        runs=RunRepository(MemoryObjectStore()),
        notifier=RecordingNotifier(),
        clock=lambda: datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
    )


# the real services, for tests anywhere that run on both a fake and a real backend
from tests.integration.conftest import azurite, pg  # noqa: E402, F401


# The fault suite's tally (tests/faults/world.py). Under pytest-xdist each worker counts its own
# tests and hands the counts to the main process, which prints the sum. These hooks live here,
# not in tests/faults/conftest.py, because the main process never loads that file.
def pytest_sessionfinish(session: pytest.Session) -> None:
    from tests.faults.world import TALLY

    output = getattr(session.config, "workeroutput", None)  # set in an xdist worker only
    if output is not None:
        output["fault_tally"] = dict(TALLY.counts)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # type: ignore[no-untyped-def]
    from tests.faults.world import TALLY

    TALLY.add(**getattr(node, "workeroutput", {}).get("fault_tally", {}))


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    from tests.faults.world import TALLY

    if not TALLY.counts:
        return
    terminalreporter.section("fault injection: what ran (every promise held where it passed)")
    for key, value in sorted(TALLY.counts.items()):
        terminalreporter.write_line(f"  {key:<34} {value}")
