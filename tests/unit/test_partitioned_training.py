"""The pure pieces of the Dask engine, checked against the local path on the same rows:
metrics from added confusion counts, the hash holdout, validation from partition summaries,
and a pipeline assembled from a booster trained elsewhere."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retrain.config import Settings
from retrain.domain.errors import ConfigError, DataValidationError
from retrain.domain.runs import RunStatus
from retrain.domain.specs import Features
from retrain.training import assemble, evaluate, holdout, serialize, summary, validate
from retrain.training.features import build_pipeline, feature_frame
from tests.fakes import toy_frame, toy_spec


def keyed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(row_id=np.arange(1, len(frame) + 1))


SPEC = toy_spec(key_column="row_id")


def partitioned(frame: pd.DataFrame, parts: int = 3) -> list[pd.DataFrame]:
    return [frame.iloc[i::parts] for i in range(parts)]


def summarised(frame, champion=None, parts=3, spec=SPEC, window=None):
    """(findings, profile) as the Dask engine computes them from ``parts`` partitions."""
    parsed, first = summary.load(summary.InMemory(partitioned(frame, parts)), spec)
    checked = summary.check(parsed, first, spec, champion, window)
    return checked.findings, checked.profile


def without_moments(profile: dict) -> dict:
    columns = {
        col: {k: v for k, v in described.items() if k not in ("mean", "std")}
        for col, described in profile["columns"].items()
    }
    return {**profile, "columns": columns}


def assert_same_checks(frame, champion=None, spec=SPEC, window=None, parts=3):
    """The partitioned path and ``validate.validate`` agree: findings, profile, or stop."""
    try:
        local = validate.validate(frame, spec, champion, window)
    except DataValidationError as stop:
        with pytest.raises(DataValidationError) as dask:
            summarised(frame, champion, parts, spec, window)
        assert str(dask.value) == str(stop)
        assert dask.value.findings == stop.findings
        return stop
    findings, current = summarised(frame, champion, parts, spec, window)
    assert findings == local.findings
    assert without_moments(current) == without_moments(local.profile)
    for col in spec.features.numeric:
        for moment in ("mean", "std"):
            assert current["columns"][col][moment] == pytest.approx(
                local.profile["columns"][col][moment], rel=1e-9
            )
    return local


# the model predicts a class ("e") that no row has, on purpose: scikit-learn warns about it
@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
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
    # ... and equal scikit-learn's metrics on every row, unweighted (what evaluate computed
    # before it counted pairs first)
    every_row = evaluate._metrics(np.asarray(y, dtype=object), predicted.astype(object), None)
    assert evaluate.evaluate(model, X, y) == every_row


def test_the_hash_holdout_is_stable_and_does_not_depend_on_partitioning():
    keys = pd.DataFrame({"row_id": np.arange(20_000)})
    rule = holdout.Rule("hash", ("row_id",), True, 0.2)
    parts = rule.parts(keys, validation_fraction=0.1)
    again = np.concatenate([rule.parts(keys.iloc[i::7], 0.1) for i in range(7)])
    order = np.concatenate([np.arange(20_000)[i::7] for i in range(7)])
    assert (again == parts[order]).all()
    share = np.bincount(parts, minlength=3) / len(parts)
    assert share[holdout.TEST] == pytest.approx(0.2, abs=0.01)
    assert share[holdout.VALID] == pytest.approx(0.08, abs=0.01)
    # the same key as text lands in the same part
    assert (rule.parts(keys.astype(str), 0.1) == parts).all()


def test_partitions_give_the_findings_and_profile_of_validate():
    frame = keyed(toy_frame(2000, seed=4))
    frame.loc[frame.index[:30], "label"] = None  # null targets: dropped
    frame.loc[frame.index[30:35], "label"] = "rare"  # a rare class: dropped
    frame.loc[frame.index[40:100], "colour"] = None
    frame = pd.concat([frame, frame.iloc[200:210].assign(row_id=range(5000, 5010))])
    local = assert_same_checks(frame)
    rules = {f["rule"] for f in local.findings}
    assert rules == {"target_null", "rare_classes", "duplicate_rows"}
    assert "rare (5)" in next(f for f in local.findings if f["rule"] == "rare_classes")["message"]


def shapes(rows: int, seed: int, shift: bool = False) -> pd.DataFrame:
    """Columns whose shape made quantile buckets cry wolf: few values, mostly zero, ties."""
    rng = np.random.default_rng(seed)
    frame = keyed(toy_frame(rows, seed=seed))
    return frame.assign(
        layers=rng.choice([1.0, 2.0, 3.0], rows, p=[0.6, 0.3, 0.1]),
        defects=np.where(rng.random(rows) < 0.9, 0.0, rng.integers(1, 5, rows)),
        width=rng.normal(1200 + (60 if shift else 0), 60, rows).round(),
        grade=rng.choice(list("ABC"), rows, p=[0.3, 0.5, 0.2] if shift else [0.5, 0.3, 0.2]),
    )


SHAPES = dataclasses.replace(
    SPEC,
    features=Features(
        numeric=("size", "layers", "defects", "width"),
        categorical=("colour", "grade"),
        boolean=("coated",),
    ),
)


@pytest.mark.parametrize("sampled", [False, True])
def test_identical_rows_give_no_drift_on_either_path_and_a_real_shift_is_found_by_both(
    sampled, monkeypatch
):
    if sampled:  # numeric bucket edges from samples: drift is still counted on all rows
        monkeypatch.setattr(summary, "EXACT_VALUES", 50)
        monkeypatch.setattr(summary, "SAMPLE", 400)
    rows = shapes(3000, seed=7)
    champion = validate.validate(rows, SHAPES).profile
    if not sampled:
        assert assert_same_checks(rows, champion, SHAPES).findings == []
    assert summarised(rows, champion, spec=SHAPES)[0] == []

    shifted = shapes(3000, seed=8, shift=True)
    findings = summarised(shifted, champion, spec=SHAPES)[0]
    assert findings == validate.validate(shifted, SHAPES, champion).findings
    assert {f["column"] for f in findings if f["rule"] == "feature_shift"} == {"width", "grade"}


def test_sampled_bucket_edges_stay_close_to_the_exact_ones(monkeypatch):
    monkeypatch.setattr(summary, "EXACT_VALUES", 50)
    monkeypatch.setattr(summary, "SAMPLE", 400)
    rows = shapes(6000, seed=3)
    local = validate.validate(rows, SHAPES).profile["columns"]["width"]
    dask = summarised(rows, spec=SHAPES, parts=4)[1]["columns"]["width"]
    assert sum(dask["counts"]) == sum(local["counts"])  # counted on all rows, pass three
    inner = np.asarray(dask["edges"][1:-1])  # the outer cuts follow the sample's extremes
    np.testing.assert_allclose(inner, local["edges"][1:-1], rtol=0.01)


def test_summaries_compare_with_the_champion_like_validate():
    champion = validate.validate(keyed(toy_frame(2000, seed=1)), SPEC).profile
    shifted = keyed(toy_frame(2000, seed=2, colours=("red", "green", "violet")))
    shifted["size"] = shifted["size"] * 0.5
    findings = assert_same_checks(shifted, champion).findings
    assert {f["rule"] for f in findings} >= {"new_categories", "vanished_categories"}
    assert any(f["rule"] == "feature_shift" and f["column"] == "size" for f in findings)


def test_an_unreadable_champion_profile_is_one_finding_on_both_paths():
    champion = validate.validate(keyed(toy_frame(1000, seed=1)), SPEC).profile
    champion["columns"]["size"]["edges"] = "not a list"
    findings = assert_same_checks(keyed(toy_frame(1000, seed=2)), champion).findings
    assert [f["rule"] for f in findings] == ["drift_unchecked"]


def text_in_size(frame: pd.DataFrame) -> pd.DataFrame:
    size = frame["size"].astype(object)
    size.iloc[[3, 4, 50, 700]] = ["n/a", "?", "1e999", "unknown"]  # over several partitions
    return frame.assign(size=size)


@pytest.mark.parametrize(
    ("change", "rule", "words"),
    [
        (lambda f: f.drop(columns=["colour"]), "missing_column", "features.categorical"),
        (lambda f: f.assign(label=None), "target_null", "null in all 1000 rows"),
        (lambda f: f.assign(colour=None), "null_rate", "max_null_rate"),
        (lambda f: f.head(150), "too_few_rows", "(min_rows)"),
        (lambda f: f.assign(label="small"), "single_class", "1 usable class(es): small"),
        (text_in_size, "column_type", "4 values that are not finite numbers (3 text, 1 infinite)"),
        (
            lambda f: f.assign(coated=np.where(f.index % 100 == 1, "maybe", "true")),
            "column_type",
            "10 values other than true/false/0/1",
        ),
        (
            lambda f: f.assign(label=np.where(f.index < 995, "small", "big")),
            "single_class",
            "big (5): lower min_class_rows",
        ),
        (
            lambda f: f.assign(created_at=f["created_at"].astype("int64") // 10**9),
            "time_column",
            "holds numbers, not times",
        ),
        (
            lambda f: f.assign(created_at=f["created_at"].dt.strftime("%-m/%-d/%Y %H:%M")),
            "time_column",
            "holds text that does not sort as time",
        ),
    ],
)
def test_partitions_stop_on_the_same_hard_rules_with_the_same_words(change, rule, words):
    stop = assert_same_checks(change(keyed(toy_frame(1000))))
    assert isinstance(stop, DataValidationError)
    assert rule in {f["rule"] for f in stop.findings}
    assert words in str(stop)


def test_an_empty_window_says_what_lies_outside_it_on_both_paths():
    window = validate.Window(date(2025, 1, 1), rows_before=4_321, newest_before="2018-06-30")
    stop = assert_same_checks(keyed(toy_frame(1000)).head(0), window=window)
    assert "4,321 older rows lie outside it, the newest from 2018-06-30" in str(stop)
    assert stop.findings[-1]["spec_field"] == "window_months"


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


@pytest.mark.parametrize("n_classes", [2, 3])
def test_the_dask_engine_s_error_metric_fits_the_classes_it_trains(n_classes):
    """``stop_on="error"`` on the Dask engine: the parameters name XGBoost's error metric for
    the classes with training rows (xgboost.dask counts only those), and the assembled
    model's card names the one its fit used."""
    from xgboost import XGBClassifier

    from retrain.classifiers.estimators import xgboost_hist

    spec = dataclasses.replace(
        SPEC, estimator=lambda: xgboost_hist(early_stopping_rounds=5, stop_on="error")
    )
    rows = [*[100, 50, 30][:n_classes], 0]  # the last class has no training rows
    params, _ = assemble.xgboost_setup(spec, rows)
    assert params["eval_metric"] == ("merror" if n_classes > 2 else "error")
    plain = dataclasses.replace(SPEC, estimator=xgboost_hist)  # stops on the log-loss
    assert assemble.xgboost_setup(plain, rows)[0]["eval_metric"] is None
    X = np.random.default_rng(0).normal(size=(300, 3)).astype(np.float32)
    codes = np.arange(300) % n_classes
    fitted = XGBClassifier(n_estimators=2, eval_metric=params["eval_metric"]).fit(X, codes)
    classes = [f"c{i}" for i in range(n_classes)]
    model = assemble.pipeline_from_booster(
        spec, None, classes, fitted.get_booster().save_raw("ubj")
    )
    estimator = model.named_steps["classifier"].estimator_
    assert estimator.get_params()["eval_metric"] == params["eval_metric"]


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


