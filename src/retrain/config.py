"""Typed settings, read once from an injected mapping (``os.environ`` at the entry points).

Every problem is collected and reported in one ConfigError naming each setting, never a
value. Secrets are wrapped so that no repr, log line or error message shows them. Outside
``ENVIRONMENT=LOCAL`` the embedded defaults (SQLite, a local folder, console notices) must
be chosen explicitly: an app in Azure that lost a setting must not quietly train on a demo
database."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import SplitResult, urlsplit

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
ENVIRONMENTS = ("LOCAL", "DEV", "STAGING", "PROD")
DB_SCHEMES = ("postgresql", "postgresql+psycopg2", "sqlite", "sqlite+pysqlite")
_NCRONTAB = re.compile(r"^\S+(\s+\S+){5}$")
_KEY_VAULT = re.compile(r"^\s*@Microsoft\.KeyVault\s*\(", re.IGNORECASE)
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")  # ASCII only: no '1e9', '١٢', 'nan', 'inf'
_CONNECTION_KEYS = {
    "defaultendpointsprotocol",
    "accountname",
    "accountkey",
    "sharedaccesssignature",
    "blobendpoint",
    "queueendpoint",
    "tableendpoint",
    "fileendpoint",
    "endpointsuffix",
    "usedevelopmentstorage",
    "developmentstorageproxyuri",
}
ENGINES = ("local", "dask")
_DASK_ADDRESS = re.compile(r"^(tcp|tls|ws|wss)://[^\s/:]+:\d{1,5}/?$")


@dataclass(frozen=True)
class Settings:
    home: Path
    training_db_url: Secret
    query_timeout_s: int
    connect_timeout_s: int
    max_rows: int | None
    # MB a local run may use (training/memory.py); None: the instance's own limit; 0: no check
    memory_limit_mb: int | None
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
    decay_schedule: str  # the champion-decay timer (service/decay.py)
    max_attempts: int
    log_level: str
    log_format: str
    code_version: str | None
    environment: str = "LOCAL"
    training_engine: str = "local"
    dask_scheduler_address: str | None = None
    dask_partition_rows: int = 500_000
    dask_timeout_s: int = 3600
    dask_connect_timeout_s: int = 10
    # HTTP starts within START_LIMIT_WINDOW_S, per model and per caller key (0: no limit)
    start_limit_per_model: int = 12
    start_limit_per_caller: int = 60
    start_limit_window_s: int = 3600
    # corrections (POST /api/models/{name}/feedback): records per batch; batches one caller
    # may send a minute, per instance (0: no limit)
    feedback_max_records: int = 1000
    feedback_per_minute: int = 60
    # Slack's signing secret: verifies the interaction requests of the Approve / Reject
    # buttons (entrypoints/slack_interactions.py); None: every such request is refused
    slack_signing_secret: Secret | None = None

    @classmethod
    def from_environ(
        cls, env: Mapping[str, str], host: Mapping[str, Any] | None = None
    ) -> Settings:
        """``host``: the app's host.json, when known (the function app passes it), so that
        settings that must agree with it are checked too."""
        reader = _Reader(env)
        environment = reader.text("ENVIRONMENT", "LOCAL").upper()
        if environment not in ENVIRONMENTS:
            reader.problem("ENVIRONMENT", f"must be one of {', '.join(ENVIRONMENTS)}")
        home = Path(reader.text("RETRAIN_HOME", ".retrain"))
        db_name = "TRAINING_DB_URL" if reader.given("TRAINING_DB_URL") else "POSTGRES_CONN_STR"
        db = reader.text(db_name, "")
        if db:
            _check_db_url(reader, db_name, db)
        account_url = reader.text("ARTIFACT_ACCOUNT_URL", "") or None
        if account_url:
            _check_url(reader, "ARTIFACT_ACCOUNT_URL", account_url, ("https", "http"))
        connection = reader.secret("ARTIFACT_CONNECTION_STRING")
        if connection:
            _check_connection_string(reader, connection.reveal())
        slack_on = reader.flag("ENABLE_SLACK", False)
        token_name = "SLACK_BOT_TOKEN" if reader.given("SLACK_BOT_TOKEN") else "SLACK_TOKEN"
        token = reader.secret(token_name)
        if token and not re.fullmatch(r"xox[a-z]-[A-Za-z0-9-]+", token.reveal()):
            reader.problem(token_name, "must be a Slack token (xoxb-...)")
        webhook = reader.secret("SLACK_WEBHOOK_URL")
        if webhook:
            _check_url(reader, "SLACK_WEBHOOK_URL", webhook.reveal(), ("https", "http"), path=True)
        api_url = reader.text("SLACK_API_URL", "") or None
        if api_url:
            _check_url(reader, "SLACK_API_URL", api_url, ("https", "http"))
        channel = reader.text("SLACK_CHANNEL", "") or None
        signing_secret = reader.secret("SLACK_SIGNING_SECRET")
        if signing_secret and not re.fullmatch(r"[0-9a-f]{20,128}", signing_secret.reveal()):
            reader.problem("SLACK_SIGNING_SECRET", "must be the app's signing secret (hex digits)")
        if slack_on and not (webhook or (token and channel)):
            reader.problem(
                "ENABLE_SLACK",
                "is true but neither SLACK_BOT_TOKEN + SLACK_CHANNEL nor SLACK_WEBHOOK_URL is set",
            )
        schedule = reader.schedule("TRAINING_SCHEDULE", "0 0 3 1 * *")
        decay_schedule = reader.schedule("DECAY_SCHEDULE", "0 0 3 28 * *")
        log_format = reader.text("LOG_FORMAT", "text").lower()
        if log_format not in ("text", "json"):
            reader.problem("LOG_FORMAT", "must be 'text' or 'json'")
        log_level = reader.text("LOG_LEVEL", "INFO").upper()
        if log_level not in LOG_LEVELS:
            reader.problem("LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}")
        max_attempts = reader.number("TRAINING_MAX_ATTEMPTS", 3, int, 1, 20)
        if host is not None:
            _check_host(reader, host, env, max_attempts)
        if environment != "LOCAL":
            _refuse_embedded_defaults(reader, environment, env)
        engine = _engine_settings(reader, db)
        settings = cls(
            home=home,
            training_db_url=Secret(db or f"sqlite:///{home / 'training.db'}"),
            # a query cannot run longer than the function that waits for it (2 h)
            query_timeout_s=reader.number("TRAINING_QUERY_TIMEOUT_S", 900, int, 1, 7200),
            connect_timeout_s=reader.number("TRAINING_CONNECT_TIMEOUT_S", 15, int, 1, 300),
            max_rows=reader.number("TRAINING_MAX_ROWS", None, int, 1, 1_000_000_000),
            memory_limit_mb=reader.number("TRAINING_MEMORY_LIMIT_MB", None, int, 0, 10_000_000),
            postgres_use_managed_identity=reader.flag("POSTGRES_USE_MANAGED_IDENTITY", False),
            artifact_dir=Path(reader.text("ARTIFACT_DIR", "") or home / "artifacts"),
            artifact_connection_string=connection,
            artifact_account_url=account_url,
            artifact_container=reader.container("ARTIFACT_CONTAINER", "models"),
            runs_container=reader.container("RUNS_CONTAINER", "training-runs"),
            uami_client_id=reader.text("UAMI_CLIENT_ID", "") or None,
            enable_slack=slack_on,
            slack_bot_token=token,
            slack_channel=channel,
            slack_webhook_url=webhook,
            slack_api_url=api_url,
            slack_timeout_s=reader.number("SLACK_TIMEOUT_S", 30.0, float, 1, 300),
            training_schedule=schedule,
            decay_schedule=decay_schedule,
            max_attempts=max_attempts,
            log_level=log_level,
            log_format=log_format,
            code_version=reader.text("RETRAIN_CODE_VERSION", "") or None,
            environment=environment,
            start_limit_per_model=reader.number("START_LIMIT_PER_MODEL", 12, int, 0, 100_000),
            start_limit_per_caller=reader.number("START_LIMIT_PER_CALLER", 60, int, 0, 100_000),
            start_limit_window_s=reader.number("START_LIMIT_WINDOW_S", 3600, int, 1, 7 * 86400),
            feedback_max_records=reader.number("FEEDBACK_MAX_RECORDS", 1000, int, 1, 10_000),
            feedback_per_minute=reader.number("FEEDBACK_PER_MINUTE", 60, int, 0, 100_000),
            slack_signing_secret=signing_secret,
            **engine,
        )
        if reader.problems:
            raise ConfigError(reader.problems)
        return settings

    def secrets(self) -> list[str]:
        """Every secret value and every part of one that is secret on its own (the password
        in a URL, the key in a connection string, a webhook's path), for the redactors."""
        out = set()
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Secret) and value.reveal():
                out |= secret_parts(value.reveal(), path=f.name == "slack_webhook_url")
        return sorted((s for s in out if len(s) >= 4), key=len, reverse=True)

    @property
    def uses_blob(self) -> bool:
        return bool(self.artifact_connection_string or self.artifact_account_url)


