"""What a use case needs, in one object. ``bootstrap.build`` makes it from settings;
tests make it from fakes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from retrain.domain.ports import NoProgress, Notifier, Progress, TrainingEngine, TrainingSource
from retrain.domain.runs import utcnow
from retrain.domain.specs import ModelSpec, Registry
from retrain.service.model_repository import ModelRepository
from retrain.service.rate_limit import StartLimits
from retrain.service.run_repository import RunRepository


@dataclass
class Services:
    registry: Registry
    source: TrainingSource
    models: ModelRepository
    runs: RunRepository
    notifier: Notifier
    max_rows: int | None = None
    memory_limit_mb: int | None = None  # a local run's pre-flight check; None: no check
    code_version: str | None = None
    clock: Callable[[], datetime] = field(default=utcnow)
    environment: str = "LOCAL"  # LOCAL, DEV, STAGING or PROD: shown in cards, logs and Slack
    # a running attempt saves a heartbeat every heartbeat_s; one silent for lease_s is dead
    heartbeat_s: float = 20.0
    lease_s: float = 120.0
    progress: Progress = field(default_factory=NoProgress)
    engine: TrainingEngine | None = None  # None: fit in this process, on ``source``
    start_limits: StartLimits = field(default_factory=StartLimits)  # HTTP starts only

    def training_engine(self, spec: ModelSpec | None = None) -> tuple[TrainingEngine, str | None]:
        """(the engine a run of ``spec`` uses, why the configured one was passed over): the
        configured engine when it can train ``spec``, else the in-process engine over the
        current ``source`` (looked up per run, so a replaced source is the one used)."""
        refused = self.engine.refuses(spec) if self.engine and spec else None
        if self.engine is not None and refused is None:
            return self.engine, None
        from retrain.service.local_engine import LocalEngine

        return LocalEngine(self.source, self.memory_limit_mb), refused
