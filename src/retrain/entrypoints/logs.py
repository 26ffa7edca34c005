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

from retrain.redact import scrub_ordered, secret_values

TEXT_FORMAT = (
    "<green>{time:HH:mm:ss}</green> <level>{level: <7}</level> "
    "<cyan>{extra[model]}</cyan> {message}"
)


def _redactor(secrets: list[str], environment: str) -> Any:
    ordered = secret_values(secrets)

    def patch(record: Any) -> None:
        record["extra"].setdefault("model", "-")
        record["extra"].setdefault("run_id", "-")
        record["extra"].setdefault("environment", environment)
        record["message"] = scrub_ordered(record["message"], ordered)

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
    environment: str = "LOCAL",
) -> None:
    logger.remove()
    logger.configure(patcher=_redactor(secrets or [], environment))
    # the Azure SDK logs request URLs at INFO: keep it to warnings wherever logging goes
    logging.getLogger("azure").setLevel(logging.WARNING)
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