def test_a_spec_the_dask_engine_cannot_train_trains_in_process_and_says_so(svc):
    from retrain.adapters.dask_engine import DaskEngine
    from retrain.adapters.postgres_partitions import Database
    from retrain.config import Secret
    from retrain.service.runner import execute_run
    from retrain.service.start import start_runs

    local = execute_run(svc, start_runs(svc, ["TOY"], trigger="test").runs[0].run_id)
    assert local.summary["engine"] == {"name": "local"}
    assert svc.models.card("TOY", 1)["engine"] == {"name": "local"}

    # nothing listens on port 1: the run must not touch the cluster at all
    svc.engine = DaskEngine(None, Database(Secret("postgresql://x")), "tcp://127.0.0.1:1")  # type: ignore[arg-type]
    record = execute_run(svc, start_runs(svc, ["TOY"], trigger="test").runs[0].run_id)
    assert record.status is RunStatus.SUCCEEDED, record.error
    engine = svc.models.card("TOY", 2)["engine"]
    assert record.summary["engine"] == engine and engine["name"] == "local"
    assert "no key_column" in engine["instead_of_configured"]
    assert "DecisionTreeClassifier" in engine["instead_of_configured"]


def test_the_xgboost_seeds_without_text_are_trainable_on_dask_the_others_fall_back():
    from retrain.adapters.dask_engine import DaskEngine
    from retrain.adapters.postgres_partitions import Database
    from retrain.classifiers import default_registry
    from retrain.config import Secret

    engine = DaskEngine(None, Database(Secret("postgresql://x")), "tcp://127.0.0.1:1")  # type: ignore[arg-type]
    refused = {spec.name: engine.refuses(spec) for spec in default_registry()}
    assert refused.pop("KLASSE_CORE") == (
        "KLASSE_CORE's estimator is HistGradientBoostingClassifier (the Dask engine trains "
        "XGBoost only, with xgboost.dask)"
    )
    assert refused.pop("KLASSE_ROH") == (
        "KLASSE_ROH has text features (the Dask engine profiles numeric, categorical, boolean only)"
    )
    assert refused == {"ARTFAM_ROH": None}
