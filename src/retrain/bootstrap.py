"""The one place that builds adapters from settings (the composition root).

Every argument of ``build`` can be overridden, which is how tests plug in fakes."""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from retrain.config import Settings
from retrain.domain.errors import ConfigError
from retrain.domain.ports import Notifier, ObjectStore, TrainingEngine, TrainingSource
from retrain.domain.specs import Registry
from retrain.service.context import Services
from retrain.service.model_repository import ModelRepository
from retrain.service.rate_limit import StartLimits
from retrain.service.run_repository import RunRepository


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    return Settings.from_environ(os.environ if env is None else env)


def build(
    settings: Settings,
    *,
    registry: Registry | None = None,
    source: TrainingSource | None = None,
    model_store: ObjectStore | None = None,
    run_store: ObjectStore | None = None,
    notifier: Notifier | None = None,
    engine: TrainingEngine | None = None,
) -> Services:
    if registry is None:
        from retrain.classifiers import default_registry

        registry = default_registry()
    if model_store is None or run_store is None:
        models, runs = object_stores(settings)
        model_store = model_store or models
        run_store = run_store or runs
    source = source or training_source(settings)
    return Services(
        registry=registry,
        source=source,
        models=ModelRepository(model_store),
        runs=RunRepository(run_store),
        notifier=notifier or make_notifier(settings),
        max_rows=settings.max_rows,
        memory_limit_mb=memory_limit(settings),
        code_version=settings.code_version or git_commit(),
        environment=settings.environment,
        engine=engine or training_engine(settings, source),
        start_limits=StartLimits(
            settings.start_limit_per_model,
            settings.start_limit_per_caller,
            settings.start_limit_window_s,
        ),
    )


def memory_limit(settings: Settings) -> int | None:
    """The MB a local run may use: TRAINING_MEMORY_LIMIT_MB, else the instance's own limit
    (cgroup, else the machine's memory); 0 turns the pre-flight check off."""
    from retrain.training import memory

    if settings.memory_limit_mb is not None:
        return settings.memory_limit_mb or None
    return memory.instance_limit_mb()


def sql_engine(settings: Settings, url: str | None = None) -> Any:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    url = url or settings.training_db_url.reveal()
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            return create_engine(url)
        connect_args: dict[str, Any] = {"connect_timeout": settings.connect_timeout_s}
        engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ValueError, OSError) as exc:
        raise ConfigError(
            [f"TRAINING_DB_URL/POSTGRES_CONN_STR cannot be used ({type(exc).__name__})"]
        ) from None
    if settings.postgres_use_managed_identity:
        from retrain.adapters.postgres_identity import use_entra_token

        use_entra_token(engine, settings.uami_client_id)
    return engine


def training_source(settings: Settings) -> TrainingSource:
    from retrain.adapters.sql_source import SqlSource

    return SqlSource(sql_engine(settings), settings.query_timeout_s)


def training_engine(settings: Settings, source: TrainingSource) -> TrainingEngine | None:
    """TRAINING_ENGINE=dask: a Dask cluster fits (nothing connects until a run starts);
    local (None): the run fits in this process.

    The engine plans partitions on the database its workers read (TRAINING_DB_URL): through
    ``source`` when that is the app's SqlSource, else on an SqlSource of its own, built when
    a run first plans. A command that reads no training rows (the CLI's ``models``,
    ``versions``, ``runs``...) passes a stand-in source and so builds, imports and connects
    nothing for the engine."""
    if settings.training_engine != "dask":
        return None
    from retrain.adapters.dask_engine import DaskEngine
    from retrain.adapters.postgres_partitions import Database
    from retrain.adapters.sql_source import SqlSource

    if not settings.dask_scheduler_address:  # Settings.from_environ refuses this already
        raise ConfigError(["TRAINING_ENGINE=dask needs DASK_SCHEDULER_ADDRESS"])
    planner = source if isinstance(source, SqlSource) else functools.partial(_sql_source, settings)
    return DaskEngine(
        planner,
        Database(
            url=settings.training_db_url,
            query_timeout_s=settings.query_timeout_s,
            connect_timeout_s=settings.connect_timeout_s,
            managed_identity=settings.postgres_use_managed_identity,
            uami_client_id=settings.uami_client_id,
        ),
        address=settings.dask_scheduler_address,
        partition_rows=settings.dask_partition_rows,
        timeout_s=settings.dask_timeout_s,
        connect_timeout_s=settings.dask_connect_timeout_s,
    )


def _sql_source(settings: Settings) -> Any:
    return training_source(settings)  # an SqlSource: the engine plans with SQL


def object_stores(settings: Settings) -> tuple[ObjectStore, ObjectStore]:
    """(models store, runs store): Blob containers when configured, else local folders."""
    if settings.uses_blob:
        from retrain.adapters.blob_store import blob_stores

        return blob_stores(settings)
    from retrain.adapters.local_store import LocalObjectStore

    return (
        LocalObjectStore(settings.artifact_dir / settings.artifact_container),
        LocalObjectStore(settings.artifact_dir / settings.runs_container),
    )


def make_notifier(settings: Settings) -> Notifier:
    if settings.enable_slack:
        from retrain.adapters.slack_notifier import slack_notifier

        return slack_notifier(settings)
    from retrain.adapters.console_notifier import ConsoleNotifier

    return ConsoleNotifier()


def git_commit() -> str | None:
    """The commit of the code that trains (RETRAIN_CODE_VERSION wins; set it in images)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
