"""loguru configuration, done only at entry points.

Each line of a run carries its run id and model (``logger.contextualize`` in the runner).
``text`` for people, ``json`` lines for Azure; with ``forward_to_logging`` records also go
to the standard logging module, which the Functions host ships to Application Insights.
Every configured secret value is masked in every message."""

from __future__ import annotations

import logging
import sys
from typing import Any

from loguru import logger

TEXT_FORMAT = (
    "<green>{time:HH:mm:ss}</green> <level>{level: <7}</level> "
    "<cyan>{extra[model]}</cyan> {message}"
)


def _redactor(secrets: list[str]) -> Any:
    ordered = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def patch(record: Any) -> None:
        record["extra"].setdefault("model", "-")
        record["extra"].setdefault("run_id", "-")
        message = record["message"]
        for secret in ordered:
            if secret in message:
                message = message.replace(secret, "***")
        record["message"] = message

    return patch


class _ToStdlib:
    def write(self, message: Any) -> None:
        record = message.record
        level = logging.getLevelName(record["level"].name)
        logging.getLogger("retrain").log(
            level if isinstance(level, int) else logging.INFO, "%s", message.strip()
        )


def configure(
    level: str = "INFO",
    fmt: str = "text",
    secrets: list[str] | None = None,
    *,
    forward_to_logging: bool = False,
) -> None:
    logger.remove()
    logger.configure(patcher=_redactor(secrets or []))
    serialize = fmt == "json"
    # diagnose=False: loguru would otherwise print local variables (a connection string, a
    # token) next to each traceback frame; the redactor only sees the message
    safe: dict[str, Any] = {
        "level": level,
        "serialize": serialize,
        "diagnose": False,
        "backtrace": False,
    }
    if forward_to_logging:
        logger.add(_ToStdlib(), format="{message}", **safe)
    else:
        logger.add(
            sys.stderr, format="{message}" if serialize else TEXT_FORMAT, colorize=None, **safe
        )
