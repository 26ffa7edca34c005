"""The Block Kit payloads on their own: wording per outcome, Slack's limits under hostile
input, escaping, and the scrubber."""

from __future__ import annotations

import json

import pytest

from retrain.adapters.slack_messages import batch_message, run_message, scrub
from retrain.domain.runs import Outcome, RunRecord, RunStatus, Stage
from tests.fake_slack import block_problem


def _record(model: str = "KLASSE_CORE", **changes) -> RunRecord:
    record = RunRecord(
        run_id=f"20261101T030000Z-{model}-monthly",
        model=model,
        status=RunStatus.SUCCEEDED,
        stage=Stage.DONE,
        trigger="timer",
        started_at="2026-11-01T03:00:00.000Z",
        finished_at="2026-11-01T03:02:05.500Z",
        outcome=Outcome.KEPT_CHAMPION,
        version=7,
        timings={"fit": 118.2},
        summary={
            "rows_loaded": 31250,
            "data_window": {"since": "2023-11-01", "first": "2023-11-01 00:12:00", "last": None},
            "metric": "balanced_accuracy",
            "score": 0.8612,
            "champion_score": 0.8816,
            "champion_version": 6,
            "delta": -0.0204,
            "comparison": {"delta": -0.0204, "low": -0.0301, "high": -0.0107, "rows": 6250},
            "gate_reason": "balanced_accuracy 0.8612 is worse than champion v6 (0.8816) by more "
            "than 0.0100",
            "rows_train": 25000,
            "rows_test": 6250,
            "artifact_uri": "https://acct.blob.core.windows.net/models/KLASSE_CORE/versions/7/m",
            "findings": [],
        },
    )
    for key, value in changes.items():
        setattr(record, key, value)
    return record


def _shown(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)


def test_kept_champion_says_why_and_by_how_much():
    payload = run_message(_record())
    assert (
        payload["blocks"][0]["text"]["text"] == ":heavy_minus_sign: KLASSE_CORE v7 · kept champion"
    )
    fields = [f["text"] for f in payload["blocks"][1]["fields"]]
    assert fields[0] == (
        "*balanced_accuracy*\n0.8612  (vs champion v6 0.8816: -0.0204, 95 % CI -0.0301 to "
        "-0.0107, 6,250 rows)"
    )
    assert fields[2] == "*Data window*\nsince 2023-11-01 (no rows)"  # 'last' missing
    assert fields[3] == "*Duration*\n2 min 05 s (fit 1 min 58 s)"
    assert "worse than champion v6" in _shown(payload)
    assert block_problem(payload["blocks"]) is None


def test_the_candidates_score_on_the_rows_compared_stands_beside_the_champions():
    record = _record()
    record.summary["comparison"] = {**record.summary["comparison"], "candidate": 0.8612 - 0.05}
    fields = [f["text"] for f in run_message(record)["blocks"][1]["fields"]]
    assert fields[0].startswith(
        "*balanced_accuracy*\n0.8612  (0.8112 on the 6,250 rows compared, vs champion v6 0.8816:"
    )


@pytest.mark.parametrize(
    ("outcome", "header"),
    [
        (Outcome.PROMOTED, ":white_check_mark: KLASSE_CORE v7 · promoted"),
        (Outcome.REJECTED, ":no_entry: KLASSE_CORE v7 · rejected by the gate"),
        (Outcome.VALIDATED, ":mag: KLASSE_CORE v7 · validated (dry run)"),
    ],
)
def test_each_outcome_has_its_words(outcome, header):
    assert run_message(_record(outcome=outcome))["blocks"][0]["text"]["text"] == header


def test_a_failure_names_stage_error_class_and_short_message_only():
    record = _record(
        status=RunStatus.FAILED,
        outcome=Outcome.FAILED,
        version=None,
        summary={"rows_loaded": 812, "findings": [{"severity": "error", "message": "too few"}]},
        error={"stage": "validate", "type": "DataValidationError", "message": "812 usable rows"},
    )
    payload = run_message(record)
    shown = _shown(payload)
    assert payload["blocks"][0]["text"]["text"] == ":x: KLASSE_CORE · failed"
    assert payload["blocks"][2]["text"]["text"] == (
        "*Failed in* `validate` · `DataValidationError`\n> 812 usable rows"
    )
    assert payload["blocks"][3]["text"]["text"] == "*Data checks*\n• :x: too few"
    assert "Traceback" not in shown and "Gate" not in shown
    assert payload["text"] == (
        "KLASSE_CORE · failed · in validate: DataValidationError: 812 usable rows"
    )


