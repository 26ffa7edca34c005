"""HTTP edge: JSON bodies in, JSON answers out, domain errors mapped to status codes here only.

Every error answers ``{"error": {"code", "message"}}``; never a traceback or a secret."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func
from loguru import logger

from retrain import strict_json
from retrain.domain import errors
from retrain.entrypoints import whole_numbers
from retrain.entrypoints.whole_numbers import MAX_VERSION
from retrain.service import rate_limit

__all__ = ["MAX_VERSION"]  # the handlers' name for it
MAX_BODY = 64 * 1024


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400, code: str = "bad_request") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


STATUS = [  # most specific first
    (errors.UnknownModelError, 404),
    (errors.NotFoundError, 404),
    (errors.RateLimitedError, 429),
    (errors.RunAlreadyActiveError, 409),
    (errors.ConflictError, 409),
    (errors.DataValidationError, 422),
    (errors.PromotionRefusedError, 422),
    (errors.ArtifactIntegrityError, 422),
    (errors.BackendError, 503),
    (errors.CorruptStateError, 500),
]


def respond(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        strict_json.dumps(body, indent=2),
        status_code=status,
        mimetype="application/json",
        headers=headers,
    )


def error(status: int, code: str, message: str, **extra: Any) -> func.HttpResponse:
    return respond({"error": {"code": code, "message": message, **extra}}, status)


def endpoint(handler: Callable[..., func.HttpResponse]) -> Callable[..., func.HttpResponse]:
    """Wrap a handler: BadRequest and domain errors become JSON errors; anything else a 500
    with a generic message (the details go to the log)."""

    @functools.wraps(handler)
    def wrapper(req: func.HttpRequest, *args: Any, **kwargs: Any) -> func.HttpResponse:
        try:
            return handler(req, *args, **kwargs)
        except BadRequest as exc:
            return error(exc.status, exc.code, str(exc))
        except errors.ConfigError as exc:  # app_services logged the problems in full
            names = setting_names(exc)
            return error(
                500,
                exc.code,
                f"the function app's settings are invalid: {', '.join(names)}; "
                "see the function logs",
                settings=names,
            )
        except errors.RetrainError as exc:
            status = next(
                s for kind, s in [*STATUS, (errors.RetrainError, 500)] if isinstance(exc, kind)
            )
            extra: dict[str, Any] = {}
            headers: dict[str, str] = {}
            if isinstance(exc, errors.RateLimitedError):
                extra = {"retry_after_s": exc.retry_after_s, "model": exc.model}
                headers = {"Retry-After": str(exc.retry_after_s)}
            if isinstance(exc, errors.RunAlreadyActiveError):
                extra = {"run_id": exc.run_id, "model": exc.model}
            if isinstance(exc, errors.UnknownModelError):
                extra = {"known_models": exc.known}
            if status >= 500:
                logger.error("{} {}: {}", req.method, urlsplit(req.url).path, exc)
            response = error(status, exc.code, str(exc), **extra)
            response.headers.update(headers)
            return response
        except Exception:
            logger.exception("unexpected error in {} {}", req.method, urlsplit(req.url).path)
            return error(500, "internal_error", "unexpected error; see the function logs")

    return wrapper


def setting_names(exc: errors.ConfigError) -> list[str]:
    """The settings a ConfigError names, never their values: each problem starts with its
    setting's name ("LOG_FORMAT must be 'text' or 'json'")."""
    first = [problem.split(" ", 1)[0] for problem in exc.problems]
    return [name for name in first if re.fullmatch(r"[A-Za-z][A-Za-z0-9_/]*", name)] or [
        "(see the function logs)"
    ]


def json_body(req: func.HttpRequest, allowed: set[str], limit: int = MAX_BODY) -> dict[str, Any]:
    content_type = (req.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise BadRequest(
            "send the body as JSON with Content-Type: application/json",
            415,
            "unsupported_media_type",
        )
    raw = req.get_body() or b""
    if len(raw) > limit:
        raise BadRequest(f"body is {len(raw)} bytes; the limit is {limit}", 413, "body_too_large")
    try:
        body = json.loads(raw or b"{}")
    except RecursionError:
        raise BadRequest("body is nested too deeply", 400, "malformed_json") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(
            f"body is not valid JSON: {str(exc)[:200]}", 400, "malformed_json"
        ) from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        shown = ", ".join(name[:40] for name in unknown[:5])
        raise BadRequest(f"unknown field(s) {shown}; allowed: {', '.join(sorted(allowed))}")
    return body


def whole_number(raw: str, name: str, low: int, high: int) -> int:
    """A query or route value as an int in [low, high]; anything else is a 400 (the CLI's
    arguments follow the same rule: entrypoints/whole_numbers.py)."""
    try:
        return whole_numbers.whole_number(raw, name, low, high)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def field(
    body: dict[str, Any],
    name: str,
    kind: type | tuple[type, ...],
    default: Any = None,
    required: bool = False,
) -> Any:
    if name not in body:
        if required:
            raise BadRequest(f"field {name!r} is required")
        return default
    value = body[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        expected = (
            kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        )
        raise BadRequest(f"field {name!r} must be {expected}, not {type(value).__name__}")
    return value


def base_url(req: func.HttpRequest) -> str:
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}"


def caller(req: func.HttpRequest) -> str | None:
    """Who calls, for the start rate limit: a hash of the function key the request carries
    (``x-functions-key`` or ``?code=``), else of the signed-in principal; never the key."""
    key = req.headers.get("x-functions-key") or req.params.get("code")
    return rate_limit.caller_id(key, req.headers.get("x-ms-client-principal-name"))


def actor(req: func.HttpRequest) -> str:
    """Who moved the champion, for the audit history: the signed-in principal that App
    Service Authentication puts in ``X-MS-CLIENT-PRINCIPAL-NAME``, else ``http`` (a function
    key names no one). Without App Service Authentication a caller can send that header
    itself, so it is recorded as what the request claims."""
    name = (req.headers.get("x-ms-client-principal-name") or "").strip()
    if not name:
        return "http"
    return "http:" + re.sub(r"[^\w@.+\-]", "_", name)[:128]
