"""Slack against a real local HTTP server (tests/fake_slack.py) and real training runs: a small
SQLite demo database, local stores in temporary folders, the notifier from the settings."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from retrain import bootstrap
from retrain.classifiers import klasse_roh
from retrain.classifiers.estimators import xgboost_hist
from retrain.config import Settings
from retrain.domain.runs import RunRecord
from retrain.domain.specs import Registry
from retrain.service.context import Services
from retrain.service.runner import execute_run
from retrain.service.start import Started, start_runs
from tests.fake_slack import FakeSlack

TOKEN = "xoxb-4242-4242-PlantedBotToken0"
AS_OF = date(2026, 11, 1)
TIMER_AT = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
QUICK = "KLASSE_ROH"


def slack_env(fake: FakeSlack, home: Path, db: Path, **extra: str) -> dict[str, str]:
    return {
        "RETRAIN_HOME": str(home),
        "TRAINING_DB_URL": f"sqlite:///{db}",
        "ENABLE_SLACK": "true",
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_CHANNEL": fake.channel_name,
        "SLACK_API_URL": fake.api_url,
        "SLACK_TIMEOUT_S": "2",
        **extra,
    }


def services(settings: Settings, registry: Registry | None = None, **kwargs: Any) -> Services:
    """``bootstrap.build`` with a clock that starts at the timer's hour and then runs."""
    svc = bootstrap.build(settings, registry=registry, **kwargs)
    started = time.monotonic()
    svc.clock = lambda: TIMER_AT + timedelta(seconds=time.monotonic() - started)
    return svc


def quick_registry() -> Registry:
    """KLASSE_ROH as registered, with fewer trees: a real XGBoost fit in well under a second."""
    spec = replace(klasse_roh.SPEC, estimator=lambda: xgboost_hist(n_estimators=20, max_depth=3))
    return Registry([spec])


def train(svc: Services, names: list[str], **kwargs: Any) -> tuple[Started, list[RunRecord]]:
    started = start_runs(svc, names, **kwargs)
    assert started.runs, started.conflicts
    return started, [execute_run(svc, r.run_id) for r in started.runs]


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sqlalchemy import create_engine

    from retrain.adapters import demo_data

    path = tmp_path_factory.mktemp("slack-db") / "training.db"
    engine = create_engine(f"sqlite:///{path}")
    demo_data.write(engine, demo_data.generate(3000, as_of=AS_OF))
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def champion_home(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Path:
    """A home whose quick KLASSE_ROH already has a champion (v1), trained once."""
    home = tmp_path_factory.mktemp("champion-home")
    settings = bootstrap.load_settings(
        {"RETRAIN_HOME": str(home), "TRAINING_DB_URL": f"sqlite:///{demo_db}"}
    )
    _, [record] = train(services(settings, quick_registry()), [QUICK], trigger="test")
    assert record.version == 1 and record.outcome == "promoted"
    return home


@pytest.fixture
def home(tmp_path: Path, champion_home: Path) -> Path:
    """A private copy of ``champion_home``: each test moves its own champion."""
    return Path(shutil.copytree(champion_home, tmp_path / "home"))


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(TOKEN) as server:
        yield server


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    """The warning (and worse) lines logged while the test runs."""
    lines: list[str] = []
    sink = logger.add(
        lambda m: lines.append(str(m).rstrip("\n")), level="WARNING", format="{message}"
    )
    yield lines
    logger.remove(sink)


@dataclass
class Monthly:
    fake: FakeSlack
    svc: Services
    started: Started
    records: list[RunRecord]
    calls: list  # the requests the batch made, in order


@pytest.fixture(scope="session")
def monthly(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Iterator[Monthly]:
    """The monthly timer's batch: the three seed classifiers, trained once for the session,
    reported to the fake Slack through the notifier bootstrap builds from the settings."""
    home = tmp_path_factory.mktemp("monthly-home")
    with FakeSlack(TOKEN) as server:
        svc = services(bootstrap.load_settings(slack_env(server, home, demo_db)))
        started, records = train(
            svc,
            svc.registry.names(),
            trigger="timer",
            reason="monthly schedule",
            at=TIMER_AT,
            tag="monthly",
        )
        yield Monthly(server, svc, started, records, list(server.calls))
