"""Settings and Services for the function app: built on first use, once per worker process.

Nothing happens at import (cold start); a ConfigError surfaces at the first invocation,
naming every bad setting. Tests install their own Services with ``override``."""

from __future__ import annotations

import os
import threading
from typing import Any

from retrain import bootstrap
from retrain.config import Settings
from retrain.entrypoints import logs
from retrain.service.context import Services

QUEUE = "training-jobs"
QUEUE_CONNECTION = "AzureWebJobsStorage"

_lock = threading.Lock()
_state: dict[str, Any] = {}


def settings() -> Settings:
    with _lock:
        if "settings" not in _state:
            loaded = bootstrap.load_settings(os.environ)
            logs.configure(
                loaded.log_level, loaded.log_format, loaded.secrets(), forward_to_logging=True
            )
            _state["settings"] = loaded
        return _state["settings"]


def services() -> Services:
    current = settings()
    with _lock:
        if "services" not in _state:
            _state["services"] = bootstrap.build(current)
        return _state["services"]


def override(svc: Services | None, settings: Settings | None = None) -> None:
    """Use ``svc`` (and ``settings``) instead of building them; ``None`` resets."""
    with _lock:
        _state.clear()
        if svc is not None:
            _state["services"] = svc
            _state["settings"] = settings or Settings.from_environ({})
