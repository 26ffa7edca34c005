"""`retrain feedback MODEL FILE.csv [--dry-run]` in-process, its clock pinned (issue 27)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from retrain import bootstrap
from retrain.entrypoints.cli import main

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CSV = """key,thickness_mm,plant,predicted,true_label,who,when
17,,,A,B,planner.anna,2026-11-20T08:15:00Z
,18.5,P04,A,C,planner.anna,2026-11-20T09:00:00+01:00
21,,,A,B,,2026-11-20T08:15:00Z
22,thick,,A,B,line.3,2026-11-20T08:15:00Z
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    build = bootstrap.build
    monkeypatch.setattr(
        bootstrap,
        "build",
        lambda *a, **k: dataclasses.replace(build(*a, **k), clock=lambda: NOW),
    )
    return {"RETRAIN_HOME": str(tmp_path), "LOG_LEVEL": "WARNING"}


def stored(env):
    return sorted(p.name for p in Path(env["RETRAIN_HOME"]).rglob("*.jsonl.gz"))


def test_a_csv_file_is_checked_row_by_row_and_stored_once(env, tmp_path, capsys):
    path = tmp_path / "week 47.csv"
    path.write_text(CSV)
    code = main(["feedback", "KLASSE_ROH", str(path), "--dry-run"], env)
    out = capsys.readouterr().out
    assert code == 1  # rows were refused
    assert "line 4: who is required" in out and "line 5: feature 'thickness_mm'" in out
    assert "dry run: nothing was stored" in out and stored(env) == []

    code = main(["feedback", "KLASSE_ROH", str(path), "--json"], env)
    first = json.loads(capsys.readouterr().out)
    (batch,) = first["batches"]
    assert code == 1 and batch["accepted"] == 2
    assert [r["line"] for r in batch["refused"]] == [4, 5]
    assert batch["batch_id"].startswith("week_47-") and stored(env) == [
        f"{batch['batch_id']}.jsonl.gz"
    ]
    assert main(["feedback", "KLASSE_ROH", str(path), "--json"], env) == 1
    assert json.loads(capsys.readouterr().out) == first  # the same file again: a no-op
    assert len(stored(env)) == 1


def test_a_file_with_unknown_columns_is_refused_naming_them(env, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("article,predicted,true_label,who,when\n1,A,B,x,2026-11-20T08:15:00Z\n")
    assert main(["feedback", "KLASSE_ROH", str(path)], env) == 2
    err = capsys.readouterr().err
    assert "unknown column(s) article" in err and "article_id" in err
    assert "invalid settings" not in err  # the file is wrong, not a setting


def test_a_file_the_csv_reader_refuses_says_why(env, tmp_path, capsys):
    path = tmp_path / "long.csv"
    path.write_text(f"key,predicted,true_label,who,when\n1,A,{'B' * 200_000},x,2026-11-20\n")
    assert main(["feedback", "KLASSE_ROH", str(path)], env) == 2
    assert "field larger than field limit" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("key,article_id,predicted,true_label,who,when", "has both key and article_id"),
        ("key,key,predicted,true_label,who,when", "column(s) key appear more than once"),
    ],
)
def test_a_file_that_names_a_row_twice_is_refused(env, tmp_path, capsys, header, says):
    """Which of two keys won depended on the process's hash seed: a resend of the same file
    was then refused as another batch's."""
    path = tmp_path / "both.csv"
    path.write_text(f"{header}\n1,2,A,B,me,2026-11-20T08:15:00Z\n")
    assert main(["feedback", "KLASSE_ROH", str(path)], env) == 2
    assert says in capsys.readouterr().err and stored(env) == []
