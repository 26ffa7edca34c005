"""Runs with and without a time column: all rows, an empty window, TRAINING_MAX_ROWS, and
errors no retry can fix."""

from __future__ import annotations

import dataclasses

import pytest

from retrain.domain.errors import BackendError, QueryRejectedError
from retrain.domain.runs import Outcome, RunStatus
from retrain.domain.specs import Registry
from retrain.service.runner import execute_run
from retrain.service.start import start_runs

PLAIN = "SELECT size, colour, coated, label FROM toy"


def _use(svc, **changes):
    svc.registry = Registry([dataclasses.replace(svc.registry.get("TOY"), **changes)])


def _run(svc, final_attempt=True):
    run_id = start_runs(svc, ["TOY"], trigger="test").runs[0].run_id
    return execute_run(svc, run_id, final_attempt=final_attempt)


def test_a_spec_without_a_time_column_trains_on_all_rows(svc):
    _use(svc, query=PLAIN, time_column=None)
    svc.source.frames["TOY"] = svc.source.frames["TOY"].drop(columns=["created_at"])
    record = _run(svc)
    assert record.outcome is Outcome.PROMOTED
    assert svc.source.loads == [("TOY", None)]
    card = svc.models.card("TOY", 1)
    assert card["rows"]["loaded"] == 1000
    assert card["data_window"] == {"column": None, "since": None, "first": None, "last": None}


def test_an_empty_window_says_how_many_rows_lie_outside_and_which_knob_widens_it(svc):
    _use(svc, window_months=6)  # the toy rows are from January and February 2026
    record = _run(svc)
    assert record.status is RunStatus.FAILED and record.stage == "validate"
    assert record.error["message"] == (
        "0 usable rows, TOY needs at least 200 (min_rows); the data window holds rows with "
        "created_at since 2026-05-01 (window_months=6) and 1,000 older rows lie outside it, the "
        "newest from 2026-02-11: widen window_months, or set time_column=None to train on all rows"
    )
    assert record.summary["findings"][-1]["spec_field"] == "window_months"


def test_max_rows_without_an_order_column_fails_at_once_and_says_why(svc):
    _use(svc, query=PLAIN, time_column=None)
    svc.max_rows = 600
    record = _run(svc, final_attempt=False)
    assert record.status is RunStatus.FAILED and record.attempts == 1
    assert "set order_by (or time_column), or raise TRAINING_MAX_ROWS" in record.error["message"]
    assert svc.models.versions("TOY") == []


def test_max_rows_keeps_the_largest_values_of_order_by(svc):
    _use(svc, order_by="size")
    svc.max_rows = 600
    record = _run(svc)
    card = svc.models.card("TOY", record.version)
    assert card["rows"]["loaded"] == 600
    assert card["validation_findings"][0]["message"] == (
        "kept the 600 rows with the largest size (TRAINING_MAX_ROWS)"
    )


def test_a_rejected_query_fails_on_the_first_attempt(svc):
    svc.source.fail_with = QueryRejectedError(
        'training query of TOY was rejected by the database: column "sise" does not exist'
    )
    record = _run(svc, final_attempt=False)
    assert record.status is RunStatus.FAILED and record.attempts == 1
    assert record.error["type"] == "QueryRejectedError"


def test_a_backend_error_is_still_left_to_the_retries(svc):
    svc.source.fail_with = BackendError(
        "training query of TOY failed: server closed the connection"
    )
    with pytest.raises(BackendError):
        _run(svc, final_attempt=False)
