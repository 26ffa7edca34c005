"""The CLI in-process on a small SQLite demo database: JSON keys as documented, readable
tables, cards and diffs, dry runs, the home folder, unknown names, rollback, tampering."""

from __future__ import annotations

import json
import os
import pwd
import re
import shlex
from pathlib import Path

import pytest

from retrain.entrypoints.cli import main
from retrain.entrypoints.cli.train import actor

ROOT = Path(__file__).resolve().parents[1]
KNOWN = "known models: ARTFAM_ROH, KLASSE_CORE, KLASSE_ROH"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A home with demo rows and KLASSE_ROH trained twice (v1, v2)."""
    home = tmp_path_factory.mktemp("cli")
    env = {"RETRAIN_HOME": str(home), "LOG_LEVEL": "WARNING"}
    assert main(["demo-data", "--rows", "3000", "--as-of", "2026-11-01"], env) == 0
    assert main(["train", "--model", "KLASSE_ROH", "--quiet"], env) == 0
    assert main(["train", "--model", "KLASSE_ROH", "--quiet"], env) == 0
    return env


def run(capsys, env, *args: str) -> tuple[int, str, str]:
    code = main(list(args), env)
    out, err = capsys.readouterr()
    return code, out, err


def _documented_json() -> list[tuple[list[str], dict]]:
    """Each ``### `retrain ... --json` `` heading of docs/cli.md with its example."""
    text = (ROOT / "docs" / "cli.md").read_text()
    found = re.findall(r"^### `retrain (.+? --json)`\n.*?```json\n(.*?)```", text, re.M | re.S)
    return [(shlex.split(command), json.loads(example)) for command, example in found]


def _keys(value: object, path: str = "", depth: int = 0) -> tuple[set[str], set[str]]:
    """Key paths of the first two levels (``runs[].model``) and the lists that were empty."""
    keys: set[str] = set()
    empty: set[str] = set()
    if isinstance(value, dict) and depth < 2:
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            keys.add(sub)
            more, none = _keys(item, sub, depth + 1)
            keys |= more
            empty |= none
    elif isinstance(value, list) and depth < 2:
        if not value:
            empty.add(path)
        for item in value:
            more, none = _keys(item, path + "[]", depth)
            keys |= more
            empty |= none
    return keys, empty


def test_every_json_output_has_the_documented_keys(env, capsys):
    documented = _documented_json()
    commands = {args[0] for args, _ in documented}
    assert commands == {
        *("models", "versions", "card", "diff", "runs", "stats", "history", "train", "promote"),
        "decay",
    }
    for args, example in documented:
        code, out, err = run(capsys, env, *args)
        assert code == 0, (args, err)
        printed = json.loads(out)  # exactly one JSON document on stdout
        have, empty = _keys(printed)
        want, _ = _keys(example)
        want = {k for k in want if not any(k.startswith(e + "[]") for e in empty)}
        if args[0] == "card":  # the stored card: new runs may add keys
            assert {k for k in want if not k.startswith("card.")} == {
                k for k in have if not k.startswith("card.")
            }
            assert want <= have, (args, sorted(want - have))
        else:
            assert have == want, (args, sorted(have ^ want))


def test_dry_run_text_and_json_and_nothing_published(env, capsys):
    code, out, _ = run(capsys, env, "train", "--model", "KLASSE_CORE", "--dry-run", "--json")
    assert code == 0
    result = json.loads(out)["runs"][0]  # stdout is the JSON document alone; logs on stderr
    assert result["outcome"] == "validated" and result["version"] is None
    assert result["profile"]["rows"] > 2500
    assert set(result["profile"]["class_counts"]) >= {"STANDARD", "FINE"}
    code, out, _ = run(capsys, env, "train", "--model", "KLASSE_CORE", "--dry-run")
    assert code == 0 and "{" not in out
    assert "KLASSE_CORE: dry run, nothing published" in out
    assert re.search(r"^  classes +\d+: ", out, re.M)
    assert re.search(r"^KLASSE_CORE +- +validated \(dry run\)", out, re.M)
    assert not (Path(env["RETRAIN_HOME"]) / "artifacts/models/KLASSE_CORE").exists()


