"""Typed settings, read once from an injected mapping (``os.environ`` at the entry points).

Every problem is collected and reported in one ConfigError naming each setting. Secrets
are wrapped so that no repr, log line or error message shows them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from retrain.domain.errors import ConfigError

T = TypeVar("T")


class Secret:
    """A string that prints as '***'. ``reveal()`` is for the adapter that needs it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
_NCRONTAB = re.compile(r"^\S+(\s+\S+){5}$")
ENGINES = ("local", "dask")
_DASK_ADDRESS = re.compile(r"^(tcp|tls|ws|wss)://[^\s/:]+:\d{1,5}/?$")


@dataclass(frozen=True)
class Settings:
    home: Path
    training_db_url: Secret
    query_timeout_s: int
    connect_timeout_s: int
    max_rows: int | None
    postgres_use_managed_identity: bool
    artifact_dir: Path
    artifact_connection_string: Secret | None
    artifact_account_url: str | None
    artifact_container: str
    runs_container: str
    uami_client_id: str | None
    enable_slack: bool
    slack_bot_token: Secret | None
    slack_channel: str | None
    slack_webhook_url: Secret | None
    slack_api_url: str | None
    slack_timeout_s: float
    training_schedule: str
    max_attempts: int
    log_level: str
    log_format: str
    code_version: str | None
    training_engine: str = "local"
    dask_scheduler_address: str | None = None
    dask_partition_rows: int = 500_000
    dask_timeout_s: int = 3600

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> Settings:
        reader = _Reader(env)
        home = Path(reader.text("RETRAIN_HOME", ".retrain"))
        db = reader.text("TRAINING_DB_URL", "") or reader.text("POSTGRES_CONN_STR", "")
        if db and "://" not in db:
            reader.problem(
                "TRAINING_DB_URL/POSTGRES_CONN_STR",
                "must be a SQLAlchemy URL such as postgresql+psycopg2://user@host/db",
            )
        account_url = reader.text("ARTIFACT_ACCOUNT_URL", "") or None
        if account_url and not account_url.startswith(("https://", "http://")):
            reader.problem("ARTIFACT_ACCOUNT_URL", "must start with https://")
        slack_on = reader.flag("ENABLE_SLACK", False)
        token = reader.secret("SLACK_BOT_TOKEN") or reader.secret("SLACK_TOKEN")
        webhook = reader.secret("SLACK_WEBHOOK_URL")
        channel = reader.text("SLACK_CHANNEL", "") or None
        if slack_on and not (webhook or (token and channel)):
            reader.problem(
                "ENABLE_SLACK",
                "is true but neither SLACK_BOT_TOKEN + SLACK_CHANNEL nor SLACK_WEBHOOK_URL is set",
            )
        schedule = reader.text("TRAINING_SCHEDULE", "0 0 3 1 * *")
        if not _NCRONTAB.match(schedule.strip()):
            reader.problem(
                "TRAINING_SCHEDULE",
                "must be a six-field NCRONTAB expression "
                "(second minute hour day month weekday), e.g. '0 0 3 1 * *'",
            )
        log_format = reader.text("LOG_FORMAT", "text").lower()
        if log_format not in ("text", "json"):
            reader.problem("LOG_FORMAT", "must be 'text' or 'json'")
        log_level = reader.text("LOG_LEVEL", "INFO").upper()
        if log_level not in LOG_LEVELS:
            reader.problem("LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}")
        engine = _engine_settings(reader, db)
        settings = cls(
            home=home,
            training_db_url=Secret(db or f"sqlite:///{home / 'training.db'}"),
            query_timeout_s=reader.number("TRAINING_QUERY_TIMEOUT_S", 900, int, minimum=1),
            connect_timeout_s=reader.number("TRAINING_CONNECT_TIMEOUT_S", 15, int, minimum=1),
            max_rows=reader.number("TRAINING_MAX_ROWS", None, int, minimum=1),
            postgres_use_managed_identity=reader.flag("POSTGRES_USE_MANAGED_IDENTITY", False),
            artifact_dir=Path(reader.text("ARTIFACT_DIR", "") or home / "artifacts"),
            artifact_connection_string=reader.secret("ARTIFACT_CONNECTION_STRING"),
            artifact_account_url=account_url,
            artifact_container=reader.container("ARTIFACT_CONTAINER", "models"),
            runs_container=reader.container("RUNS_CONTAINER", "training-runs"),
            uami_client_id=reader.text("UAMI_CLIENT_ID", "") or None,
            enable_slack=slack_on,
            slack_bot_token=token,
            slack_channel=channel,
            slack_webhook_url=webhook,
            slack_api_url=reader.text("SLACK_API_URL", "") or None,
            slack_timeout_s=reader.number("SLACK_TIMEOUT_S", 30.0, float, minimum=1),
            training_schedule=schedule,
            max_attempts=reader.number("TRAINING_MAX_ATTEMPTS", 3, int, minimum=1),
            log_level=log_level,
            log_format=log_format,
            code_version=reader.text("RETRAIN_CODE_VERSION", "") or None,
            **engine,
        )
        if reader.problems:
            raise ConfigError(reader.problems)
        return settings

    def secrets(self) -> list[str]:
        """Every secret value, for the log redactor."""
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Secret) and value.reveal():
                out.append(value.reveal())
        return out

    @property
    def uses_blob(self) -> bool:
        return bool(self.artifact_connection_string or self.artifact_account_url)


