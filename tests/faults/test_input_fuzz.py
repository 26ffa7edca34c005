"""Promise 1: any HTTP body, route or query value and any queue message within the size
limits gets a 4xx JSON error (HTTP) or is logged and acknowledged (queue). Never a 500,
never an unhandled exception. Generated inputs plus the ones that once broke it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests import strict
from tests.functions.conftest import FUNCTIONS, deliver, http

HTTP = {
    # function name -> (method, path, route parameter names)
    "start_training": ("POST", "training", ()),
    "model_training_trigger": ("POST", "model_training_trigger", ()),
    "get_run": ("GET", "training/runs/x", ("run_id",)),
    "list_runs": ("GET", "training/runs", ()),
    "training_statistics": ("GET", "training/statistics", ()),
    "list_models": ("GET", "models", ()),
    "list_versions": ("GET", "models/x/versions", ("name",)),
    "get_version": ("GET", "models/x/versions/1", ("name", "version")),
    "set_champion": ("POST", "models/x/champion", ("name",)),
    "champion_history": ("GET", "models/x/history", ("name",)),
    "post_feedback": ("POST", "models/x/feedback", ("name",)),
    "feedback_summary": ("GET", "models/x/feedback", ("name",)),
    "decide_approval": ("POST", "models/x/versions/1/approval", ("name", "version")),
    "slack_interactions": ("POST", "slack/interactions", ()),
    "console_page": ("GET", "console", ()),
    "console_asset": ("GET", "console/assets/x", ("name",)),
}
NASTY_TEXT = [
    "²",  # '²'.isdigit() is True, int('²') raises
    "١٢",  # Arabic-Indic digits: int() accepts them
    "9" * 5000,  # beyond int()'s 4300-digit limit
    "1" * 300,
    "-1",
    "0",
    "KLASSE_ROH\x00",
    "\ud800",
    "../../etc/passwd",
    "KLASSE_ROH/../ARTFAM_ROH",
    "%00",
    "x" * 60_000,
]
DEEP = "[" * 60_000 + "]" * 60_000
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(NASTY_TEXT),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(
        st.sampled_from(["models", "model_name", "reason", "dry_run", "version", "decision", "x"]),
        json_values,
    ).map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
)
texts = st.one_of(st.text(max_size=40), st.sampled_from(NASTY_TEXT))

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def _assert_4xx_json(response: Any) -> None:
    assert response.status < 500, (response.status, response.text[:300])
    if response.status >= 400:
        error = strict.loads(response.text)["error"]
        assert error["code"] and error["message"]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(sorted(HTTP)),
    body=bodies,
    route=st.lists(texts, min_size=2, max_size=2),
    params=st.dictionaries(
        st.sampled_from(
            ["model", "status", "limit", "days", "trigger", "since", "until", "batch", "x"]
        ),
        texts,
    ),
    content_type=st.sampled_from(["application/json", "text/plain", "application/json; x=1"]),
)
@example(
    name="start_training",
    body=DEEP.encode(),
    route=["", ""],
    params={},
    content_type="application/json",
)
@example(
    name="set_champion",
    body=json.dumps({"version": int("9" * 4000), "reason": "r"}).encode(),
    route=["KLASSE_ROH", ""],
    params={},
    content_type="application/json",
)
@example(
    name="get_version",
    body=b"",
    route=["KLASSE_ROH", "²"],
    params={},
    content_type="application/json",
)
@example(
    name="get_version",
    body=b"",
    route=["KLASSE_ROH", "9" * 5000],
    params={},
    content_type="application/json",
)
@example(
    name="list_runs",
    body=b"",
    route=["", ""],
    params={"limit": "٣"},
    content_type="application/json",
)
@example(
    name="list_runs",
    body=b"",
    route=["", ""],
    params={"limit": "9" * 5000},
    content_type="application/json",
)
@example(
    name="training_statistics",
    body=b"",
    route=["", ""],
    params={"days": "9" * 5000},
    content_type="application/json",
)
def test_no_http_input_gets_a_500(quick_app, name, body, route, params, content_type):
    method, path, route_names = HTTP[name]
    response, _ = http(
        name,
        method,
        path,
        raw=body if method == "POST" else b"",
        route=dict(zip(route_names, route, strict=False)),
        params=params,
        content_type=content_type,
    )
    _assert_4xx_json(response)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        bodies.map(lambda b: b.decode("utf-8", "replace")),
        st.builds(lambda v: json.dumps({"run_id": v}), texts),
        st.just(DEEP),
        st.just('{"run_id": "20261101T030000Z-KLASSE_ROH-abc"}'),  # well-formed, no such run
    ),
    queue=st.sampled_from(["train_model", "training_gave_up"]),
)
def test_every_queue_message_is_logged_and_acknowledged(quick_app, body, queue):
    deliver([body], name=queue)  # raising here would make the host retry it


def test_every_http_function_is_fuzzed():
    http_functions = {
        name
        for name, fn in FUNCTIONS.items()
        if any(b.type == "httpTrigger" for b in fn.get_bindings())
    }
    assert http_functions - {"health"} <= set(HTTP)


feedback_records = st.lists(
    st.dictionaries(
        st.sampled_from(["key", "features", "predicted", "true_label", "who", "when", "x"]),
        json_values
        | st.dictionaries(
            st.sampled_from(["thickness_mm", "plant", "fire_retardant", "x"]), json_values
        )
        | st.sampled_from(
            ["2026-11-20T08:15:00Z", "2026-11-20T08:15:00", "9999-12-31T00:00:00+14:00"]
        ),
    )
    | json_values,
    max_size=5,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batch_id=texts | st.integers() | st.none(),
    records=feedback_records,
    name=st.sampled_from(["KLASSE_ROH", "KLASSE_CORE", "x"]),
)
@example(
    batch_id="b", records=[{"key": 1, "features": {"thickness_mm": 1e308 * 10}}], name="KLASSE_ROH"
)
@example(batch_id="b", records=[{"when": "0001-01-01T00:00:00+14:00"}], name="KLASSE_ROH")
def test_no_feedback_batch_gets_a_500(quick_app, monkeypatch, batch_id, records, name):
    """Corrections: any batch of any records is stored, refused or limited, never a 500."""
    from retrain.entrypoints import feedback_api

    monkeypatch.setattr(feedback_api, "RATE", feedback_api.CallerRate())
    response, _ = http(
        "post_feedback",
        "POST",
        f"models/{name}/feedback",
        raw=json.dumps({"batch_id": batch_id, "records": records}).encode(),
        route={"name": name},
    )
    _assert_4xx_json(response)