# SQLAlchemy's URL pattern up to the host: scheme, user name, password (sqlalchemy.engine.url)
_SQLALCHEMY_USERINFO = re.compile(r"[\w+]+://(?:[^:/]*(?::([^@]*))?@)?")


def secret_parts(secret: str, path: bool = False) -> set[str]:
    """A secret and the parts of it that are secret on their own: a URL's password and query
    (a SAS token), its path when ``path`` (a webhook's path is its key), a connection
    string's key."""
    parts = {secret}
    if "://" in secret:
        try:
            url = urlsplit(secret)
            parts |= {url.password or "", url.query, url.path if path else ""}
        except ValueError:
            pass
        parts.add(_sqlalchemy_password(secret) or "")
    for pair in secret.split(";"):
        key, _, value = pair.partition("=")
        if key.strip().lower() in {"accountkey", "sharedaccesssignature", "password", "pwd"}:
            parts.add(value)
    return {p for p in parts if p}


def _engine_settings(reader: _Reader, db_url: str) -> dict[str, Any]:
    """TRAINING_ENGINE and, for ``dask``, the scheduler, the partition size and the bounds."""
    engine = reader.text("TRAINING_ENGINE", "local").lower() or "local"
    address = reader.text("DASK_SCHEDULER_ADDRESS", "") or None
    if engine not in ENGINES:
        reader.problem("TRAINING_ENGINE", f"must be one of {', '.join(ENGINES)}")
    if engine == "dask" and not address:
        reader.problem(
            "TRAINING_ENGINE",
            "is dask but DASK_SCHEDULER_ADDRESS is not set (e.g. tcp://dask-scheduler:8786)",
        )
    if address and not _DASK_ADDRESS.match(address):
        reader.problem(
            "DASK_SCHEDULER_ADDRESS",
            "must look like tcp://host:8786 (or tls://, ws://, wss://)",
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
        "dask_partition_rows": reader.number("DASK_PARTITION_ROWS", 500_000, int, 100, 10**8),
        # the queue worker follows the fit: it cannot wait longer than its function (2 h)
        "dask_timeout_s": reader.number("DASK_TIMEOUT_S", 3600, int, 10, 7200),
        # connect + Dask's handshake, and each question to the scheduler (a live one answers
        # in milliseconds): a scheduler that accepts TCP but never speaks fails the run here
        "dask_connect_timeout_s": reader.number("DASK_CONNECT_TIMEOUT_S", 10, int, 1, 300),
    }


