"""Human approval of a promotion: one use case for Slack's buttons, the CLI and the console.

A spec with ``approval="required"`` publishes a candidate the gate would promote with the
card status ``awaiting_approval`` and a deadline (``card["approval"]["expires_at"]``,
``approval_expires_days`` after publishing); the champion does not move. A person then
approves (the champion moves with the same compare-and-swap as a promote, the history names
them) or rejects it (nothing moves; the artifact is tagged ``rejected`` so it ages).

The decision is one create-only object next to the card,
``<MODEL>/versions/<n>/approval.json``: of two clicks, duplicated deliveries or a click and
a CLI call, exactly one writes it; every other answers ``decided`` and changes nothing.
Refused, and nothing changes (ApprovalRefusedError, ``kind``):

- ``not_awaiting``: the version's card does not await approval;
- ``decided``: it was approved or rejected already (who, when);
- ``outdated``: a newer version exists, the champion moved since the candidate was judged,
  or the button belongs to another run than the one that published the version;
- ``expired``: its deadline has passed.

An approval claims the decision first, then moves the alias (CAS on the champion it was
judged against). A lost race removes the claim again and answers ``outdated``; a process
that died between the two leaves a claim whose move the next attempt completes."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from loguru import logger

from retrain.domain.errors import (
    ApprovalRefusedError,
    ConflictError,
    NotFoundError,
    RetrainError,
)
from retrain.domain.ports import AlreadyExists, PreconditionFailed
from retrain.domain.runs import Outcome, RunRecord, iso
from retrain.domain.specs import ModelSpec
from retrain.service import lifecycle, overview, stored
from retrain.service.context import Services
from retrain.service.model_repository import ARTIFACT
from retrain.service.promote import verified_score

AWAITING = str(Outcome.AWAITING_APPROVAL)
DECISION = "approval.json"
REASON_CHARS = 500


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"

    @property
    def done(self) -> str:
        return "approved" if self is Decision.APPROVE else "rejected"


def key(model: str, version: int) -> str:
    return f"{model}/versions/{version}/{DECISION}"


def card_approval(spec: ModelSpec, created_at: datetime) -> dict[str, Any]:
    """What a card awaiting approval records: its deadline, fixed when it is published."""
    days = spec.approval_expires_days
    return {"expires_days": days, "expires_at": iso(created_at + timedelta(days=days))}


def expires_at(card: dict[str, Any]) -> str | None:
    held = card.get("approval")
    value = held.get("expires_at") if isinstance(held, dict) else None
    return value if isinstance(value, str) else None


def _decision(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("decision") not in ("approved", "rejected"):
        raise ValueError("not an approval decision")
    for name in ("actor", "decided_at"):
        if not isinstance(data.get(name), str):
            raise ValueError(f"{name!r} is not text")
    return data


def decision_of(svc: Services, model: str, version: int) -> dict[str, Any] | None:
    """The stored decision on ``model`` v``version``, None while there is none."""
    obj = svc.models.store.get(key(model, version))
    if obj is None:
        return None
    return stored.parse(obj, "approval decision", key(model, version), _decision)


def state(
    svc: Services, model: str, version: int, champion: int | None, newest: int
) -> dict[str, Any]:
    """A version's approval as the versions list shows it: ``state`` ``approved``,
    ``rejected``, ``outdated``, ``expired`` or ``awaiting`` (with who decided, when and why;
    the deadline; the champion it was judged against), or ``error`` naming what is
    unreadable."""
    try:
        card = svc.models.card(model, version)
        decision = decision_of(svc, model, version)
    except RetrainError as exc:
        return {"state": "unknown", "error": str(exc)}
    judged = (card.get("gate") or {}).get("champion_version")
    deadline = expires_at(card)
    out: dict[str, Any] = {"expires_at": deadline, "judged_against": judged}
    if decision is not None:
        fields = ("actor", "reason", "decided_at")
        return {**out, "state": decision["decision"], **{f: decision.get(f) for f in fields}}
    if newest > version or champion != judged:
        return {**out, "state": "outdated"}
    if deadline is not None and iso(svc.clock()) >= deadline:
        return {**out, "state": "expired"}
    return {**out, "state": "awaiting"}


def decide(
    svc: Services,
    name: str,
    version: int,
    decision: Decision | str,
    *,
    actor: str,
    reason: str,
    run_id: str | None = None,
    update_message: bool = True,
) -> dict[str, Any]:
    """Approve or reject ``name`` v``version``; ``run_id`` (a Slack button's) must be the
    run that published it. Returns the decision as stored, with ``champion_version``.
    ``update_message``: the notifier replaces the buttons of the run's message with the
    decision (False for a click, whose handler updates the message it came from)."""
    decision = Decision(decision)
    spec = svc.registry.get(name)
    card = svc.models.card(spec.name, version)  # NotFoundError for a version that is not there
    label = f"{spec.name} v{version}"
    if card.get("status") != AWAITING:
        raise ApprovalRefusedError(
            "not_awaiting",
            f"{label} does not await approval (its gate outcome: {card.get('status')}); "
            "nothing changed",
        )
    held = decision_of(svc, spec.name, version)
    judged = (card.get("gate") or {}).get("champion_version")
    champion = svc.models.champion_for_update(spec.name)
    current = champion.version if champion else None
    if held is not None:
        if held["decision"] == "approved" and current == judged and not _served(svc, spec, version):
            score = verified_score(svc, spec, version)  # a claim whose move was lost
            _move(svc, spec, version, card, held, champion, score)
        raise ApprovalRefusedError("decided", _decided(label, held), held)
    if run_id is not None and run_id != card.get("run_id"):
        raise ApprovalRefusedError(
            "outdated", f"{label} was published by run {card.get('run_id')}, not {run_id}"
        )
    newest = max(svc.models.versions(spec.name), default=version)
    if newest > version:
        raise ApprovalRefusedError(
            "outdated",
            f"{label} is outdated: v{newest} was published since; nothing changed",
        )
    if current != judged:
        was = f"v{judged}" if judged is not None else "no champion"
        now_is = f"v{current}" if current is not None else "none"
        raise ApprovalRefusedError(
            "outdated",
            f"{label} is outdated: it was judged against {was}, and the champion is now "
            f"{now_is}; nothing changed",
        )
    deadline = expires_at(card)
    now = iso(svc.clock())
    if deadline is not None and now >= deadline:
        raise ApprovalRefusedError(
            "expired",
            f"the approval of {label} expired at {deadline} "
            f"(approval_expires_days={(card.get('approval') or {}).get('expires_days')}); "
            f"nothing changed. Train again, or move the champion with "
            f"`retrain promote {spec.name} {version} --reason ...`",
        )
    score = None
    if decision is Decision.APPROVE:  # an artifact that cannot serve is refused first
        score = verified_score(svc, spec, version)
    record = {
        "model": spec.name,
        "version": version,
        "decision": decision.done,
        "actor": actor,
        "reason": reason.strip()[:REASON_CHARS] or f"{decision.done} without a reason",
        "decided_at": now,
        "run_id": card.get("run_id"),
        "judged_against": judged,
        "claim": secrets.token_hex(6),  # unique bytes: an equal object is this very write
    }
    try:
        etag = svc.models.store.create(key(spec.name, version), stored.dumps(record))
    except AlreadyExists:  # another click or caller decided first
        other = decision_of(svc, spec.name, version) or record
        raise ApprovalRefusedError("decided", _decided(label, other), other) from None
    if decision is Decision.APPROVE:
        try:
            _move(svc, spec, version, card, record, champion, score)
        except ConflictError:
            svc.models.store.delete(key(spec.name, version), etag)
            raise ApprovalRefusedError(
                "outdated", f"the champion of {spec.name} moved meanwhile; {label} was not approved"
            ) from None
    else:
        lifecycle.mark(
            svc.models.store,
            f"{spec.name}/versions/{version}/{ARTIFACT}",
            lifecycle.ArtifactStatus.REJECTED,
        )
        overview.note_model(svc, spec.name)
    run = _note_run(svc, record)
    if run is not None and update_message:
        try:
            svc.notifier.approval_decided(run)
        except Exception as exc:  # the decision stands; only its message is not updated
            logger.warning(
                "run {}'s message does not show the decision ({})", run.run_id, type(exc).__name__
            )
    shown = {k: v for k, v in record.items() if k != "claim"}
    return {**shown, "champion_version": version if decision is Decision.APPROVE else current}


def _note_run(svc: Services, record: dict[str, Any]) -> RunRecord | None:
    """The decision in the publishing run's record (``summary.approval``), so the run says
    what became of its candidate; the record as saved. Best effort: the decision object is
    what counts."""
    run_id = record.get("run_id")
    if not isinstance(run_id, str):
        return None
    fields = ("decision", "actor", "reason", "decided_at")
    try:
        run = svc.runs.get(run_id)
        run.summary["approval"] = {f: record[f] for f in fields}
        saved = svc.runs.save(run)
        overview.note_runs(svc, [saved])
        return saved
    except (RetrainError, PreconditionFailed) as exc:
        logger.warning("run {} does not show the decision ({})", run_id, type(exc).__name__)
        return None


def _move(
    svc: Services,
    spec: ModelSpec,
    version: int,
    card: dict[str, Any],
    record: dict[str, Any],
    champion: Any,
    score: float | None,
) -> None:
    """The champion move of an approval: compare-and-swap on the alias as judged."""
    svc.models.move_champion(
        spec.name,
        version,
        reason=f"approved: {record['reason']}",
        actor=record["actor"],
        expected=champion,
        run_id=card.get("run_id"),
        score=score,
    )
    overview.note_model(svc, spec.name)


def _served(svc: Services, spec: ModelSpec, version: int) -> bool:
    """Whether ``version`` is or ever was the champion (its alias or a history entry): an
    approval whose move was lost never was. A version rolled back since must not come back
    because its approval or rejection was sent again."""
    champion = svc.models.champion(spec.name)
    if champion is not None and champion.version == version:
        return True
    return any(entry.get("version") == version for entry in svc.models.history(spec.name))


def _decided(label: str, held: dict[str, Any]) -> str:
    return (
        f"{label} was already {held['decision']} by {held['actor']} at {held['decided_at']}; "
        "nothing changed"
    )


def awaiting(svc: Services, spec: ModelSpec, version: int) -> dict[str, Any] | None:
    """The approval facts of ``version`` (for a models-list row), None if its card does not
    await approval."""
    try:
        card = svc.models.card(spec.name, version)
    except NotFoundError:
        return None
    if card.get("status") != AWAITING:
        return None
    held = decision_of(svc, spec.name, version)
    return {
        "decision": held["decision"] if held else None,
        "expires_at": expires_at(card),
        "judged_against": (card.get("gate") or {}).get("champion_version"),
    }
