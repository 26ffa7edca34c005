"""loguru configuration, done only at entry points.

Each line of a run carries its run id and model (``logger.contextualize`` in the runner).
``text`` for people: ``15:02:11 INFO    KLASSE_ROH 20261123T150211Z-KLASSE_ROH-1a2b3c4d
stage fit``. ``json`` for Azure: one compact object a line with the keys ``time``, ``level``,
``message``, ``run_id``, ``model``, ``stage`` (null outside a run), any other bound field,
and ``exception`` when there is one. With ``forward_to_logging`` records also go to the
standard logging module, which the Functions host ships to Application Insights.
Every configured secret value is masked in every message, bound field and traceback."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from typing import Any

from loguru import logger

from retrain.domain.runs import iso
from retrain.redact import scrub_ordered, secret_values

TEXT_FORMAT = (
    "<green>{time:HH:mm:ss}</green> <level>{level: <7}</level> "
    "<cyan>{extra[_where]}</cyan>{message}{extra[_exception]}\n"
)
# always present in JSON lines (null outside a run); environment: LOCAL, DEV, STAGING, PROD
CONTEXT = ("run_id", "model", "stage", "environment")
_INTERNAL = ("_where", "_exception", "_json")


def _mask(text: str, secrets: list[str]) -> str:
    return str(scrub_ordered(text, secrets))


def _exception_text(record: Any, secrets: list[str]) -> str:
    exc = record["exception"]
    if exc is None or exc.type is None:
        return ""
    # the standard formatting shows no local variables (loguru's diagnose would)
    lines = traceback.format_exception(exc.type, exc.value, exc.traceback)
    return _mask("".join(lines).rstrip("\n"), secrets)


def _json_line(record: Any) -> str:
    extra = record["extra"]
    line: dict[str, Any] = {
        "time": iso(record["time"]),
        "level": record["level"].name,
        "message": record["message"],
    }
    line.update({key: None if extra.get(key, "-") == "-" else extra[key] for key in CONTEXT})
    line.update(
        {k: v for k, v in extra.items() if k not in CONTEXT and k not in _INTERNAL and v != "-"}
    )
    if extra["_exception"]:
        line["exception"] = extra["_exception"].lstrip("\n")
    return json.dumps(line, default=str, ensure_ascii=False, separators=(",", ":"))


def _patcher(secrets: list[str], fmt: str, environment: str) -> Any:
    ordered = secret_values(secrets)

    def patch(record: Any) -> None:
        extra = record["extra"]
        for key, value in extra.items():
            if isinstance(value, str):
                extra[key] = _mask(value, ordered)
        extra.setdefault("model", "-")
        extra.setdefault("run_id", "-")
        extra.setdefault("environment", environment)
        record["message"] = _mask(record["message"], ordered)
        exception = _exception_text(record, ordered)
        extra["_exception"] = "\n" + exception if exception else ""
        in_run = [extra[k] for k in ("model", "run_id") if extra[k] != "-"]
        if environment != "LOCAL":  # a line from PROD never passes for one from DEV
            in_run.insert(0, environment)
        extra["_where"] = " ".join(in_run) + " " if in_run else ""
        if fmt == "json":
            extra["_json"] = _json_line(record)

    return patch


def _format(fmt: str) -> Any:
    # a callable: loguru appends nothing (a string format would get loguru's own traceback)
    line = "{extra[_json]}\n" if fmt == "json" else TEXT_FORMAT
    return lambda record: line


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
    stream: Any = None,
    environment: str = "LOCAL",
) -> None:
    """Send log lines to ``stream`` (default stderr), or to the standard logging module.
    ``stream`` may be any object with ``write``, such as a progress display that clears
    its live line before a log line and redraws it after."""
    logger.remove()
    logger.configure(patcher=_patcher(secrets or [], fmt, environment))
    # the Azure SDK logs request URLs at INFO: keep it to warnings wherever logging goes
    logging.getLogger("azure").setLevel(logging.WARNING)
    # diagnose=False / backtrace=False: loguru would otherwise print local variables (a
    # connection string, a token) next to each traceback frame; tracebacks are formatted
    # by the patcher instead, without locals and with secrets masked
    safe: dict[str, Any] = {"level": level, "diagnose": False, "backtrace": False}
    if forward_to_logging:
        logger.add(_ToStdlib(), format=_format(fmt), colorize=False, **safe)
    else:
        sink = sys.stderr if stream is None else stream
        colorize = None if fmt == "text" else False
        logger.add(sink, format=_format(fmt), colorize=colorize, **safe)