class _Reader:
    """Reads settings and collects problems. A value is never echoed: settings can hold
    secrets, and an unresolved Key Vault reference names the vault."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def problem(self, name: str, message: str) -> None:
        if f"{name} {message}" not in self.problems:
            self.problems.append(f"{name} {message}")

    def given(self, name: str) -> bool:
        return bool((self.env.get(name) or "").strip())

    def raw(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None:
            return None
        if _KEY_VAULT.match(value):
            self.problem(
                name,
                "is an unresolved Key Vault reference: give the app's identity read access "
                "to the secret (Key Vault Secrets User) and check the reference",
            )
            return None
        return value.strip()

    def text(self, name: str, default: str) -> str:
        value = self.raw(name)
        return default if value is None else value

    def schedule(self, name: str, default: str) -> str:
        """A timer's six-field NCRONTAB expression (the host reads it as ``%NAME%``)."""
        value = self.text(name, default)
        if not _NCRONTAB.match(value.strip()):
            self.problem(
                name,
                "must be a six-field NCRONTAB expression "
                f"(second minute hour day month weekday), e.g. '{default}'",
            )
        return value

    def secret(self, name: str) -> Secret | None:
        value = self.raw(name)
        return Secret(value) if value else None

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        self.problem(name, "must be true or false")
        return default

    def number(
        self, name: str, default: Any, kind: Callable[[str], T], low: float, high: float
    ) -> Any:
        raw = self.raw(name)
        if not raw:
            return default
        if not _NUMBER.fullmatch(raw) or (kind is int and "." in raw):
            self.problem(name, f"must be a {'whole ' if kind is int else ''}number")
            return default
        value = kind(raw)
        if not (math.isfinite(value) and low <= value <= high):  # type: ignore[arg-type,operator]
            self.problem(name, f"must be from {low:g} to {high:g}")
            return default
        return value

    def container(self, name: str, default: str) -> str:
        value = self.text(name, default)
        if not re.fullmatch(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}", value):
            self.problem(
                name,
                "must be a valid container name (3-63 lowercase letters, digits, single hyphens)",
            )
        return value


