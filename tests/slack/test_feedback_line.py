"""The monthly summary's line on people's corrections (issue 27): this month's count per
model and how often the prediction agreed; no line in a month without corrections."""

from __future__ import annotations

import json
from dataclasses import replace

from retrain import bootstrap
from retrain.classifiers import klasse_core
from retrain.domain.specs import Registry
from retrain.service import feedback
from tests.fakes import tree
from tests.slack.conftest import QUICK, TIMER_AT, quick_registry, services, slack_env, train

MODELS = [QUICK, "KLASSE_CORE"]  # a batch of two: a parent message and its final update


def registry() -> Registry:
    return Registry([*quick_registry(), replace(klasse_core.SPEC, estimator=tree)])


def correction(n: int, true_label: str) -> dict:
    return {
        "key": n,
        "predicted": "A",
        "true_label": true_label,
        "who": "planner.anna",
        "when": TIMER_AT.isoformat(),
    }


def summary_update(fake) -> str:
    update = [c for c in fake.calls if c.method == "chat.update"][-1]
    return json.dumps(update.body, ensure_ascii=False)


def test_the_monthly_summary_counts_this_months_corrections(fake, home, demo_db):
    svc = services(bootstrap.load_settings(slack_env(fake, home, demo_db)), registry())
    records = [correction(n, "A") for n in range(1, 4)] + [correction(4, "C")]
    assert feedback.receive(svc, QUICK, "week-44", records)["accepted"] == 4
    train(svc, MODELS, trigger="timer", tag="monthly", at=TIMER_AT)
    assert f"Corrections in the last 30 days: {QUICK} 4 (75% agreed)" in summary_update(fake)


def test_no_line_without_corrections(fake, home, demo_db):
    svc = services(bootstrap.load_settings(slack_env(fake, home, demo_db)), registry())
    train(svc, MODELS, trigger="timer", tag="monthly", at=TIMER_AT)
    assert "Corrections in the last" not in summary_update(fake)
