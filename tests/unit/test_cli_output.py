"""Tables, durations and the live progress line of the CLI, on plain strings."""

from __future__ import annotations

import io

import pytest

from retrain.domain.runs import RunRecord
from retrain.entrypoints.cli.progress import TerminalProgress
from retrain.entrypoints.cli.results import notes
from retrain.entrypoints.cli.tables import Column, duration, pairs, table, yes_no


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0.04, "0.0s"), (7.46, "7.5s"), (43.127, "43.1s"), (103, "1m 43s"),
     (3600 + 300, "1h 5m")],
)  # fmt: skip
def test_durations_read_like_a_person_says_them(seconds, text):
    assert duration(seconds) == text


def test_a_wide_table_shrinks_its_flexible_columns_to_100_and_keeps_the_rest():
    rows = [
        {"name": "KLASSE_ROH", "ok": True, "rows": 40000, "note": "x" * 200},
        {"name": "ARTFAM_ROH", "ok": False, "rows": None, "note": "short"},
    ]
    columns = [Column("name"), Column("ok", show=yes_no), Column("rows", right=True),
               Column("note", flex=True)]  # fmt: skip
    lines = table(rows, columns).splitlines()
    assert max(len(line.encode()) for line in lines) == 100  # bytes: cut with ASCII "..."
    assert all(line == line.rstrip() for line in lines)
    assert lines[2].startswith("KLASSE_ROH  yes  40,000  xxx") and lines[2].endswith("x...")
    assert lines[3] == "ARTFAM_ROH  no        -  short"


def test_long_values_wrap_under_themselves():
    lines = pairs([("reason", "word " * 40), ("size", "1.2 MB")])
    assert all(len(line) <= 100 for line in lines)
    assert lines[1].startswith(" " * len("  reason  ")) and lines[-1] == "  size    1.2 MB"


def test_a_validation_stop_lists_each_finding_wrapped_to_the_width():
    stops = [
        {"severity": "error", "column": f"col_{i}", "message": f"feature 'col_{i}' is 90% null "
         "(max_null_rate=0.6): raise max_null_rate, fill the nulls in the query, or drop "
         f"'col_{i}' from the features"}
        for i in range(12)
    ]  # fmt: skip
    warning = {"severity": "warning", "column": None, "message": "dropped 3 rows"}
    error = {"stage": "validate", "type": "DataValidationError", "message": "cut at 500 …"}
    record = RunRecord("r1", "M", error=error, summary={"findings": [warning, *stops]})
    lines = "\n".join(notes(record, width=60)).splitlines()
    text = " ".join(" ".join(lines).split())
    assert text.startswith(
        "M: failed in validate: DataValidationError: 12 problems stopped the run"
    )
    assert all(f"feature 'col_{i}' is 90% null" in text for i in range(12))
    assert "dropped 3 rows" not in text and all(len(line) <= 60 for line in lines)
    gave_up = RunRecord("r2", "M", error={**error, "type": "GaveUp", "message": "no worker"},
                        summary={"findings": stops})  # fmt: skip
    assert notes(gave_up) == ["M: failed in validate: GaveUp: no worker"]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_shows_stage_rows_rounds_with_time_left_and_keeps_logs_apart():
    stream, clock = io.StringIO(), Clock()
    progress = TerminalProgress(stream, clock)
    progress.stage("KLASSE_ROH", "load")
    clock.now += 2.5
    progress.rows("KLASSE_ROH", 40000)
    assert progress.line() == "KLASSE_ROH  40,000 rows loaded  · 2.5s"
    progress.stage("KLASSE_ROH", "fit")
    progress.rounds("KLASSE_ROH", 1, 300)
    clock.now += 10
    progress.rounds("KLASSE_ROH", 101, 300)  # 0.1 s a round, 199 rounds to go
    assert progress.line() == "KLASSE_ROH  fitting: round 101/300  ≤19.9s left  · 10.0s"
    progress.write("12:00:00 INFO    a log line\n")
    out = stream.getvalue()
    # the live line is cleared before the log line and drawn again after it
    assert out.endswith("\r\x1b[2K12:00:00 INFO    a log line\n\r\x1b[2K" + progress.line())
    progress.done()
    assert stream.getvalue().endswith("\r\x1b[2K") and progress.line() == ""


def test_rounds_are_drawn_without_the_ticker_once_a_tick_has_passed():
    """A loaded machine may keep the ticker's thread waiting: a round draws the line itself
    when nothing was drawn for a tick, and not more often."""
    stream, clock = io.StringIO(), Clock()
    progress = TerminalProgress(stream, clock)  # no ticker: not entered
    progress.stage("ARTFAM_ROH", "fit")
    progress.rounds("ARTFAM_ROH", 1, 400)
    assert "round 1/400" not in stream.getvalue()  # drawn a moment ago, by the stage
    clock.now += 0.3
    progress.rounds("ARTFAM_ROH", 11, 400)
    assert stream.getvalue().endswith(
        "\r\x1b[2KARTFAM_ROH  fitting: round 11/400  ≤11.7s left  · 0.3s"
    )
    clock.now += 0.01
    progress.rounds("ARTFAM_ROH", 12, 400)
    assert "round 12/400" not in stream.getvalue()


def test_an_estimator_without_rounds_still_shows_time_passing():
    stream, clock = io.StringIO(), Clock()
    progress = TerminalProgress(stream, clock)
    progress.stage("KLASSE_CORE", "fit")
    clock.now += 75
    assert progress.line() == "KLASSE_CORE  fitting  · 1m 15s"