def test_tables_fit_100_columns_and_read_well(env, capsys):
    outputs = []
    for args in (
        *(["models"], ["versions", "KLASSE_ROH"], ["runs"], ["history", "KLASSE_ROH"]),
        ["stats"],
    ):
        code, out, _ = run(capsys, env, *args)
        assert code == 0
        outputs.append(out)
        for line in out.splitlines():
            assert len(line.encode()) <= 100, line  # bytes: what `awk length` counts
            assert line == line.rstrip(), repr(line)
    assert "..." in outputs[0]  # the models' descriptions were cut to fit
    for args in (["card", "KLASSE_ROH"], ["diff", "KLASSE_ROH", "1", "2"]):
        code, out, _ = run(capsys, env, *args)
        assert code == 0
        # 100 columns; a path or a hash stays whole to copy (tables.pairs), so a line holding
        # nothing else after its name may be longer: the home's path is the machine's
        assert all(len(line) <= 100 or _one_word(line) for line in out.splitlines()), out
    versions, runs = outputs[1], outputs[2]
    champions = re.findall(r"^ +[12] +promoted +(yes|no) ", versions, re.M)
    assert sorted(champions) == ["no", "yes"]
    assert "True" not in versions and "False" not in versions
    delta = r"(-|[+-]\d\.\d{4})"  # candidate minus champion; "-" for a first version
    row = rf" promoted +\d +{delta} +cli +\d{{4}}-\d\d-\d\d \d\d:\d\d +\d+\.\ds$"
    assert re.search(row, runs, re.M)


def _one_word(line: str) -> bool:
    """``  uri     /a/long/path``: a name, then one value without a space."""
    return " " not in line.strip().split("  ", 1)[-1].strip()


def test_card_reads_as_text_and_defaults_to_the_champion(env, capsys):
    models = json.loads(run(capsys, env, "models", "--json")[1])["models"]
    champion = next(m["champion_version"] for m in models if m["name"] == "KLASSE_ROH")
    code, out, _ = run(capsys, env, "card", "KLASSE_ROH")
    assert code == 0
    assert out.startswith(f"KLASSE_ROH v{champion} · promoted · champion: yes")
    for section in ("Gate", "Metrics on the holdout", "Per class", "Data", "Findings"):
        assert f"\n{section}" in out
    for words in ("balanced_accuracy", "(primary)", "raw_material_class", "sha256", "xgboost"):
        assert words in out
    code, out, err = run(capsys, env, "card", "KLASSE_ROH", "7")
    assert code == 1 and "KLASSE_ROH has no version 7" in err


def test_diff_compares_two_versions(env, capsys):
    code, out, _ = run(capsys, env, "diff", "KLASSE_ROH", "1", "2", "--json")
    assert code == 0
    d = json.loads(out)
    assert (d["a"], d["b"]) == (1, 2)
    names = {m["metric"] for m in d["metrics"]}
    assert names == {"accuracy", "balanced_accuracy", "macro_f1"}
    for m in d["metrics"]:
        assert m["delta"] == pytest.approx(m["b"] - m["a"])
    assert d["gate"]["a"]["champion_version"] is None and d["gate"]["b"]["champion_version"] == 1
    assert d["same_query"] is True and d["feature_schema"] == []
    assert (
        sum(c["a"] for c in d["class_distribution"])
        == d["rows"]["a"]["train"] + d["rows"]["a"]["test"]
    )
    code, out, _ = run(capsys, env, "diff", "KLASSE_ROH", "1", "2")
    assert code == 0 and out.startswith("KLASSE_ROH v1 -> v2")
    assert "Class distribution" in out and "Features\n  no change" in out


