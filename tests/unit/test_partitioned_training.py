"""The pure pieces of the Dask engine, checked against the local path on the same rows:
metrics from added confusion counts, the hash holdout, validation from partition summaries,
and a pipeline assembled from a booster trained elsewhere."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retrain.config import Settings
from retrain.domain.errors import ConfigError, DataValidationError
from retrain.training import assemble, evaluate, holdout, profile, serialize, summary, validate
from retrain.training.features import build_pipeline, feature_frame
from tests.fakes import toy_frame, toy_spec


def keyed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(row_id=np.arange(1, len(frame) + 1))


SPEC = toy_spec(key_column="row_id")


def partitioned(frame: pd.DataFrame, parts: int = 3) -> list[pd.DataFrame]:
    return [frame.iloc[i::parts] for i in range(parts)]


def summarised(frame: pd.DataFrame, champion: dict | None = None, parts: int = 3):
    """(findings, profile) as the Dask engine computes them from ``parts`` partitions."""
    pieces = partitioned(frame, parts)
    first = summary.merge([summary.first_pass(p, SPEC) for p in pieces])
    findings, dropped = summary.check_first(first, SPEC)
    second = summary.merge([summary.second_pass(p, SPEC, dropped, champion) for p in pieces])
    hashes = np.concatenate([summary.row_hashes(p, SPEC, dropped) for p in pieces])
    duplicates = len(hashes) - len(np.unique(hashes))
    more, current = summary.check_second(first, second, SPEC, dropped, duplicates, champion)
    return findings + more, current


def test_metrics_from_added_confusion_counts_equal_metrics_on_all_rows():
    rng = np.random.default_rng(3)
    y = pd.Series(rng.choice(["a", "b", "c", "d"], 500, p=[0.5, 0.3, 0.15, 0.05]))
    predicted = np.where(rng.random(500) < 0.7, y, rng.choice(["a", "b", "c", "e"], 500))

    class Fixed:
        def __init__(self, answers):
            self.answers = answers

        def predict(self, X):
            return self.answers[X.index.to_numpy()]

    X = pd.DataFrame({"i": range(500)})
    model = Fixed(predicted)
    parts = [evaluate.confusion_counts(model, X.iloc[i::4], y.iloc[i::4]) for i in range(4)]
    assert evaluate.evaluate_counts(sum(parts, Counter())) == evaluate.evaluate(model, X, y)


def test_the_hash_holdout_is_stable_and_does_not_depend_on_partitioning():
    keys = pd.Series(np.arange(20_000))
    parts = holdout.parts(keys, test_size=0.2, validation_fraction=0.1)
    again = np.concatenate([holdout.parts(keys.iloc[i::7], 0.2, 0.1) for i in range(7)])
    order = np.concatenate([np.arange(20_000)[i::7] for i in range(7)])
    assert (again == parts[order]).all()
    share = np.bincount(parts, minlength=3) / len(parts)
    assert share[holdout.TEST] == pytest.approx(0.2, abs=0.01)
    assert share[holdout.VALID] == pytest.approx(0.08, abs=0.01)
    # the same key as text lands in the same part
    assert (holdout.parts(keys.astype(str), 0.2, 0.1) == parts).all()


def test_summaries_give_the_findings_and_profile_of_validate():
    frame = keyed(toy_frame(2000, seed=4))
    frame.loc[frame.index[:30], "label"] = None  # null targets: dropped
    frame.loc[frame.index[30:35], "label"] = "rare"  # a rare class: dropped
    frame.loc[frame.index[40:100], "colour"] = None
    frame = pd.concat([frame, frame.iloc[200:210].assign(row_id=range(5000, 5010))])
    local = validate.validate(frame, SPEC)
    findings, current = summarised(frame)
    assert findings == local.findings
    assert {k: v for k, v in current.items() if k != "numeric_deciles"} == {
        k: v for k, v in local.profile.items() if k != "numeric_deciles"
    }
    np.testing.assert_allclose(
        current["numeric_deciles"]["size"], local.profile["numeric_deciles"]["size"], rtol=0.02
    )


def test_summaries_compare_with_the_champion_like_validate():
    champion = validate.validate(keyed(toy_frame(2000, seed=1)), SPEC).profile
    shifted = keyed(toy_frame(2000, seed=2, colours=("red", "green", "violet")))
    shifted["size"] = shifted["size"] * 0.5
    local = validate.validate(shifted, SPEC, champion)
    findings, _ = summarised(shifted, champion)
    assert findings == local.findings
    assert {f["rule"] for f in findings} >= {"new_categories", "vanished_categories"}
    assert any(f["rule"] == "feature_shift" and f["column"] == "size" for f in findings)
    assert profile.SHIFT_WARN > 0


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda f: f.drop(columns=["colour"]), "missing_column"),
        (lambda f: f.assign(label=None), "target_null"),
        (lambda f: f.assign(colour=None), "null_rate"),
        (lambda f: f.head(150), "too_few_rows"),
        (lambda f: f.assign(label="small"), "single_class"),
    ],
)
def test_summaries_stop_on_the_same_hard_rules(change, rule):
    frame = change(keyed(toy_frame(1000)))
    with pytest.raises(DataValidationError) as local:
        validate.validate(frame, SPEC)
    with pytest.raises(DataValidationError) as dask:
        summarised(frame)
    assert rule in {f["rule"] for f in dask.value.findings}
    assert str(dask.value) == str(local.value)


def test_a_pipeline_assembled_from_a_booster_predicts_like_its_booster_and_loads_trusted():
    from xgboost import XGBClassifier

    spec = dataclasses.replace(
        SPEC, estimator=lambda: XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1)
    )
    frame = keyed(toy_frame(1500, seed=5))
    X, y = feature_frame(frame, spec), frame["label"].astype(str)
    vocab = {"colour": ["red", "green", "blue"]}
    features = assemble.fitted_features(spec, vocab)
    reference = build_pipeline(spec).named_steps["features"].fit(X)
    np.testing.assert_array_equal(features.transform(X), reference.transform(X))

    classes = sorted(set(y))
    booster = spec.estimator().fit(features.transform(X), pd.Categorical(y, classes).codes)
    path = f"/tmp/retrain-assemble-{id(booster)}.ubj"
    booster.save_model(path)
    with open(path, "rb") as saved:
        pipeline = assemble.pipeline_from_booster(spec, features, classes, saved.read())
    data = serialize.dumps(pipeline)
    loaded = serialize.loads(data, serialize.sha256(data))
    assert list(loaded.classes_) == classes
    expected = np.asarray(classes)[booster.predict(features.transform(X))]
    assert (loaded.predict(X) == expected).all()
    assert loaded.named_steps["classifier"].estimator_.get_params()["n_estimators"] == 20


def test_the_engine_settings_are_checked_together():
    assert Settings.from_environ({}).training_engine == "local"
    pg = {"TRAINING_DB_URL": "postgresql+psycopg2://reader@db/training"}
    with pytest.raises(ConfigError) as info:
        Settings.from_environ({**pg, "TRAINING_ENGINE": "dask"})
    assert "TRAINING_ENGINE" in str(info.value) and "DASK_SCHEDULER_ADDRESS" in str(info.value)
    with pytest.raises(ConfigError, match="one of local, dask"):
        Settings.from_environ({"TRAINING_ENGINE": "spark"})
    with pytest.raises(ConfigError, match="DASK_SCHEDULER_ADDRESS must look like"):
        Settings.from_environ({"DASK_SCHEDULER_ADDRESS": "scheduler"})
    with pytest.raises(ConfigError, match="not PostgreSQL"):
        Settings.from_environ({"TRAINING_ENGINE": "dask", "DASK_SCHEDULER_ADDRESS": "tcp://s:8786"})
    settings = Settings.from_environ(
        {
            **pg,
            "TRAINING_ENGINE": "DASK",
            "DASK_SCHEDULER_ADDRESS": "tls://dask-scheduler.retrain:8786",
            "DASK_PARTITION_ROWS": "250000",
        }
    )
    assert settings.training_engine == "dask"
    assert settings.dask_partition_rows == 250_000 and settings.dask_timeout_s == 3600


def test_a_key_column_must_be_a_column_name_outside_features_and_target():
    assert toy_spec(key_column="article_id").key_column == "article_id"
    for bad in ("size", "label", "Article Id", "x;drop"):
        with pytest.raises(ValueError, match="key_column"):
            toy_spec(key_column=bad)


def test_the_dask_engine_refuses_a_spec_it_cannot_train_before_touching_the_cluster():
    from datetime import date

    from retrain.adapters.dask_engine import DaskEngine
    from retrain.adapters.postgres_partitions import Database
    from retrain.config import Secret

    engine = DaskEngine(None, Database(Secret("postgresql://x")), "tcp://127.0.0.1:1")  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as info:
        engine.load(toy_spec(), date(2026, 1, 1), None)
    assert "no key_column" in str(info.value)
    assert "DecisionTreeClassifier" in str(info.value) and "XGBoost only" in str(info.value)


def test_the_dask_engine_is_chosen_from_settings_without_importing_or_connecting(tmp_path):
    import os
    import subprocess
    import sys

    code = (
        "import sys, function_app; from retrain import bootstrap\n"
        "env = {'TRAINING_ENGINE': 'dask', 'DASK_SCHEDULER_ADDRESS': 'tcp://127.0.0.1:1',\n"
        "       'TRAINING_DB_URL': 'postgresql+psycopg2://reader:pw@127.0.0.1:1/x',\n"
        f"       'RETRAIN_HOME': {str(tmp_path)!r}}}\n"
        "svc = bootstrap.build(bootstrap.load_settings(env))\n"
        "assert type(svc.engine).__name__ == 'DaskEngine', svc.engine\n"
        "heavy = {m.split('.')[0] for m in sys.modules} & {'dask', 'distributed', 'pandas'}\n"
        "assert not heavy, heavy\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        env={**os.environ, "PYTHONPATH": f"{root / 'src'}:{root}"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
