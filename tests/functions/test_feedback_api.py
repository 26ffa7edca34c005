"""POST /api/models/{name}/feedback in-process (issue 27): what it keeps, refuses and limits,
and a model's next version trained with the corrections it received."""

from __future__ import annotations

import dataclasses

import pytest

from retrain.domain.specs import Registry
from retrain.entrypoints import feedback_api
from tests.functions.conftest import build_services, deliver, http, quick_registry


@pytest.fixture(autouse=True)
def fresh_rate(monkeypatch):
    """Each test counts its own batches per caller (the limit is per process)."""
    monkeypatch.setattr(feedback_api, "RATE", feedback_api.CallerRate())


def correction(key=17, true_label="B", **extra):
    return {
        "key": key,
        "predicted": "A",
        "true_label": true_label,
        "who": "planner.anna",
        "when": "2026-11-20T08:15:00Z",
        **extra,
    }


def post(model="KLASSE_ROH", body=None, **kwargs):
    response, _ = http(
        "post_feedback", "POST", f"models/{model}/feedback", body, route={"name": model}, **kwargs
    )
    return response


def test_good_records_are_kept_bad_ones_named_and_a_resend_answers_the_same(quick_app):
    batch = [correction(17), correction(18, who=""), correction(19, true_label="Z")]
    first = post(body={"batch_id": "line-3-2026-11-20", "records": batch})
    assert first.status == 201, first.text
    assert (first.json["accepted"], first.json["unknown_class"]) == (2, 0)
    assert first.json["refused"] == [
        {"index": 1, "errors": [first.json["refused"][0]["errors"][0]]}
    ]
    assert "who is required" in first.json["refused"][0]["errors"][0]
    assert first.json["key"] == "feedback/KLASSE_ROH/2026/11/line-3-2026-11-20.jsonl.gz"
    stored = quick_app.models.store.list("feedback/")
    again = post(body={"batch_id": "line-3-2026-11-20", "records": batch})
    assert (again.status, again.json) == (201, first.json)
    assert quick_app.models.store.list("feedback/") == stored
    other = post(body={"batch_id": "line-3-2026-11-20", "records": batch[:1]})
    assert other.status == 409 and other.json["error"]["code"] == "batch_id_conflict"


def test_unknown_class_is_flagged_once_a_champion_knows_its_classes(quick_app):
    _, msgs = http("start_training", "POST", "training", {"models": ["KLASSE_ROH"]})
    deliver(msgs.value)
    answer = post(body={"batch_id": "b1", "records": [correction(true_label="Z"), correction(5)]})
    assert answer.status == 201
    assert (answer.json["unknown_class"], answer.json["classes_from"]) == (1, 1)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"batch_id": "b", "records": [{**correction(), "who": ""}]}, 422, "no_valid_records"),
        ({"batch_id": "b", "records": []}, 400, "bad_batch"),
        ({"batch_id": "../b", "records": [correction()]}, 400, "bad_batch"),
        ({"records": [correction()]}, 400, "bad_request"),
        ({"batch_id": "b", "records": [correction()], "x": 1}, 400, "bad_request"),
        ({"batch_id": "b", "records": [correction()] * 1001}, 413, "batch_too_large"),
    ],
)
def test_a_batch_refused_as_a_whole_says_why_and_stores_nothing(quick_app, body, status, code):
    answer = post(body=body)
    assert (answer.status, answer.json["error"]["code"]) == (status, code), answer.text
    if code == "no_valid_records":
        assert answer.json["error"]["refused"][0]["index"] == 0
    assert quick_app.models.store.list("feedback/") == []


def test_body_size_unknown_model_and_media_type(quick_app):
    big = post(raw=b'{"batch_id": "b", "records": ["' + b"x" * (3 * 2**20) + b'"]}')
    assert (big.status, big.json["error"]["code"]) == (413, "body_too_large")
    unknown = post("KLASSE_RHO", body={"batch_id": "b", "records": [correction()]})
    assert unknown.status == 404 and "KLASSE_ROH" in unknown.json["error"]["known_models"]
    text = post(body={"batch_id": "b", "records": [correction()]}, content_type="text/plain")
    assert text.status == 415


