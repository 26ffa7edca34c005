"""Human approval of a promotion on fakes (service/approval.py): a candidate that passes the
gate waits, one decision stands, and a decision that cannot apply changes nothing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from retrain.domain.errors import ApprovalRefusedError, ConflictError, PromotionRefusedError
from retrain.domain.runs import Outcome
from retrain.domain.specs import Registry
from retrain.service import approval, queries
from retrain.service.promote import promote
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.fakes import toy_spec

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # the svc fixture's pinned clock


@pytest.fixture
def gated(svc):
    """TOY with approval="required", its v1 approved (the champion); v2 awaits approval."""
    svc.registry = Registry([toy_spec(approval="required", approval_expires_days=7)])
    first = train(svc)
    assert first.outcome is Outcome.AWAITING_APPROVAL and svc.models.champion("TOY") is None
    approval.decide(svc, "TOY", 1, "approve", actor="cli:first", reason="first one")
    second = train(svc)
    assert second.outcome is Outcome.AWAITING_APPROVAL and second.version == 2
    return svc


def train(svc):
    started = start_runs(svc, ["TOY"], trigger="test")
    return execute_run(svc, started.runs[0].run_id)


def stored(svc) -> dict[str, bytes]:
    """Every object of both stores (models, runs)."""
    return {
        f"{name}:{key}": obj.data
        for name, store in (("models", svc.models.store), ("runs", svc.runs.store))
        for key, obj in store.objects.items()
    }


def refused(svc, version, decision="approve", **kwargs) -> ApprovalRefusedError:
    before = stored(svc)
    with pytest.raises(ApprovalRefusedError) as caught:
        approval.decide(svc, "TOY", version, decision, actor="cli:late", reason="r", **kwargs)
    assert stored(svc) == before  # nothing changed
    return caught.value


def test_a_candidate_that_passes_the_gate_is_stored_awaiting_and_the_champion_stays(gated):
    record = gated.runs.get(train_record_id(gated, 2))
    card = gated.models.card("TOY", 2)
    assert card["status"] == "awaiting_approval" and card["gate"]["outcome"] == "promoted"
    assert card["approval"] == {"expires_days": 7, "expires_at": "2026-11-29T09:00:00.000Z"}
    assert gated.models.champion("TOY").version == 1
    assert record.outcome is Outcome.AWAITING_APPROVAL
    assert record.summary["approval_expires_at"] == "2026-11-29T09:00:00.000Z"
    assert gated.notifier.runs[-1].outcome is Outcome.AWAITING_APPROVAL


def train_record_id(svc, version: int) -> str:
    return svc.models.card("TOY", version)["run_id"]


def test_approve_moves_the_champion_and_names_the_approver(gated):
    decided = approval.decide(gated, "TOY", 2, "approve", actor="slack:alice (U1)", reason="ok")
    assert decided["decision"] == "approved" and decided["champion_version"] == 2
    assert gated.models.champion("TOY").version == 2
    move = gated.models.history("TOY")[-1]
    assert (move["version"], move["previous_version"]) == (2, 1)
    assert move["actor"] == "slack:alice (U1)" and move["reason"] == "approved: ok"
    assert approval.decision_of(gated, "TOY", 2)["actor"] == "slack:alice (U1)"
    run = gated.runs.get(train_record_id(gated, 2))
    assert run.outcome is Outcome.AWAITING_APPROVAL  # how the run ended; the decision beside it
    assert run.summary["approval"]["decision"] == "approved"


def test_reject_moves_nothing_and_records_who_and_why(gated):
    decided = approval.decide(gated, "TOY", 2, "reject", actor="cli:bob", reason="misroutes P04")
    assert (decided["decision"], decided["champion_version"]) == ("rejected", 1)
    assert gated.models.champion("TOY").version == 1
    held = approval.decision_of(gated, "TOY", 2)
    assert (held["actor"], held["reason"]) == ("cli:bob", "misroutes P04")


@pytest.mark.parametrize("first", ["approve", "reject"])
@pytest.mark.parametrize("second", ["approve", "reject"])
def test_a_second_decision_is_refused_naming_the_first(gated, first, second):
    approval.decide(gated, "TOY", 2, first, actor="slack:alice (U1)", reason="first")
    error = refused(gated, 2, second)
    assert error.kind == "decided" and "by slack:alice (U1)" in str(error)
    assert gated.models.champion("TOY").version == (2 if first == "approve" else 1)


def test_the_same_click_delivered_twice_at_once_moves_once_and_keeps_the_decision(
    gated, monkeypatch
):
    """Two deliveries of one click in the same instant (the pinned clock): the second read
    the state before the first landed, so only the create-only decision can stop it."""
    before = gated.models.champion_for_update("TOY")
    click = dict(actor="slack:alice (U1)", reason="approved in Slack")
    approval.decide(gated, "TOY", 2, "approve", **click)
    history = gated.models.history("TOY")
    real = approval.decision_of
    monkeypatch.setattr(approval, "decision_of", lambda *args: None)
    monkeypatch.setattr(gated.models, "champion_for_update", lambda name: before)
    with pytest.raises(ApprovalRefusedError) as caught:
        approval.decide(gated, "TOY", 2, "approve", **click)
    assert caught.value.kind == "decided"
    assert gated.models.history("TOY") == history and gated.models.champion("TOY").version == 2
    assert real(gated, "TOY", 2)["actor"] == "slack:alice (U1)"


def test_a_newer_version_makes_the_candidate_outdated(gated):
    train(gated)  # v3, judged against v1 as well
    error = refused(gated, 2)
    assert error.kind == "outdated" and "v3 was published since" in str(error)
    assert gated.models.champion("TOY").version == 1


def test_a_champion_moved_since_the_candidate_was_judged_makes_it_outdated(gated):
    approval.decide(gated, "TOY", 2, "approve", actor="cli:bob", reason="yes")
    train(gated)  # v3 awaits, judged against v2
    promote(gated, "TOY", 1, reason="v2 misroutes P04: back to v1", actor="cli:carol")
    error = refused(gated, 3)
    assert error.kind == "outdated" and "judged against v2" in str(error)
    assert gated.models.champion("TOY").version == 1


def test_a_decision_sent_again_after_a_rollback_does_not_bring_the_version_back(gated):
    """The second approve (or reject) of v2 took the branch that completes an approval
    whose move was lost, and moved the champion back to the rolled-back v2."""
    approval.decide(gated, "TOY", 2, "approve", actor="cli:bob", reason="looks good")
    promote(gated, "TOY", 1, reason="v2 misroutes P04", actor="cli:carol")
    for again in ("approve", "reject"):
        with pytest.raises(ApprovalRefusedError) as error:
            approval.decide(gated, "TOY", 2, again, actor="slack:U1", reason="again")
        assert error.value.kind == "decided"
        assert gated.models.champion("TOY").version == 1
    assert [h["version"] for h in gated.models.history("TOY")][-1] == 1


def test_a_rejected_version_never_serves_and_one_awaiting_is_approved_not_promoted(gated):
    with pytest.raises(PromotionRefusedError, match="awaits approval: approve it"):
        promote(gated, "TOY", 2, reason="skip the approval", actor="cli:carol")
    approval.decide(gated, "TOY", 2, "reject", actor="cli:bob", reason="misroutes P04")
    with pytest.raises(PromotionRefusedError, match="rejected on approval by cli:bob"):
        promote(gated, "TOY", 2, reason="v2 after all", actor="cli:carol")
    assert gated.models.champion("TOY").version == 1


def test_after_the_deadline_the_approval_has_expired(gated):
    gated.clock = lambda: NOW + timedelta(days=7)
    error = refused(gated, 2)
    assert error.kind == "expired" and "2026-11-29T09:00:00.000Z" in str(error)
    gated.clock = lambda: NOW + timedelta(days=7) - timedelta(milliseconds=1)
    approval.decide(gated, "TOY", 2, "approve", actor="cli:just", reason="in time")
    assert gated.models.champion("TOY").version == 2


def test_a_button_of_another_run_is_refused(gated):
    assert refused(gated, 2, run_id="20261122T090000Z-TOY-other").kind == "outdated"


def test_a_version_that_awaits_nothing_is_refused(svc):
    assert train(svc).outcome is Outcome.PROMOTED  # approval="none": today's behaviour
    assert refused(svc, 1).kind == "not_awaiting"


def test_a_lost_race_for_the_alias_removes_the_claim(gated, monkeypatch):
    def lost(*args, **kwargs):
        raise ConflictError("the champion alias changed")

    monkeypatch.setattr(gated.models, "move_champion", lost)
    assert refused(gated, 2).kind == "outdated"
    assert approval.decision_of(gated, "TOY", 2) is None


def test_a_claim_whose_move_was_lost_is_completed_by_the_next_attempt(gated, monkeypatch):
    real = gated.models.move_champion
    monkeypatch.setattr(gated.models, "move_champion", _dies)
    with pytest.raises(RuntimeError):
        approval.decide(gated, "TOY", 2, "approve", actor="slack:alice (U1)", reason="ok")
    assert approval.decision_of(gated, "TOY", 2)["decision"] == "approved"
    assert gated.models.champion("TOY").version == 1
    monkeypatch.setattr(gated.models, "move_champion", real)
    with pytest.raises(ApprovalRefusedError, match="already approved by slack:alice"):
        approval.decide(gated, "TOY", 2, "approve", actor="slack:alice (U1)", reason="ok")
    assert gated.models.champion("TOY").version == 2
    assert gated.models.history("TOY")[-1]["actor"] == "slack:alice (U1)"


def _dies(*args, **kwargs):
    raise RuntimeError("the worker died")


def test_health_and_lists_show_the_awaiting_version(gated):
    (row,) = queries.list_models(gated)
    assert row["status"] == "awaiting_approval"
    assert row["reasons"] == ["v2 passed the gate and awaits approval until 2026-11-29 09:00 UTC"]
    versions = {v["version"]: v for v in queries.list_versions(gated, "TOY")}
    assert versions[2]["approval"]["state"] == "awaiting"
    assert versions[1]["approval"]["state"] == "approved"
    gated.clock = lambda: NOW + timedelta(days=8)
    assert queries.list_models(gated)[0]["status"] == "healthy"
    assert queries.list_versions(gated, "TOY")[1]["approval"]["state"] == "expired"
    gated.clock = lambda: NOW
    approval.decide(gated, "TOY", 2, "reject", actor="cli:bob", reason="no")
    (row,) = queries.list_models(gated)
    assert row["status"] == "healthy" and row["champion_version"] == 1
    assert queries.list_versions(gated, "TOY")[1]["approval"]["state"] == "rejected"


def test_spec_checks_its_approval_settings():
    with pytest.raises(ValueError, match="approval must be one of none, required"):
        toy_spec(approval="maybe")
    with pytest.raises(ValueError, match="approval_expires_days"):
        toy_spec(approval="required", approval_expires_days=0)
    assert dataclasses.replace(toy_spec(), approval="required").approval_required
