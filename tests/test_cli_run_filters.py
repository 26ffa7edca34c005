"""`retrain runs` with the run list's filters (service/run_filter.py), as the HTTP route
takes them: trigger, since, until, batch; the change against the champion in its table."""

from __future__ import annotations

import json

import pytest

from retrain.entrypoints.cli import main
from tests.console.seed import batch_runs
from tests.console.test_this_month import NOV, OCT, RESULTS
from tests.functions.conftest import build_services


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    svc, _ = build_services(tmp_path)
    batch_runs(svc, OCT, "monthly", "timer", RESULTS)
    batch_runs(svc, NOV, "monthly", "timer", RESULTS)
    return {"RETRAIN_HOME": str(tmp_path), "LOG_LEVEL": "WARNING"}


def runs(capsys, env, *args: str) -> list[str]:
    assert main(["runs", *args, "--json"], env) == 0
    return [r["run_id"] for r in json.loads(capsys.readouterr().out)["runs"]]


def test_the_filters_choose_as_the_http_route_does(env, capsys):
    november = runs(capsys, env, "--trigger", "timer", "--since", "2026-11-01")
    assert november == [
        "20261101T000000Z-KLASSE_ROH-monthly",
        "20261101T000000Z-KLASSE_CORE-monthly",
        "20261101T000000Z-ARTFAM_ROH-monthly",
    ]
    assert runs(capsys, env, "--batch", "20261101T000000Z-monthly") == november
    assert runs(capsys, env, "--until", "2026-10-01T00:00:01Z", "--model", "KLASSE_ROH") == [
        "20261001T000000Z-KLASSE_ROH-monthly"
    ]
    assert runs(capsys, env, "--trigger", "http") == []


def test_the_table_shows_the_change_against_the_champion(env, capsys):
    assert main(["runs", "--batch", "20261101T000000Z-monthly"], env) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[4] == "delta"  # candidate minus champion
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "+0.0100" in lines["20261101T000000Z-ARTFAM_ROH-monthly"]
    assert "-0.0500" in lines["20261101T000000Z-KLASSE_CORE-monthly"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "argument --since: since must be a date (2026-11-01)"),
        # past year 9999 in UTC (a traceback before)
        (["--since", "9999-12-31T23:59:59-14:00"], "argument --since: since must be a date"),
        (["--until", "0001-01-01T00:00:00+14:00"], "argument --until: until must be a date"),
        (["--batch", "monthly"], "argument --batch: batch must be a batch id"),
        (["--trigger", "slack"], "argument --trigger: invalid choice: 'slack'"),
    ],
)
def test_a_bad_filter_is_a_usage_error(env, capsys, args, message):
    with pytest.raises(SystemExit) as exited:
        main(["runs", *args], env)
    assert exited.value.code == 2 and message in capsys.readouterr().err
