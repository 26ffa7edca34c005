"""Champion decay in Slack: one message, one line per decaying or below-floor model, nothing
when every champion is well; a real check (service/decay.py) on a copy of the demo database
with a new month of rows, reported to the fake Slack API through the notifier bootstrap
builds from the settings."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from retrain import bootstrap
from retrain.adapters import demo_data
from retrain.adapters.slack_messages import decay_message
from retrain.adapters.slack_notifier import slack_notifier
from retrain.domain.decay import DecayResult, DecayStatus
from retrain.service.decay import check, points
from retrain.service.report import decay_line
from tests.fake_slack import block_problem
from tests.slack.conftest import QUICK, TOKEN, quick_registry, services, slack_env

FLIP = {"A": "D", "B": "C", "C": "B", "D": "A"}


def _result(model: str, status: DecayStatus, **changes) -> DecayResult:
    values: dict = dict(
        model=model,
        status=status,
        checked_at="2026-11-28T03:00:00.000Z",
        version=3,
        metric="balanced_accuracy",
        card_score=0.8601,
        score=0.6312,
        rows=2113,
        window={"column": "created_at", "after": "2026-10-31 21:13:05"},
        tolerance=0.01,
        floor=0.5,
    )
    values.update(changes)
    return DecayResult(**values)


def test_one_line_per_alarm_and_none_when_all_are_well():
    results = [
        _result("KLASSE_CORE", DecayStatus.DECAYING),
        _result("KLASSE_ROH", DecayStatus.BELOW_FLOOR, score=0.41, card_score=0.69),
        _result("ARTFAM_ROH", DecayStatus.OK, score=0.86, card_score=0.8601),
        _result("OTHER", DecayStatus.NOT_ENOUGH_ROWS, score=None, rows=12),
    ]
    payload = decay_message(results, "PROD")
    assert payload is not None and block_problem(payload["blocks"]) is None
    header, lines, context = payload["blocks"]
    assert header["text"]["text"] == "Champion decay: 2 models below their cards"
    assert lines["text"]["text"].splitlines() == [
        ":chart_with_downwards_trend: KLASSE_CORE v3: balanced_accuracy 0.6312 on 2,113 rows "
        "since 2026-10-31, card 0.8601 (-0.2289, tolerance 0.01)",
        ":no_entry: KLASSE_ROH v3: balanced_accuracy 0.4100 on 2,113 rows since 2026-10-31, "
        "card 0.6900 (-0.2800, floor 0.5)",
    ]
    assert [e["text"] for e in context["elements"]] == [
        "*PROD*",
        "4 models checked: 1 below floor, 1 decaying, 1 not enough new rows, 1 ok",
    ]
    assert decay_message(results[2:]) is None


def test_a_check_that_failed_is_posted_without_being_an_alarm():
    """A champion whose artifact is gone cannot serve its consumers: its failed check was
    logged and recorded, but nobody was told, and the models list said healthy."""
    failed = _result(
        "KLASSE_CORE", DecayStatus.ERROR, score=None, message="NotFoundError: artifact missing"
    )
    payload = decay_message([failed, _result("ARTFAM_ROH", DecayStatus.OK)], "PROD")
    assert payload is not None and block_problem(payload["blocks"]) is None
    assert payload["blocks"][0]["text"]["text"] == "Champion decay: 1 not checked"
    assert payload["blocks"][1]["text"]["text"] == (
        ":warning: KLASSE_CORE v3: check failed: NotFoundError: artifact missing"
    )
    both = decay_message([failed, _result("KLASSE_ROH", DecayStatus.DECAYING)])
    assert both is not None
    assert (
        both["blocks"][0]["text"]["text"] == "Champion decay: 1 model below its card, 1 not checked"
    )
    assert not DecayStatus.ERROR.alarm  # told, but no run is started for it


def test_a_model_without_a_time_column_says_so_and_text_is_escaped():
    note = "no time column: scored on all rows <!channel>"
    payload = decay_message(
        [_result("KLASSE_CORE", DecayStatus.DECAYING, window={"column": None}, note=note)]
    )
    assert payload is not None
    shown = str(payload)
    assert "on 2,113 rows (all rows: no time column)" in payload["blocks"][1]["text"]["text"]
    assert "scored on all rows &lt;!channel&gt;" in shown and "<!channel>" not in shown


def test_hundreds_of_decaying_models_stay_within_slacks_limits():
    many = [_result(f"MODEL_{i:04d}", DecayStatus.DECAYING) for i in range(2000)]
    payload = decay_message(many)
    assert payload is not None and block_problem(payload["blocks"]) is None
    assert payload["blocks"][-2]["text"]["text"].startswith("…and ")


def _new_month(db: Path, rows: int = 500) -> None:
    """A copy's new month: ``rows`` articles from 2026-11-02, every raw material class
    wrong (the champion's window ends on 2026-10-31)."""
    from sqlalchemy import create_engine

    new = demo_data.generate(rows, 9, date(2026, 11, 28))
    new["article_id"] += 1_000_000
    new["created_at"] = pd.date_range("2026-11-02", periods=rows, freq="h")
    new["raw_material_class"] = new["raw_material_class"].map(FLIP)
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        new.to_sql(demo_data.TABLE, conn, if_exists="append", index=False)
    engine.dispose()


@pytest.fixture
def decayed_db(tmp_path: Path, demo_db: Path) -> Path:
    db = Path(shutil.copy(demo_db, tmp_path / "training.db"))
    _new_month(db)
    return db


def test_a_real_check_posts_one_message_and_stores_the_point(fake, home, decayed_db, warnings):
    svc = services(bootstrap.load_settings(slack_env(fake, home, decayed_db)), quick_registry())
    (result,) = check(svc).results
    assert result.status is DecayStatus.BELOW_FLOOR and result.rows >= 490
    (call,) = fake.posted()
    assert call.thread_ts is None  # a message of its own, not a reply
    header, lines, _ = call.body["blocks"]
    assert header["text"]["text"] == "Champion decay: 1 model below its card"
    assert re.fullmatch(
        r":no_entry: KLASSE_ROH v1: balanced_accuracy 0\.\d{4} on \d{3} rows since "
        r"2026-10-3[01], card 0\.\d{4} \(-0\.\d{4}, floor 0\.45\)",
        lines["text"]["text"],
    )
    assert [p["status"] for p in points(svc, QUICK)] == ["below_floor"]
    assert TOKEN not in call.raw.decode() and warnings == [f"decay: {decay_line(result)}"]


def test_all_well_posts_nothing(fake, home, demo_db):
    svc = services(bootstrap.load_settings(slack_env(fake, home, demo_db)), quick_registry())
    (result,) = check(svc).results  # no row arrived after the champion's window
    assert result.status is DecayStatus.NOT_ENOUGH_ROWS
    assert fake.calls == []


def test_slack_failing_leaves_the_check_and_its_point(fake, home, decayed_db, warnings):
    fake.answer("invalid_auth")
    svc = services(bootstrap.load_settings(slack_env(fake, home, decayed_db)), quick_registry())
    (result,) = check(svc).results
    assert result.status is DecayStatus.BELOW_FLOOR
    assert fake.posted() == [] and len(fake.of("chat.postMessage")) == 1
    assert "Slack: decay check not posted (invalid_auth); the check is not affected" in warnings
    assert [p["status"] for p in points(svc, QUICK)] == ["below_floor"]


def test_secrets_in_a_result_are_masked_before_posting(fake, home, demo_db):
    settings = bootstrap.load_settings(slack_env(fake, home, demo_db))
    leaky = _result("KLASSE_CORE", DecayStatus.DECAYING, note=f"token {TOKEN} leaked")
    slack_notifier(settings).decay_checked([leaky])
    (call,) = fake.posted()
    assert TOKEN not in call.raw.decode() and "token *** leaked" in str(call.body)