def test_an_unknown_name_is_the_same_error_everywhere(env, capsys):
    error = f"error: unknown model 'KLASSE_RHO' (did you mean KLASSE_ROH?); {KNOWN}"
    for args in (
        ["versions", "KLASSE_RHO"],
        ["card", "KLASSE_RHO"],
        ["diff", "KLASSE_RHO", "1", "2"],
        ["history", "KLASSE_RHO"],
        ["runs", "--model", "KLASSE_RHO"],
        ["promote", "KLASSE_RHO", "1", "--reason", "x"],
        ["train", "--model", "KLASSE_RHO"],
    ):
        code, out, err = run(capsys, env, *args)
        assert (code, err.strip(), out) == (1, error, ""), args
    code, out, _ = run(capsys, env, "runs", "--model", "KLASSE_RHO", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "unknown_model"


@pytest.mark.parametrize("value", ["-5", "0", "501", "five", "2.5", "\u0663", ""])
def test_runs_limit_is_checked_as_the_http_route_checks_it(env, capsys, value):
    """The HTTP route's rule and message (tests/functions/test_http_api.py), as an argparse
    usage error: exit 2, no traceback."""
    for args in (["runs", "--limit", value], [f"--limit={value}"]):
        argv = args if args[0] == "runs" else ["runs", *args]
        with pytest.raises(SystemExit) as exited:
            main(argv, env)
        err = capsys.readouterr().err
        assert exited.value.code == 2
        assert err.startswith("usage: retrain runs") and "Traceback" not in err
        message = f"limit must be a whole number from 1 to 500, not {value!r}"
        assert f"retrain runs: error: argument --limit: {message}" in err
    assert run(capsys, env, "runs", "--limit", "500")[0] == 0


@pytest.mark.parametrize(
    "args",
    [
        ["promote", "KLASSE_ROH", "-1", "--reason", "x"],
        ["card", "KLASSE_ROH", "0"],
        ["diff", "KLASSE_ROH", "1", "-2"],
    ],
)
def test_version_arguments_follow_the_http_rule_too(env, capsys, args):
    with pytest.raises(SystemExit) as exited:
        main(args, env)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "version must be a whole number from 1 to 999999999" in err


def test_versions_survive_a_summary_entry_with_wrong_types_and_say_it_was_mended(env, capsys):
    """A hand-edited summary.json: wrong types in an entry are read again from the card
    (exit 0, the card's values, a note on stderr), and the summary is written back."""
    summary = Path(env["RETRAIN_HOME"]) / "artifacts/models/KLASSE_ROH/summary.json"
    before = json.loads(run(capsys, env, "versions", "KLASSE_ROH", "--json")[1])["versions"]
    stored = json.loads(summary.read_text())
    entry = stored["versions"][0]
    entry.update(rows=[1, 2], created_at=5, metrics={"balanced_accuracy": "high"})
    summary.write_text(json.dumps(stored))
    code, out, err = run(capsys, env, "versions", "KLASSE_ROH")
    assert code == 0 and "Traceback" not in err
    assert f"note: KLASSE_ROH v{entry['version']}: its summary entry was not valid" in err
    assert f"{before[0]['score']:.4f}" in out
    code, out, err = run(capsys, env, "versions", "KLASSE_ROH", "--json")
    assert code == 0 and json.loads(out)["versions"] == before and err == ""  # mended


def test_read_commands_elsewhere_create_nothing_and_say_where_they_looked(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    env = {"LOG_LEVEL": "WARNING"}
    code, out, err = run(capsys, env, "models", "--json")
    assert code == 0 and len(json.loads(out)["models"]) == 3
    assert f"nothing stored yet in {tmp_path / '.retrain' / 'artifacts'}" in err
    assert "retrain demo-data" in err
    for args in (["runs"], ["versions", "KLASSE_ROH"], ["history", "KLASSE_ROH"]):
        assert run(capsys, env, *args)[0] == 0
    code, _, err = run(capsys, env, "card", "KLASSE_ROH")
    assert code == 1 and "KLASSE_ROH has no champion yet" in err
    code, _, err = run(capsys, env, "train", "--all")
    assert code == 1
    assert f"no training database at {tmp_path / '.retrain' / 'training.db'}" in err
    assert list(tmp_path.iterdir()) == []


def test_rollback_records_the_login_name_and_a_tampered_target_is_refused(env, capsys, monkeypatch):
    for name in ("USER", "LOGNAME", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    login = pwd.getpwuid(os.getuid()).pw_name
    assert actor() == f"cli:{login}"
    reason = "v2 misroutes plant P04"
    code, out, _ = run(capsys, env, "promote", "KLASSE_ROH", "1", "--reason", reason)
    assert code == 0 and "KLASSE_ROH champion is now v1" in out
    code, out, _ = run(capsys, env, "history", "KLASSE_ROH", "--json")
    last = json.loads(out)["history"][-1]
    assert (last["version"], last["actor"], last["reason"]) == (1, f"cli:{login}", reason)

    artifact = Path(env["RETRAIN_HOME"]) / "artifacts/models/KLASSE_ROH/versions/2/model.skops"
    data = bytearray(artifact.read_bytes())
    data[len(data) // 3] ^= 0x01
    artifact.write_bytes(bytes(data))
    code, _, err = run(capsys, env, "promote", "KLASSE_ROH", "2", "--reason", "try v2 again")
    assert code == 1 and "sha256" in err
    champion = json.loads((artifact.parents[2] / "champion.json").read_text())
    assert champion["version"] == 1
    data[len(data) // 3] ^= 0x01
    artifact.write_bytes(bytes(data))  # as it was, for the tests after this one


def test_bad_settings_are_named_and_exit_2(env, capsys):
    code, _, err = run(capsys, {**env, "LOG_FORMAT": "xml", "TRAINING_MAX_ROWS": "-1"}, "models")
    assert code == 2 and "LOG_FORMAT" in err and "TRAINING_MAX_ROWS" in err


def test_the_documented_commands_run_as_written(env, capsys):
    """docs/cli.md's command list, except the two that rewrite or retrain everything
    (`demo-data` and `train --all`: the README's demo test runs those)."""
    text = (ROOT / "docs" / "cli.md").read_text()
    block = re.search(r"^## Commands\n\n```sh\n(.*?)```", text, re.M | re.S)
    assert block is not None
    commands = [shlex.split(line.split("  #")[0]) for line in block[1].splitlines()]
    assert all(c[0] == "retrain" for c in commands) and len(commands) >= 12
    for command in commands:
        if command[1:] in (["demo-data"], ["train", "--all"]):
            continue
        code, out, err = run(capsys, env, *command[1:])
        assert code == 0, (command, err)
        assert out.strip(), command


@pytest.mark.parametrize(
    "bad",
    [
        {"TRAINING_DB_URL": "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/x)"},
        {"TRAINING_DB_URL": "postgresql://u:hunter2@db:port/x"},
        {"ARTIFACT_CONNECTION_STRING": "AccountName=a;AccountKey=hunter2;Bogus"},
        {"ENVIRONMENT": "PROD"},
        {"SLACK_TIMEOUT_S": "nan"},
    ],
)
def test_bad_settings_exit_2_naming_them_without_a_traceback(bad, capsys):
    assert main(["models"], bad) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: invalid settings: ") and "Traceback" not in err
    assert "hunter2" not in err and "kv.vault" not in err


def test_a_validation_stop_names_every_column_that_stopped_it(tmp_path, monkeypatch, capsys):
    """Eight features mostly null: the text summary names all eight (the run record's error
    message is cut at 500 characters; the findings are not)."""
    from retrain import classifiers
    from retrain.classifiers.estimators import xgboost_hist
    from retrain.domain.specs import Features, ModelSpec

    columns = [f"measurement_{i}_value" for i in range(8)]
    values = ", ".join(f"CASE WHEN rowid % 10 = 0 THEN density_kg_m3 END AS {c}" for c in columns)
    spec = ModelSpec(
        name="MOSTLY_NULL",
        description="eight features that are 90 % null",
        query=f"SELECT {values}, plant, emission_class FROM panel_articles",
        target="emission_class",
        features=Features(numeric=tuple(columns), categorical=("plant",)),
        estimator=xgboost_hist,
    )
    monkeypatch.setattr(classifiers, "CLASSIFIERS", [*classifiers.CLASSIFIERS, spec])
    env = {"RETRAIN_HOME": str(tmp_path), "LOG_LEVEL": "WARNING"}
    assert main(["demo-data", "--rows", "2000", "--as-of", "2026-11-01"], env) == 0
    for args in (["--dry-run"], []):
        code, out, _ = run(capsys, env, "train", "--model", "MOSTLY_NULL", *args)
        assert code == 1
        assert "MOSTLY_NULL: failed in validate: DataValidationError" in out
        for column in columns:
            assert f"feature '{column}' is 90% null (max_null_rate=0.6)" in " ".join(out.split())
        assert "…" not in out
        assert all(len(line) <= 100 and line == line.rstrip() for line in out.splitlines())


def test_your_own_training_database_gets_no_demo_hint(tmp_path, monkeypatch, capsys):
    """TRAINING_DB_URL set (here a SQLite file of one's own; PostgreSQL alike): no command
    suggests `retrain demo-data`, which writes demo rows into that database."""
    monkeypatch.chdir(tmp_path)
    own, home = tmp_path / "own.db", tmp_path / "home"
    env = {"LOG_LEVEL": "WARNING", "RETRAIN_HOME": str(home)}
    for url in (f"sqlite:///{own}", "postgresql+psycopg2://reader@127.0.0.1:9/training"):
        code, _, err = run(capsys, {**env, "TRAINING_DB_URL": url}, "models")
        assert code == 0 and "demo-data" not in err
        assert f"nothing trained yet in {home / 'artifacts'}" in err
        assert "the first `retrain train` creates it" in err
    env["TRAINING_DB_URL"] = f"sqlite:///{own}"
    code, out, err = run(capsys, env, "train", "--model", "KLASSE_ROH", "--dry-run")
    assert code == 1 and "demo-data" not in out + err
    assert f"no training database at {own} (TRAINING_DB_URL)" in err
    assert not own.exists()
    assert main(["demo-data", "--rows", "2000", "--as-of", "2026-11-01"], env) == 0
    code, out, err = run(capsys, env, "train", "--model", "KLASSE_ROH", "--dry-run")
    assert code == 0 and "KLASSE_ROH: dry run, nothing published" in out
    assert "demo-data" not in out + err
    # the embedded default still says how to make demo rows
    code, _, err = run(
        capsys, {"LOG_LEVEL": "WARNING", "RETRAIN_HOME": str(tmp_path / "x")}, "runs"
    )
    assert code == 0 and "retrain demo-data" in err


def test_stats_counts_the_trained_runs_and_checks_the_window(env, capsys):
    """The figures of GET /api/training/statistics (tests/unit/test_statistics.py has every
    rule), as JSON and as two tables; --days follows the HTTP route's rule."""
    code, out, _ = run(capsys, env, "stats", "--days", "1", "--json")
    assert code == 0
    body = json.loads(out)
    roh = next(m for m in body["models"] if m["model"] == "KLASSE_ROH")
    assert body["days"] == 1 and roh["runs"] >= 2 and roh["outcomes"]["promoted"] >= 1
    assert roh["duration_s"]["measured"] >= 2 and roh["promotions"] >= 1
    assert roh["last_success"]["version"] >= 2 and body["overall"]["runs"] >= roh["runs"]
    code, out, _ = run(capsys, env, "stats")
    assert code == 0 and out.startswith("last 90 days: ") and "dry runs not counted" in out
    assert re.search(r"^KLASSE_ROH +\d+ +\d+ ", out, re.M)
    assert re.search(r"^all models +\d{4}-\d\d-\d\d \d\d:\d\d +\d+ ", out, re.M)
    for value in ("0", "3651", "ninety"):
        with pytest.raises(SystemExit) as exited:
            main(["stats", "--days", value], env)
        err = capsys.readouterr().err
        assert exited.value.code == 2 and "Traceback" not in err
        assert f"argument --days: days must be a whole number from 1 to 3650, not {value!r}" in err


def _new_month_of_wrong_labels(home: Path, rows: int = 400) -> None:
    """Rows from 2026-11-02 (after the champion's window) with every raw material class
    wrong, appended to the home's demo table."""
    from datetime import date

    import pandas as pd
    from sqlalchemy import create_engine

    from retrain.adapters import demo_data

    new = demo_data.generate(rows, 9, date(2026, 11, 28))
    new["article_id"] += 1_000_000
    new["created_at"] = pd.date_range("2026-11-02", periods=rows, freq="h")
    new["raw_material_class"] = new["raw_material_class"].map(
        {"A": "D", "B": "C", "C": "B", "D": "A"}
    )
    engine = create_engine(f"sqlite:///{home / 'training.db'}")
    with engine.begin() as conn:
        new.to_sql(demo_data.TABLE, conn, if_exists="append", index=False)
    engine.dispose()


def test_decay_scores_each_champion_on_the_new_rows(env, capsys, tmp_path, monkeypatch):
    """On a copy of the home: no new rows, then a month of wrong labels; a spec with
    retrain_on_decay gets its run trained inline."""
    import dataclasses
    import shutil

    from retrain import classifiers
    from retrain.classifiers.estimators import xgboost_hist
    from retrain.domain.specs import Registry

    home = Path(shutil.copytree(env["RETRAIN_HOME"], tmp_path / "home"))
    mine = {**env, "RETRAIN_HOME": str(home)}
    before = len(list(home.glob("artifacts/models/KLASSE_ROH/decay/*.json")))
    code, out, _ = run(capsys, mine, "decay", "KLASSE_ROH", "--json")
    assert code == 0
    (result,) = json.loads(out)["results"]
    assert (result["model"], result["status"], result["score"]) == (
        "KLASSE_ROH",
        "not_enough_rows",
        None,
    )

    _new_month_of_wrong_labels(home)
    code, out, _ = run(capsys, mine, "decay")
    assert code == 0
    for line in out.splitlines():
        assert len(line.encode()) <= 100 and line == line.rstrip(), line
    assert re.search(r"^ARTFAM_ROH +- +macro_f1 +- +- +- +0 +- +no champion$", out, re.M)
    assert re.search(
        r"^KLASSE_ROH +v[12] +balanced_accuracy +0\.\d{4} +0\.\d{4} +-0\.\d{4} +39\d "
        r"+2026-10-3[01] +below floor$",
        out,
        re.M,
    )
    assert len(list(home.glob("artifacts/models/KLASSE_ROH/decay/*.json"))) == before + 2

    quick = dataclasses.replace(
        classifiers.klasse_roh.SPEC,
        estimator=lambda: xgboost_hist(n_estimators=20, max_depth=3),
        retrain_on_decay=True,
    )
    monkeypatch.setattr(classifiers, "default_registry", lambda: Registry([quick]))
    code, out, _ = run(capsys, mine, "decay", "--json")
    assert code == 0
    body = json.loads(out)
    (result,), (trained,) = body["results"], body["runs"]
    assert result["retrain"] == {"run_id": trained["run_id"]}
    assert (trained["model"], trained["status"]) == ("KLASSE_ROH", "succeeded")
    assert trained["version"] >= 3  # a new version beside those the home had
    code, _, err = run(capsys, mine, "decay", "KLASSE_RHO")
    assert code == 1 and "did you mean KLASSE_ROH?" in err
