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