def test_hostile_text_stays_within_limits_and_is_escaped():
    message = ("<!channel> & <https://evil|click> " * 400) + "`rm`"
    record = _record(
        status=RunStatus.FAILED,
        outcome=Outcome.FAILED,
        reason="<!here> " * 100,
        error={"stage": "fit", "type": "ValueError", "message": message},
        summary={"findings": [{"severity": "warning", "message": "&" * 5000}] * 40},
    )
    payload = run_message(record)
    assert block_problem(payload["blocks"]) is None
    assert len(payload["text"]) <= 3000
    shown = _shown(payload)
    assert "<!" not in shown and "<https" not in shown
    assert "&lt;!channel&gt;" in shown
    for text in _all_texts(payload):  # a cut never leaves half an entity
        assert not text.rstrip("…").endswith(("&", "&a", "&am", "&l", "&g", "&lt", "&gt"))
    assert "…and 35 more in the run record" in shown


def test_a_batch_of_any_size_fits_in_fifty_blocks():
    records = [_record(f"MODEL_{n:04d}_{'X' * 40}") for n in range(2000)]
    payload = batch_message("20261101T030000Z-monthly", records, final=True)
    assert block_problem(payload["blocks"]) is None
    assert len(payload["blocks"]) == 50
    shown = _shown(payload)
    listed = shown.count(":heavy_minus_sign: *MODEL_")
    more = int(shown.split("…and ")[1].split(" more models")[0])
    assert listed + more == 2000
    assert payload["text"].startswith(
        "Retraining finished: 2000 models (timer): 2000 kept champion"
    )


def test_the_start_lists_each_model_as_queued_or_running():
    records = [
        RunRecord(run_id="a", model="ARTFAM_ROH", trigger="timer"),
        RunRecord(run_id="b", model="KLASSE_ROH", trigger="timer", status=RunStatus.RUNNING),
    ]
    payload = batch_message("20261101T030000Z-monthly", records, final=False)
    assert payload["blocks"][1]["text"]["text"] == (
        ":hourglass_flowing_sand: *ARTFAM_ROH* queued\n"
        ":arrows_counterclockwise: *KLASSE_ROH* running"
    )
    assert payload["text"] == "Retraining started: 2 models (timer): ARTFAM_ROH, KLASSE_ROH"


def test_scrub_masks_secrets_their_parts_and_credential_shapes():
    db = "postgresql://trainer:S3cret-Pass@db:5432/prod"
    blob = "AccountName=a;AccountKey=K3yK3yK3y==;EndpointSuffix=core.windows.net"
    text = {
        "a": [f"connect {db} failed", "password S3cret-Pass typed by hand"],
        "b": f"{blob} and sig=abc123 and mysql://u:pw@h/x and xoxp-1-2-3",
        "c": "https://hooks.slack.com/services/T1/B2/abcdef and " + "x" * 10 + db[:27] + "…",
        "n": 3,
    }
    assert scrub(text, [db, blob]) == {
        "a": ["connect *** failed", "password *** typed by hand"],
        "b": "*** and sig=*** and mysql://u:***@h/x and ***",
        "c": "https://hooks.slack.com/services/*** and xxxxxxxxxx***…",
        "n": 3,
    }


def _all_texts(payload: dict) -> list[str]:
    texts = [payload["text"]]
    for block in payload["blocks"]:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts += [f["text"] for f in block.get("fields", []) + block.get("elements", [])]
    return texts


def test_drift_findings_are_one_short_line_each_apart_from_the_data_checks():
    profile = {"column": "decor_code", "severity": "warning"}
    drift = [
        {**profile, "rule": "feature_shift", "message": "plant: 'P01' 30% → 52% (PSI 0.21)"},
        {**profile, "rule": "feature_shift", "message": "density_kg_m3: mean 740 → 781 (PSI 0.4)"},
        {**profile, "rule": "new_categories", "message": "decor_code: " + "D0901, " * 60},
        *({**profile, "rule": "label_shift", "message": f"label: {i}"} for i in range(12)),
    ]
    checks = [{"rule": "duplicate_rows", "severity": "warning", "message": "5 rows repeat"}]
    payload = run_message(_record(summary={"findings": checks + drift}))
    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section" and "text" in b]
    assert "*Data checks*\n• :warning: 5 rows repeat" in texts
    (section,) = [t for t in texts if t.startswith("*Drift against the champion*")]
    lines = section.splitlines()[1:]
    assert lines[:2] == [
        "• plant: 'P01' 30% → 52% (PSI 0.21)",
        "• density_kg_m3: mean 740 → 781 (PSI 0.4)",
    ]
    assert all(len(line) <= 122 for line in lines)  # "• " + at most 120 characters
    assert lines[2].endswith("…")
    assert len(lines) == 11 and lines[-1] == "…and 5 more in the run record"
    assert block_problem(payload["blocks"]) is None


def test_a_run_on_all_rows_says_so_in_its_data_window():
    window = {"column": None, "since": None, "first": None, "last": None}
    payload = run_message(_record(summary={"rows_loaded": 812, "data_window": window}))
    fields = [f["text"] for f in payload["blocks"][1]["fields"]]
    assert "*Data window*\nall rows (no time column)" in fields