def _parse_url(reader: _Reader, name: str, value: str) -> SplitResult | None:
    try:
        url = urlsplit(value)
        url.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        reader.problem(name, "is not a URL that can be parsed")
        return None
    return url


def _check_url(
    reader: _Reader, name: str, value: str, schemes: tuple[str, ...], path: bool = False
) -> None:
    url = _parse_url(reader, name, value)
    if url is None:
        return
    if url.scheme not in schemes or not url.hostname or (path and len(url.path) < 2):
        reader.problem(name, f"must be a {' or '.join(schemes)} URL with a host name")


def _sqlalchemy_password(url: str) -> str | None:
    """The password as SQLAlchemy's ``make_url`` reads it: up to the first '@' (urlsplit
    takes the last '@', and ends the host at a '/', '?' or '#' the password may hold)."""
    found = _SQLALCHEMY_USERINFO.match(url)
    return found.group(1) if found else None


def _check_db_url(reader: _Reader, name: str, value: str) -> None:
    url = _parse_url(reader, name, value)
    if url is None:
        return
    if _sqlalchemy_password(value) != url.password:  # never quoted: it is the password
        reader.problem(
            name,
            "has a user name or password that holds '@', '/', '?' or '#': percent-encode "
            "them (%40, %2F, %3F, %23), or the database driver reads part of the password "
            "as the host",
        )
        return
    example = "postgresql+psycopg2://user@host:5432/db or sqlite:///path/training.db"
    if url.scheme not in DB_SCHEMES:
        reader.problem(name, f"must be a SQLAlchemy URL such as {example}")
    elif url.scheme.startswith("postgresql") and not (url.hostname and url.path.strip("/")):
        reader.problem(name, f"must name a host and a database, such as {example}")
    elif url.scheme.startswith("sqlite") and not url.path.strip("/"):
        reader.problem(name, f"must name a database file, such as {example}")


def _check_connection_string(reader: _Reader, value: str) -> None:
    pairs = [part.partition("=") for part in value.split(";") if part.strip()]
    keys = {key.strip().lower() for key, _, _ in pairs}
    if (
        not pairs
        or any(not sep or not key.strip() for key, sep, _ in pairs)
        or not keys <= _CONNECTION_KEYS
        or not (
            "usedevelopmentstorage" in keys
            or {"accountname", "accountkey"} <= keys
            or ("sharedaccesssignature" in keys and "blobendpoint" in keys)
        )
    ):
        reader.problem(
            "ARTIFACT_CONNECTION_STRING",
            "must be a storage connection string (AccountName=...;AccountKey=...; or "
            "UseDevelopmentStorage=true)",
        )


def _check_host(
    reader: _Reader, host: Mapping[str, Any], env: Mapping[str, str], max_attempts: int
) -> None:
    """The queue's maxDequeueCount (host.json, or its app-setting override) is the number of
    attempts the runner counts on: the last one fails the run instead of retrying."""
    override = env.get("AzureFunctionsJobHost__extensions__queues__maxDequeueCount")
    queues = host.get("extensions", {}).get("queues", {}) if isinstance(host, Mapping) else {}
    dequeue = override if override else queues.get("maxDequeueCount", 5)
    if str(dequeue).strip() != str(max_attempts):
        reader.problem(
            "TRAINING_MAX_ATTEMPTS",
            "must equal the queue's maxDequeueCount in host.json (or "
            "AzureFunctionsJobHost__extensions__queues__maxDequeueCount)",
        )


def _refuse_embedded_defaults(reader: _Reader, environment: str, env: Mapping[str, str]) -> None:
    def unset(*names: str) -> bool:
        return not any((env.get(n) or "").strip() for n in names)

    outside = f"is required when ENVIRONMENT is {environment} (the embedded"
    if unset("TRAINING_DB_URL", "POSTGRES_CONN_STR"):
        reader.problem("TRAINING_DB_URL", f"{outside} SQLite database is for LOCAL only)")
    if unset("ARTIFACT_CONNECTION_STRING", "ARTIFACT_ACCOUNT_URL", "ARTIFACT_DIR"):
        reader.problem(
            "ARTIFACT_ACCOUNT_URL",
            f"{outside} local folder is for LOCAL only; or set ARTIFACT_CONNECTION_STRING, "
            "or ARTIFACT_DIR to choose a folder on purpose)",
        )
    if unset("ENABLE_SLACK"):
        reader.problem(
            "ENABLE_SLACK",
            f"{outside} console notices are for LOCAL only; set it to false on purpose)",
        )
