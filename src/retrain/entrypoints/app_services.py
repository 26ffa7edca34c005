"""Settings and Services for the function app: built on first use, once per worker process.

Nothing happens at import (cold start). Settings are read at the first invocation; a
ConfigError there is logged with every problem and raised again at each invocation until
the app settings are fixed (the HTTP edge answers 500 naming the settings). Tests install
their own Services with ``override``."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, NoReturn

from loguru import logger

from retrain import bootstrap
from retrain.config import Settings
from retrain.domain.errors import ConfigError
from retrain.entrypoints import logs
from retrain.service.context import Services

_lock = threading.RLock()
_state: dict[str, Any] = {}


def settings() -> Settings:
    with _lock:
        if "settings" not in _state:
            try:
                loaded = Settings.from_environ(os.environ, host=host_json())
            except ConfigError as exc:
                _cannot_start(exc)
            logs.configure(
                loaded.log_level,
                loaded.log_format,
                loaded.secrets(),
                forward_to_logging=True,
                environment=loaded.environment,
            )
            _state.update(settings=loaded, logging=True)
        return _state["settings"]


def services() -> Services:
    with _lock:
        if "services" not in _state:
            current = settings()
            try:
                _state["services"] = bootstrap.build(current)
            except ConfigError as exc:
                _cannot_start(exc)
        return _state["services"]


def host_json() -> dict[str, Any] | None:
    """The app's host.json (next to function_app.py; the host names the folder in
    AzureWebJobsScriptRoot), or None where there is none, as under the CLI."""
    root = os.environ.get("AzureWebJobsScriptRoot") or Path(__file__).resolve().parents[3]  # noqa: SIM112
    try:
        data = json.loads((Path(root) / "host.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _cannot_start(exc: ConfigError) -> NoReturn:
    """Log every problem (setting names and what is wrong; secrets are never echoed by
    config.py) where the host collects it, then raise again."""
    if not _state.get("logging"):
        logs.configure(forward_to_logging=True)
        _state["logging"] = True
    logger.error("the function app cannot start: {}", exc)
    raise exc


def override(svc: Services | None, settings: Settings | None = None) -> None:
    """Use ``svc`` (and ``settings``) instead of building them; ``None`` resets."""
    with _lock:
        _state.clear()
        if svc is not None:
            _state.update(services=svc, settings=settings or Settings.from_environ({}))
