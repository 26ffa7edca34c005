"""In a real browser (issue 20.2): the model's metric chart shows the champion's decay
checks (its score on each month's new rows, stored by service/decay.py) beside the
versions' scores: a triangle of their own after the version they scored, filled when
decaying, with a legend entry; readable on a phone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from retrain.domain.decay import DecayResult, DecayStatus
from retrain.service import stored
from retrain.service.decay_points import point_key
from tests.console.page import (
    DESKTOP,
    PHONE,
    doc_shot,
    heading,
    no_horizontal_scroll,
    open_console,
    severe_console_errors,
    shot,
    wait,
    window,
)
from tests.console.seed import publish_copy, train
from tests.console.test_readable import kept
from tests.functions.conftest import NOW


def decay_point(svc: Any, days_ago: int, drop: float, status: DecayStatus) -> float:
    """A stored decay check of KLASSE_ROH's champion v1, ``drop`` below its card score."""
    card = svc.models.card("KLASSE_ROH", 1)
    metric = svc.registry.get("KLASSE_ROH").primary_metric
    at = NOW - timedelta(days=days_ago)
    point = DecayResult(
        model="KLASSE_ROH",
        status=status,
        checked_at=at.isoformat(),
        version=1,
        metric=metric,
        card_score=card["metrics"][metric],
        score=round(card["metrics"][metric] - drop, 6),
        rows=120,
        tolerance=0.05,
    )
    svc.models.store.create(point_key("KLASSE_ROH", at, "t"), stored.dumps(point.to_dict()))
    return point.score  # type: ignore[return-value]


def chart_marks(driver: Any) -> dict[str, Any] | None:
    """Centre, size and class of each version mark and decay triangle, in page px; None
    before the chart is drawn."""
    return driver.execute_script(
        """
        const box = (e) => { const b = e.getBoundingClientRect();
          return { x: b.left + b.width / 2, y: b.top + b.height / 2, w: b.width, h: b.height,
                   right: b.right, left: b.left }; };
        const svg = document.querySelector('svg.chart');
        if (!svg) return null;
        return {
          svg: box(svg),
          versions: [...svg.querySelectorAll('a.mark .shape')].map(box),
          decay: [...svg.querySelectorAll('g.decay')].map((g) => ({
            ...box(g.querySelector('.shape')),
            cls: g.getAttribute('class'), label: g.getAttribute('aria-label') })),
          legend: [...document.querySelectorAll('.legend li')].map((li) => li.innerText),
        };
        """
    )


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1400x900", "390x844"])
def test_decay_checks_sit_beside_the_versions_scores(browser, console, size):
    server, svc = console
    train(svc, "KLASSE_ROH")
    train(svc, "KLASSE_CORE")
    publish_copy(svc, "KLASSE_ROH", 1, kept(2))
    ok = decay_point(svc, 40, 0.01, DecayStatus.OK)
    low = decay_point(svc, 10, 0.2, DecayStatus.DECAYING)
    with window(browser, *size):
        open_console(browser, server, server.key)
        browser.execute_script("location.hash = '#/models/KLASSE_ROH'")
        heading(browser, "KLASSE_ROH")
        wait(browser, lambda d: len((chart_marks(d) or {}).get("decay", [])) == 2)
        marks = chart_marks(browser)
        assert marks is not None
        v1, v2 = marks["versions"]
        first, second = marks["decay"]
        # after v1, before v2, in time order; the lower score lower on the chart
        assert v1["x"] < first["x"] < second["x"] < v2["x"]
        assert second["y"] > first["y"]
        assert first["cls"] == "decay" and second["cls"] == "decay decay-alarm"
        assert "scored" in first["label"] and f"{ok:.4f}" in first["label"]
        assert f"{low:.4f}" in second["label"] and second["label"].endswith(": decaying")
        assert "on 120 new rows" in second["label"]
        # readable on a phone: marks of a finger's size, inside the chart and the screen
        for mark in marks["decay"]:
            assert mark["w"] >= 10 and mark["h"] >= 8, mark
            assert marks["svg"]["left"] <= mark["left"] and mark["right"] <= marks["svg"]["right"]
        assert any("decay check" in item for item in marks["legend"])
        assert no_horizontal_scroll(browser)
        shot(browser, f"62-decay-chart-{size[0]}")
        if size == PHONE:
            doc_shot(browser, "console-decay-chart", "#chart-title", height=440, scale=1)
        # a model without decay checks: no triangle, no legend entry for them
        browser.execute_script("location.hash = '#/models/KLASSE_CORE'")
        heading(browser, "KLASSE_CORE")
        plain = wait(browser, chart_marks)
        assert (len(plain["versions"]), plain["decay"]) == (1, [])
        assert not any("decay check" in item for item in plain["legend"])
    assert severe_console_errors(browser) == []
