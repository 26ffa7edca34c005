"""POST /api/models/{name}/versions/{version}/approval: the console's and the API's way to
approve or reject a version awaiting approval, through the function app in-process."""

from __future__ import annotations

import dataclasses

import pytest

from retrain.domain.specs import Registry
from retrain.service import approval
from tests.functions.conftest import build_services, deliver, http, quick_registry

NAME = "KLASSE_ROH"


@pytest.fixture
def gated(tmp_path, use):
    """KLASSE_ROH needs approval; v1 was approved; v2 awaits."""
    spec = dataclasses.replace(quick_registry().get(NAME), approval="required")
    svc, settings = build_services(tmp_path, registry=Registry([spec]))
    use(svc, settings)
    for _ in range(2):
        started, msgs = http("start_training", "POST", "training", {"models": [NAME]})
        assert started.status == 202
        deliver(msgs.value)
        if svc.models.champion(NAME) is None:
            approval.decide(svc, NAME, 1, "approve", actor="cli:first", reason="first")
    return svc


def decide(version: str, body: object, headers: dict | None = None):
    return http(
        "decide_approval",
        "POST",
        f"models/{NAME}/versions/{version}/approval",
        body,
        route={"name": NAME, "version": version},
        headers=headers,
    )[0]


def test_approve_moves_the_champion_and_a_second_call_gets_409(gated):
    headers = {"x-ms-client-principal-name": "carol@example.com"}
    ok = decide("2", {"decision": "approve", "reason": "checked P04"}, headers)
    assert ok.status == 200, ok.text
    assert ok.json["decision"] == "approved" and ok.json["actor"] == "http:carol@example.com"
    assert gated.models.champion(NAME).version == 2
    again = decide("2", {"decision": "reject", "reason": "too late"})
    assert again.status == 409
    error = again.json["error"]
    assert (error["code"], error["kind"]) == ("approval_refused", "decided")
    assert error["decision"]["actor"] == "http:carol@example.com"
    assert gated.models.champion(NAME).version == 2


def test_models_list_shows_the_model_awaiting_approval(gated):
    (row,) = http("list_models")[0].json["models"]
    assert row["status"] == "awaiting_approval"
    assert row["latest_version"]["approval"]["decision"] is None
    decide("2", {"decision": "reject", "reason": "no"})
    (row,) = http("list_models")[0].json["models"]
    assert row["status"] != "awaiting_approval" and row["champion_version"] == 1


@pytest.mark.parametrize(
    ("version", "body", "status", "says"),
    [
        ("2", {"decision": "maybe", "reason": "r"}, 400, '"approve" or "reject"'),
        ("2", {"decision": "approve"}, 400, "'reason' is required"),
        ("2", {"decision": "approve", "reason": " "}, 400, "must say why"),
        ("2", {"decision": "approve", "reason": "r", "x": 1}, 400, "unknown field"),
        ("0", {"decision": "approve", "reason": "r"}, 400, "version"),
        ("9", {"decision": "approve", "reason": "r"}, 404, "no version 9"),
        ("1", {"decision": "approve", "reason": "r"}, 409, "already approved"),
    ],
)
def test_bad_requests_say_what_to_fix_and_change_nothing(gated, version, body, status, says):
    response = decide(version, body)
    assert response.status == status and says in response.json["error"]["message"]
    assert gated.models.champion(NAME).version == 1