def test_one_caller_over_its_batches_a_minute_gets_429_with_retry_after(tmp_path, use):
    svc, settings = build_services(tmp_path, registry=quick_registry())
    use(svc, dataclasses.replace(settings, feedback_per_minute=2))
    key = {"x-functions-key": "key-of-line-3"}
    for n in range(2):
        assert (
            post(body={"batch_id": f"b{n}", "records": [correction()]}, headers=key).status == 201
        )
    limited = post(body={"batch_id": "b9", "records": [correction()]}, headers=key)
    assert limited.status == 429 and limited.json["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    other = post(
        body={"batch_id": "b9", "records": [correction()]}, headers={"x-functions-key": "k2"}
    )
    assert other.status == 201  # another caller is counted apart


def test_the_next_version_trains_with_the_corrections(tmp_path, use):
    """override: 40 rows corrected to a class the table never had; version 2 predicts it."""
    registry = Registry(
        [
            dataclasses.replace(s, corrections="override") if s.name == "KLASSE_CORE" else s
            for s in quick_registry()
        ]
    )
    svc, settings = build_services(tmp_path, registry=registry)
    use(svc, settings)
    _, msgs = http("start_training", "POST", "training", {"models": ["KLASSE_CORE"]})
    deliver(msgs.value)
    records = [correction(n, true_label="CORE_NEW") for n in range(1, 41)]
    records.append(correction(999_999, true_label="CORE_NEW"))  # no such article
    assert post("KLASSE_CORE", {"batch_id": "b", "records": records}).json["unknown_class"] == 41
    _, msgs = http("start_training", "POST", "training", {"models": ["KLASSE_CORE"]})
    deliver(msgs.value)
    card = http("get_version", route={"name": "KLASSE_CORE", "version": "2"})[0].json
    assert "CORE_NEW" in card["classes"], card.get("corrections")
    used = card["corrections"]  # every demo row lies in the data window
    assert (used["received"], used["used"], used["changed"], used["unmatched"]) == (41, 40, 40, 1)
    assert (used["refused"], used["unknown_class"], used["batches"]) == (0, 40, 1)
    assert card["class_distribution"]["CORE_NEW"] == 40


def test_the_summary_counts_this_months_corrections_and_live_agreement(quick_app):
    agreed = [correction(n, true_label="A") for n in range(1, 4)]  # the prediction was right
    wrong = [
        correction(10, when="2026-11-19T10:00:00Z"),
        correction(11, when="2026-11-21T10:00:00Z"),
    ]
    assert post(body={"batch_id": "b1", "records": agreed + wrong[:1]}).status == 201
    assert post(body={"batch_id": "b2", "records": [*wrong[1:], {"who": "x"}]}).status == 201
    answer, _ = http("feedback_summary", route={"name": "KLASSE_ROH"}, params={"months": "3"})
    assert answer.status == 200
    month = answer.json["this_month"]
    assert (month["month"], month["batches"], month["received"], month["agreed"]) == (
        "2026-11",
        2,
        5,
        3,
    )
    assert (month["agreement"], month["refused"]) == (0.6, 1)
    assert answer.json["months"] == [month]
    newest = answer.json["newest_disagreements"]
    assert [(d["key"], d["when"]) for d in newest] == [
        ("11", "2026-11-21T10:00:00Z"),
        ("10", "2026-11-19T10:00:00Z"),
    ]
    empty, _ = http("feedback_summary", route={"name": "KLASSE_CORE"})
    assert (
        empty.json["this_month"]["received"] == 0 and empty.json["this_month"]["agreement"] is None
    )
    bad, _ = http("feedback_summary", route={"name": "KLASSE_ROH"}, params={"months": "0"})
    assert bad.status == 400