def _engine_settings(reader: _Reader, db_url: str) -> dict[str, Any]:
    """TRAINING_ENGINE and, for ``dask``, the scheduler and the partition size."""
    engine = reader.text("TRAINING_ENGINE", "local").lower() or "local"
    address = reader.text("DASK_SCHEDULER_ADDRESS", "") or None
    if engine not in ENGINES:
        reader.problem("TRAINING_ENGINE", f"must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "dask" and not address:
        reader.problem(
            "TRAINING_ENGINE",
            "is dask but DASK_SCHEDULER_ADDRESS is not set (e.g. tcp://dask-scheduler:8786)",
        )
    if address and not _DASK_ADDRESS.match(address):
        reader.problem(
            "DASK_SCHEDULER_ADDRESS",
            f"must look like tcp://host:8786 (or tls://, ws://, wss://), not {address!r}",
        )
    if engine == "dask" and not db_url.startswith("postgresql"):
        reader.problem(
            "TRAINING_ENGINE",
            "is dask but the training database is not PostgreSQL: Dask workers read their "
            "partitions from TRAINING_DB_URL/POSTGRES_CONN_STR (postgresql+psycopg2://...)",
        )
    return {
        "training_engine": engine,
        "dask_scheduler_address": address,
        "dask_partition_rows": reader.number("DASK_PARTITION_ROWS", 500_000, int, minimum=100),
        "dask_timeout_s": reader.number("DASK_TIMEOUT_S", 3600, int, minimum=10),
    }


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def problem(self, name: str, message: str) -> None:
        self.problems.append(f"{name} {message}")

    def text(self, name: str, default: str) -> str:
        return self.env.get(name, default).strip()

    def secret(self, name: str) -> Secret | None:
        value = self.env.get(name, "").strip()
        return Secret(value) if value else None

    def flag(self, name: str, default: bool) -> bool:
        raw = self.env.get(name)
        if raw is None:
            return default
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        self.problem(name, f"must be true or false, not {raw!r}")
        return default

    def number(self, name: str, default: Any, kind: Callable[[str], T], minimum: float) -> Any:
        raw = self.env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = kind(raw)
        except ValueError:
            self.problem(name, f"must be a number, not {raw!r}")
            return default
        if value < minimum:  # type: ignore[operator]
            self.problem(name, f"must be at least {minimum}, not {raw!r}")
            return default
        return value

    def container(self, name: str, default: str) -> str:
        value = self.text(name, default)
        if not re.fullmatch(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}", value):
            self.problem(
                name,
                f"must be a valid container name (3-63 lowercase letters, "
                f"digits, single hyphens), not {value!r}",
            )
        return value
