"""Approve or reject a version awaiting approval (service/approval.py): Slack's buttons and
the console / API.

``POST /api/slack/interactions`` is Slack's interactivity request URL. It is anonymous
(Slack cannot send a function key): the signature is the authentication. Each request must
carry Slack's ``X-Slack-Signature`` over its body and an ``X-Slack-Request-Timestamp``
within five minutes of the app's clock, made with ``SLACK_SIGNING_SECRET``; anything else,
and every request while that setting is missing, gets 401 before its body is read. A click
that changes nothing (decided already, outdated, expired) is answered with a note only the
clicker sees; a decision updates the message in place (chat.update).

``POST /api/models/{name}/versions/{version}/approval`` (auth level FUNCTION) takes
``{"decision": "approve" | "reject", "reason": "..."}``; a refusal is 409
``approval_refused`` with ``kind`` (``decided``, ``outdated``, ``expired``,
``not_awaiting``)."""

from __future__ import annotations

from typing import Any

import azure.functions as func
from loguru import logger

from retrain.domain.errors import ApprovalRefusedError, NotFoundError, PromotionRefusedError
from retrain.entrypoints.app_services import services, settings
from retrain.entrypoints.http_io import (
    MAX_BODY,
    MAX_VERSION,
    BadRequest,
    actor,
    endpoint,
    error,
    field,
    json_body,
    respond,
    whole_number,
)

bp = func.Blueprint()


@bp.function_name("slack_interactions")
@bp.route(route="slack/interactions", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint
def slack_interactions(req: func.HttpRequest) -> func.HttpResponse:
    from retrain.adapters import slack_approval
    from retrain.service import approval

    secret = settings().slack_signing_secret
    if secret is None:
        logger.warning("Slack interaction refused: SLACK_SIGNING_SECRET is not set")
        raise BadRequest(
            "Slack interactivity is not set up: without SLACK_SIGNING_SECRET no request can "
            "be verified, so every one is refused",
            401,
            "slack_not_configured",
        )
    raw = req.get_body() or b""
    if len(raw) > MAX_BODY:
        raise BadRequest(
            f"body is {len(raw)} bytes; the limit is {MAX_BODY}", 413, "body_too_large"
        )
    svc = services()
    if not slack_approval.verified(secret.reveal(), raw, req.headers, svc.clock().timestamp()):
        logger.warning("Slack interaction refused: its signature is missing, stale or forged")
        raise BadRequest(
            "not signed by Slack: the signature is missing, forged, or older than 5 minutes",
            401,
            "invalid_signature",
        )
    try:
        click = slack_approval.parse(raw)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    replies = slack_approval.slack_replies(settings())
    try:
        decided = approval.decide(
            svc,
            click.model,
            click.version,
            click.action,
            actor=click.actor,
            reason=f"{approval.Decision(click.action).done} in Slack",
            run_id=click.run_id,
            update_message=False,  # the clicked message is updated below, with its blocks
        )
    except (ApprovalRefusedError, NotFoundError, PromotionRefusedError) as exc:
        logger.info("Slack {} of {} v{} refused: {}", click.action, click.model, click.version, exc)
        replies.ephemeral(click, f":warning: {exc}")
        return respond(_answer(str(exc)))  # 200: Slack shows an error for anything else
    logger.info("{} v{} {} by {}", click.model, click.version, decided["decision"], click.actor)
    replies.update(click, slack_approval.decided_message(click, decided))
    return respond(_answer(f"{click.model} v{click.version} {decided['decision']}"))


def _answer(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


@bp.function_name("decide_approval")
@bp.route(route="models/{name}/versions/{version}/approval", methods=["POST"])
@endpoint
def decide_approval(req: func.HttpRequest) -> func.HttpResponse:
    """``{"decision": "approve" | "reject", "reason": "..."}`` on a version awaiting approval."""
    from retrain.service import approval

    version = whole_number(req.route_params.get("version", ""), "version", 1, MAX_VERSION)
    body = json_body(req, {"decision", "reason"})
    decision = field(body, "decision", str, required=True)
    if decision not in ("approve", "reject"):
        raise BadRequest('field "decision" must be "approve" or "reject"')
    reason = field(body, "reason", str, required=True)
    if not reason.strip() or len(reason) > approval.REASON_CHARS:
        raise BadRequest(f'field "reason" must say why, in 1 to {approval.REASON_CHARS} characters')
    try:
        decided = approval.decide(
            services(), req.route_params.get("name", ""), version, decision,
            actor=actor(req), reason=reason,
        )  # fmt: skip
    except ApprovalRefusedError as exc:
        extra: dict[str, Any] = {"kind": exc.kind}
        if exc.decision is not None:
            extra["decision"] = exc.decision
        return error(409, exc.code, str(exc), **extra)
    return respond(decided)
