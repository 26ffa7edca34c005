"""``retrain approve`` and ``retrain reject`` in-process on a small SQLite demo database, with
KLASSE_ROH registered as needing approval (a quick estimator)."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from retrain import classifiers
from retrain.domain.specs import Registry
from retrain.entrypoints.cli import main
from retrain.entrypoints.cli.train import actor
from tests.fakes import tree

NAME = "KLASSE_ROH"


@pytest.fixture
def env(tmp_path, monkeypatch) -> dict[str, str]:
    """A home whose KLASSE_ROH v1 was approved and whose v2 awaits approval."""
    spec = dataclasses.replace(
        classifiers.default_registry().get(NAME), estimator=tree, approval="required"
    )
    monkeypatch.setattr(classifiers, "default_registry", lambda: Registry([spec]))
    env = {"RETRAIN_HOME": str(tmp_path), "LOG_LEVEL": "WARNING"}
    assert main(["demo-data", "--rows", "3000", "--as-of", "2026-11-01"], env) == 0
    assert main(["train", "--model", NAME, "--quiet"], env) == 0
    assert main(["approve", NAME, "1", "--reason", "first", "--quiet"], env) == 0
    assert main(["train", "--model", NAME, "--quiet"], env) == 0
    return env


def run(capsys, env, *args: str) -> tuple[int, str, str]:
    code = main(list(args), env)
    out, err = capsys.readouterr()
    return code, out, err


def test_approve_makes_it_the_champion_and_the_history_names_the_user(env, capsys):
    code, out, _ = run(capsys, env, "models", "--json")
    (row,) = json.loads(out)["models"]
    assert (row["status"], row["champion_version"]) == ("awaiting_approval", 1)
    code, out, err = run(capsys, env, "approve", NAME, "2", "--reason", "checked P04")
    assert code == 0, err
    assert out == f"{NAME} v2 approved: it is the champion\n"
    code, out, _ = run(capsys, env, "history", NAME, "--json")
    move = json.loads(out)["history"][-1]
    assert (move["version"], move["actor"]) == (2, actor())
    assert move["reason"] == "approved: checked P04"


def test_reject_keeps_the_champion_and_a_second_decision_fails(env, capsys):
    code, out, err = run(capsys, env, "reject", NAME, "2", "--reason", "misroutes P04", "--json")
    assert code == 0, err
    decided = json.loads(out)
    assert decided["decision"] == "rejected" and decided["champion_version"] == 1
    assert decided["actor"] == actor() and decided["reason"] == "misroutes P04"
    code, out, err = run(capsys, env, "approve", NAME, "2", "--reason", "after all", "--json")
    assert code == 1
    assert f"{NAME} v2 was already rejected by {actor()}" in err
    assert json.loads(out)["error"]["code"] == "approval_refused"
    code, out, _ = run(capsys, env, "models", "--json")
    assert json.loads(out)["models"][0]["champion_version"] == 1
    code, out, _ = run(capsys, env, "versions", NAME)
    assert re.search(r"^ +2 +rejected on approval +no ", out, re.M), out
    code, out, _ = run(capsys, env, "versions", NAME, "--json")
    listed = {v["version"]: v for v in json.loads(out)["versions"]}
    assert (
        listed[2]["approval"]["state"] == "rejected"
        and listed[1]["approval"]["state"] == "approved"
    )


def test_a_version_that_awaits_nothing_and_a_missing_reason_are_refused(env, capsys):
    code, _, err = run(capsys, env, "approve", NAME, "1", "--reason", "again")
    assert code == 1 and "already approved" in err
    with pytest.raises(SystemExit) as usage:
        main(["reject", NAME, "2"], env)
    assert usage.value.code == 2
