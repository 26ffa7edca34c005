"""POST /api/models/{name}/feedback: corrections from the people who see the predictions
(issue 27; service/feedback.py). Auth level FUNCTION.

Body: ``{"batch_id": "...", "records": [{"key" | "features", "predicted", "true_label",
"who", "when"}, ...]}``. 201 with what was kept and what was refused (each record's index
and errors); the same batch sent again answers the same; 409 the same ``batch_id`` with other
records; 413 a body over 2 MiB or more than FEEDBACK_MAX_RECORDS records; 422 no usable
record (nothing stored); 429 more than FEEDBACK_PER_MINUTE batches from one caller within a
minute, with Retry-After.

GET on the same route: the corrections per month, live agreement, newest disagreements."""

from __future__ import annotations

import math
import threading
import time
from collections import deque

import azure.functions as func

from retrain.domain.errors import RateLimitedError
from retrain.domain.feedback import FeedbackError
from retrain.entrypoints import app_services
from retrain.entrypoints.http_io import (
    BadRequest,
    caller,
    endpoint,
    error,
    field,
    json_body,
    respond,
    whole_number,
)
from retrain.service import feedback

bp = func.Blueprint()
MAX_FEEDBACK_BODY = 2 * 1024 * 1024
WINDOW_S = 60.0
STATUS = {"batch_too_large": 413, "no_valid_records": 422}  # else 400


class CallerRate:
    """Batches per caller within the last minute, counted in this process: each instance
    of the app counts its own (a guard against a runaway client, not an exact quota; the
    starts' limit, service/rate_limit.py, counts stored runs instead, which batches have
    no index of)."""

    def __init__(self) -> None:
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, who: str, limit: int, now: float) -> None:
        """Count one batch of ``who`` at ``now``; RateLimitedError when over ``limit``."""
        if not limit:
            return
        with self._lock:
            if len(self._sent) > 10_000:  # forget callers quiet for a minute
                for name in [n for n, t in self._sent.items() if t[-1] <= now - WINDOW_S]:
                    del self._sent[name]
            sent = self._sent.setdefault(who, deque())
            while sent and sent[0] <= now - WINDOW_S:
                sent.popleft()
            if len(sent) >= limit:
                retry = max(1, math.ceil(sent[0] + WINDOW_S - now))
                raise RateLimitedError(
                    f"this caller sent {len(sent)} correction batches in the last minute "
                    f"(FEEDBACK_PER_MINUTE={limit}); retry after {retry} s",
                    retry,
                )
            sent.append(now)


RATE = CallerRate()


@bp.function_name("post_feedback")
@bp.route(route="models/{name}/feedback", methods=["POST"])
@endpoint
def post_feedback(req: func.HttpRequest) -> func.HttpResponse:
    settings = app_services.settings()
    svc = app_services.services()
    RATE.check(caller(req) or "anonymous", settings.feedback_per_minute, time.monotonic())
    body = json_body(req, {"batch_id", "records"}, MAX_FEEDBACK_BODY)
    records = field(body, "records", list, required=True)
    if len(records) > settings.feedback_max_records:
        raise BadRequest(
            f"{len(records)} records in one batch; the limit is {settings.feedback_max_records} "
            "(FEEDBACK_MAX_RECORDS): send them in several batches",
            413,
            "batch_too_large",
        )
    try:
        answer = feedback.receive(
            svc,
            req.route_params.get("name", ""),
            field(body, "batch_id", str, required=True),
            records,
            max_records=settings.feedback_max_records,
        )
    except FeedbackError as exc:
        extra = {"refused": exc.refused} if exc.refused else {}
        return error(STATUS.get(exc.code, 400), exc.code, str(exc), **extra)
    return respond(answer, 201)


@bp.function_name("feedback_summary")
@bp.route(route="models/{name}/feedback", methods=["GET"])
@endpoint
def feedback_summary(req: func.HttpRequest) -> func.HttpResponse:
    """This month's corrections, per month over ``?months=`` (1 to 36, default 12), live
    agreement and the newest disagreements (service/feedback.py ``summary``)."""
    svc = app_services.services()
    spec = svc.registry.get(req.route_params.get("name", ""))
    raw = req.params.get("months") or "12"
    return respond(feedback.summary(svc, spec, whole_number(raw, "months", 1, 36)))
