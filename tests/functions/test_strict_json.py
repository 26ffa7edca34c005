"""Every HTTP answer is strict JSON (issue 25): every route, on the models the demo really
trains (XGBoost with native categories, HistGradientBoosting, XGBoost with text), cards
included. XGBoost's parameters hold ``missing=nan``; a browser's JSON.parse refuses NaN."""

from __future__ import annotations

import math

from tests.functions.conftest import deliver, http
from tests.strict import loads

SEEDS = ["ARTFAM_ROH", "KLASSE_CORE", "KLASSE_ROH"]


def _strict(response) -> object:
    return loads(response.text)  # raises on NaN / Infinity


def test_every_route_answers_strict_json_on_the_demo_models(app):
    started, msgs = http("start_training", "POST", "training", {"models": SEEDS})
    assert started.status == 202
    deliver(msgs.value)
    runs = [r["run_id"] for r in _strict(started)["runs"]]
    bodies = [_strict(http("list_models")[0]), _strict(http("list_runs")[0])]
    bodies.append(_strict(http("health")[0]))
    for run_id in runs:
        record = _strict(http("get_run", route={"run_id": run_id})[0])
        assert record["status"] == "succeeded", record
        bodies.append(record)
    estimators = set()
    for name in SEEDS:
        route = {"name": name}
        bodies += [
            _strict(http("list_versions", route=route)[0]),
            _strict(http("champion_history", route=route)[0]),
        ]
        card = _strict(http("get_version", route={**route, "version": "1"})[0])
        estimators.add(card["estimator"]["class"])
        bodies.append(card)
    bodies.append(_strict(http("get_version", route={"name": "NOPE", "version": "1"})[0]))
    correction = {
        "key": 7,
        "predicted": "A",
        "true_label": "B",
        "who": "w",
        "when": "2026-11-20T08:15:00Z",
    }
    bad = {**correction, "features": {"thickness_mm": "nan"}}  # a NaN sent as text: refused
    route = {"name": "KLASSE_ROH"}
    posted = http(
        "post_feedback",
        "POST",
        "models/KLASSE_ROH/feedback",
        {"batch_id": "b", "records": [correction, bad]},
        route=route,
    )[0]
    assert posted.status == 201 and _strict(posted)["refused"][0]["index"] == 1
    bodies.append(_strict(posted))
    refused = http(  # the seed models need no approval: 409 not_awaiting, strict JSON too
        "decide_approval",
        "POST",
        "models/KLASSE_ROH/versions/1/approval",
        {"decision": "approve", "reason": "r"},
        route={"name": "KLASSE_ROH", "version": "1"},
    )[0]
    assert refused.status == 409
    bodies.append(_strict(refused))
    # the demo's estimators, and the parameter that used to come back as NaN
    assert {"xgboost.sklearn.XGBClassifier"} < estimators
    xgb = next(b for b in bodies if (b.get("estimator") or {}).get("class", "").startswith("xgb"))
    assert "missing" in xgb["estimator"]["params"] and xgb["estimator"]["params"]["missing"] is None
    assert all(_finite(b) for b in bodies)


def _finite(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True
