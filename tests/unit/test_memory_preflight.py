"""The pre-flight memory estimate: a run that would not fit its instance stops while or
once its rows are read, before validation and the fit, says what to change, and leaves the
champion alone."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pytest

from retrain import bootstrap
from retrain.adapters import demo_data
from retrain.classifiers import default_registry
from retrain.classifiers.estimators import xgboost_hist
from retrain.config import Settings
from retrain.domain.errors import ResourceLimitError
from retrain.domain.runs import RunStatus
from retrain.domain.specs import Features, Registry, TextOptions
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from retrain.training import features, fit, memory, validate
from tests.fakes import FakeSource, toy_frame, toy_spec

TABLE_DAY = date(2026, 11, 1)


@pytest.mark.parametrize(
    ("model", "classes", "measured_mb"),
    [("ARTFAM_ROH", 51, 949), ("KLASSE_CORE", 5, 531), ("KLASSE_ROH", 4, 1340)],
)  # fmt: skip
def test_the_estimate_is_within_15_percent_of_the_measured_peaks(model, classes, measured_mb):
    """docs/benchmarks.md, 1,000,000 rows ("ARTFAM_ROH's run step by step", issue 26)."""
    estimate = memory.estimate_mb(default_registry().get(model), 1_000_000, classes)
    assert abs(estimate - measured_mb) / measured_mb < 0.15, estimate


@pytest.mark.parametrize(("rows", "measured_mb"), [(3000, 682), (10_000, 721)])
def test_the_estimate_of_a_wide_table_counts_its_histograms_whatever_the_rows(rows, measured_mb):
    """benchmarks/memory_shapes.py's wide1500 (1,500 number columns, 2 classes): its peak in
    the boosting hardly moves with the rows (docs/benchmarks.md)."""
    from benchmarks.memory_shapes import _spec

    assert memory.estimate_mb(_spec("wide1500"), rows, 2) >= measured_mb


def test_the_estimate_grows_with_rows_classes_columns_and_text():
    spec = default_registry().get("KLASSE_ROH")
    small = memory.estimate_mb(spec, 100_000, 4)
    assert memory.estimate_mb(spec, 1_000_000, 4) > small
    assert memory.estimate_mb(spec, 100_000, 40) > small
    no_text = dataclasses.replace(spec, features=dataclasses.replace(spec.features, text=()))
    assert memory.estimate_mb(no_text, 100_000, 4) < small


@pytest.mark.parametrize(
    ("words", "measured_mb"), [(1, 404), (10, 894)]
)  # fmt: skip
def test_a_text_columns_cost_is_read_from_its_rows_and_stays_above_the_measured_peaks(
    words, measured_mb
):
    """KLASSE_ROH at 200,000 rows peaked at 404 MB with the demo's descriptions (~44
    characters) and at 894 MB with ten of them in each row (~450 characters; docs/
    benchmarks.md, 2026-12-07). The fixed 800 MB per million rows said 589 MB for both:
    a host would have killed the run with the long texts instead of the check stopping it."""
    spec = default_registry().get("KLASSE_ROH")
    frame = demo_data.generate(rows=3000, seed=3)
    if words > 1:
        rng = np.random.default_rng(0)
        pieces = frame["description"].fillna("").to_numpy()
        frame["description"] = [
            " ".join(pieces[rng.integers(0, len(pieces), words)]) for _ in range(len(frame))
        ]
    texts = memory.text_row_bytes(frame, spec)
    estimate = memory.estimate_mb(spec, 200_000, 4, texts)
    assert measured_mb <= estimate <= 1.35 * measured_mb, (texts, estimate)


def test_character_ngrams_are_counted_and_no_rows_leave_the_fixed_figure():
    spec = default_registry().get("KLASSE_ROH")
    frame = demo_data.generate(rows=500, seed=3)
    words_only = memory.text_row_bytes(frame, spec)["description"]
    both = dataclasses.replace(
        spec, features=dataclasses.replace(spec.features, text_options=TextOptions())
    )  # the defaults: word pairs and character 3-5-grams as well
    assert memory.text_row_bytes(frame, both)["description"] > 5 * words_only
    none = memory.text_row_bytes(frame.iloc[:0], spec)
    assert none == {}
    assert memory.estimate_mb(spec, 100_000, 4, none) == memory.estimate_mb(spec, 100_000, 4)


def test_the_limit_comes_from_the_cgroup_and_unlimited_means_the_machine(tmp_path):
    (tmp_path / "memory.max").write_text("3758096384\n")  # 3.5 GiB: a Premium EP1
    assert memory.instance_limit_mb(tmp_path) == 3584
    (tmp_path / "memory.max").write_text("max\n")
    machine = memory.instance_limit_mb(tmp_path)
    assert machine is not None and machine > 256  # no cgroup limit: the machine's memory
    v1 = tmp_path / "v1"
    (v1 / "memory").mkdir(parents=True)
    (v1 / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert memory.instance_limit_mb(v1) == machine  # v1's "no limit"
    (v1 / "memory" / "memory.limit_in_bytes").write_text("1073741824\n")
    assert memory.instance_limit_mb(v1) == 1024


def test_the_setting_overrides_the_instance_and_zero_turns_the_check_off(tmp_path):
    def limit(value: str | None) -> int | None:
        env = {"RETRAIN_HOME": str(tmp_path)}
        if value is not None:
            env["TRAINING_MEMORY_LIMIT_MB"] = value
        return bootstrap.memory_limit(Settings.from_environ(env))

    assert limit("2048") == 2048
    assert limit("0") is None
    assert limit(None) == memory.instance_limit_mb()


@pytest.mark.parametrize("in_parts", [False, True])
def test_a_run_too_large_for_its_instance_fails_before_the_fit_and_keeps_the_champion(
    svc, in_parts, monkeypatch
):
    """Read whole, the rows are checked once loaded; a source reading in parts is stopped
    by the guard while it reads (here at its one part: every row). Either way before
    validation, whose copies of long texts are a run's peak. The estimate alone decides:
    the guard's other test, the process's resident memory, would depend on what this test
    process holds (402 MB against a 400 MB limit, after other tests in the same worker)."""
    guard = memory.load_guard
    monkeypatch.setattr(
        memory, "load_guard", lambda spec, limit: guard(spec, limit, resident=lambda: None)
    )
    first = start_runs(svc, ["TOY"], trigger="test").runs[0]
    assert execute_run(svc, first.run_id).status is RunStatus.SUCCEEDED
    champion = svc.models.store.get("TOY/champion.json")

    svc.source.frames["TOY"] = toy_frame(rows=2000)
    svc.source.in_parts = in_parts
    needed = memory.estimate_mb(svc.registry.get("TOY"), 2000, 2)
    small = dataclasses.replace(svc, memory_limit_mb=needed - 1)
    record = start_runs(small, ["TOY"], trigger="test").runs[0]
    done = execute_run(small, record.run_id, final_attempt=False)  # no retry can help
    assert done.status is RunStatus.FAILED
    assert done.stage == "load"
    assert done.error["type"] == ResourceLimitError.__name__
    message = done.error["message"]
    assert f"need about {needed:,} MB" in message and f"{needed - 1:,} MB" in message
    assert ("the first 2,000 rows read" in message) is in_parts
    # 2,000 small rows add less than 1 MB to what the libraries need: no row count helps
    assert "No number of rows fits" in message and "TRAINING_MAX_ROWS" not in message
    assert "TRAINING_ENGINE=dask" in message
    assert "TRAINING_MEMORY_LIMIT_MB" in message
    assert svc.models.store.get("TOY/champion.json") == champion
    assert svc.models.versions("TOY") == [1]
    assert svc.notifier.runs[-1].run_id == record.run_id  # Slack is told, once

    enough = dataclasses.replace(svc, memory_limit_mb=needed)
    again = start_runs(enough, ["TOY"], trigger="test").runs[0]
    assert execute_run(enough, again.run_id).status is RunStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("shape", "rows", "classes", "limit_mb"),
    [("ARTFAM_ROH", 6_000_000, 51, 3584), ("wide1500", 300_000, 2, 900)],
)  # fmt: skip
def test_the_suggested_row_count_fits_the_limit_and_is_not_far_below_it(
    shape, rows, classes, limit_mb
):
    """Also where the estimate has a large fixed part: 1,500 number columns' histograms
    (240 MB whatever the rows) made the suggestion a third lower than what fits."""
    from benchmarks.memory_shapes import _spec

    spec = default_registry().get(shape) if shape.isupper() else _spec(shape)
    with pytest.raises(ResourceLimitError) as stopped:
        memory.check(spec, rows, classes, limit_mb)
    suggested = int(
        str(stopped.value).split("TRAINING_MAX_ROWS=")[1].split(" ")[0].replace(",", "")
    )
    assert 0 < suggested < rows
    memory.check(spec, suggested, classes, limit_mb)  # passes
    # two significant digits: at most ~10 % below the most rows that fit
    assert memory.estimate_mb(spec, int(suggested * 1.12), classes) > limit_mb


@pytest.mark.parametrize("loading", [False, True])
def test_no_row_count_is_suggested_when_the_libraries_alone_pass_the_limit(loading):
    """TRAINING_MAX_ROWS=0 is not a setting (the least is 1), nor would it help."""
    spec = default_registry().get("KLASSE_CORE")
    with pytest.raises(ResourceLimitError) as stopped:
        memory.check(spec, 50_000, 5, memory.BASE_MB - 100, loading=loading)
    message = str(stopped.value)
    assert "No number of rows fits" in message and "TRAINING_MAX_ROWS" not in message
    assert f"alone need about {memory.estimate_mb(spec, 1, 5):,} MB" in message
    assert "TRAINING_ENGINE=dask" in message and "TRAINING_MEMORY_LIMIT_MB" in message


def test_the_guard_stops_a_load_once_its_rows_cannot_fit_without_reading_the_rest():
    """The estimate of the rows read so far, with the classes seen so far, is a lower bound
    of the whole table's: once it passes the limit, the rest is not read."""
    spec = default_registry().get("KLASSE_CORE")
    frame = demo_data.generate(10_000, seed=4, as_of=TABLE_DAY)  # estimates in whole MB
    limit = memory.estimate_mb(spec, 3000, frame[spec.target].nunique())
    guard = memory.load_guard(spec, limit, resident=lambda: None)
    read = 0
    with pytest.raises(ResourceLimitError, match="the load stopped there") as stopped:
        for start in range(0, len(frame), 500):
            guard(frame.iloc[start : start + 500])
            read += 500
    assert 3000 <= read < 10_000
    assert f"the first {read + 500:,} rows read" in str(stopped.value)
    assert "TRAINING_MAX_ROWS=" in str(stopped.value)


def test_the_guard_stops_a_load_before_the_process_reaches_the_limit():
    """Each part after the first (which pays for the reader's imports) adds 100 MB to the
    process: with 800 MB held and the limit at 950 MB, the next part might not fit. No
    estimate would stop these 300 rows."""
    spec = default_registry().get("KLASSE_CORE")
    frame = demo_data.generate(300, seed=5, as_of=TABLE_DAY)
    held = iter([500, 600, 700, 800, 900])
    guard = memory.load_guard(spec, 950, resident=lambda: next(held))
    for start in (0, 50, 100):
        guard(frame.iloc[start : start + 50])  # 500 .. 700 MB: two more parts fit
    with pytest.raises(ResourceLimitError) as stopped:
        guard(frame.iloc[150:200])  # 800 MB + 2 x 100 > 950
    message = str(stopped.value)
    assert "loading stopped after 200 rows" in message
    assert "800 MB of this instance's 950" in message
    assert "TRAINING_MAX_ROWS well below 200" in message and "TRAINING_ENGINE=dask" in message


def test_the_guard_stops_a_first_part_that_already_passes_the_limit():
    spec = default_registry().get("KLASSE_CORE")
    frame = demo_data.generate(100, seed=6, as_of=TABLE_DAY)
    memory.load_guard(spec, 950, resident=lambda: 950)(frame)  # at the limit: not past it
    with pytest.raises(ResourceLimitError, match="loading stopped after 100 rows"):
        memory.load_guard(spec, 950, resident=lambda: 951)(frame)


def test_a_model_too_large_to_publish_fails_before_serialising_and_keeps_the_champion(
    svc, monkeypatch
):
    """The pre-flight estimate counts rows, not a model's own size: XGBoost's categorical
    splits keep their sets of values, so many values make a large model. Publishing holds
    it several times (PUBLISH_COPIES): here so many that no instance holds it."""
    spec = toy_spec(estimator=lambda: xgboost_hist(n_estimators=5))
    many = tuple(f"colour{i}" for i in range(60))
    svc = dataclasses.replace(
        svc, registry=Registry([spec]), source=FakeSource({"TOY": toy_frame(colours=many)})
    )
    first = start_runs(svc, ["TOY"], trigger="test").runs[0]
    assert execute_run(svc, first.run_id).status is RunStatus.SUCCEEDED
    champion = svc.models.store.get("TOY/champion.json")

    limited = dataclasses.replace(svc, memory_limit_mb=100_000)  # the load's check passes
    monkeypatch.setattr(memory, "PUBLISH_COPIES", 10**9)
    record = start_runs(limited, ["TOY"], trigger="test").runs[0]
    done = execute_run(limited, record.run_id, final_attempt=False)
    assert done.status is RunStatus.FAILED
    assert done.stage == "publish"
    assert done.error["type"] == ResourceLimitError.__name__
    message = done.error["message"]
    assert "the fitted model is" in message and "more than this instance's 100,000 MB" in message
    assert "nothing was published, the champion is untouched" in message
    assert "colour (60 values)" in message and "TRAINING_MEMORY_LIMIT_MB" in message
    assert svc.models.store.get("TOY/champion.json") == champion
    assert svc.models.versions("TOY") == [1]
    assert svc.notifier.runs[-1].run_id == record.run_id

    monkeypatch.undo()  # three copies of a toy model fit
    again = start_runs(limited, ["TOY"], trigger="test").runs[0]
    assert execute_run(limited, again.run_id).status is RunStatus.SUCCEEDED


def test_the_model_check_counts_xgboost_boosters_and_passes_other_models():
    frame = toy_frame()
    spec = toy_spec(estimator=lambda: xgboost_hist(n_estimators=5))
    model = fit.fit(spec, fit.split(validate.validate(frame, spec).frame, spec))
    booster = model.named_steps["classifier"].estimator_.get_booster()
    assert memory.model_bytes(model) == len(booster.save_raw("ubj")) > 0
    assert features.category_counts(spec, model) == [("colour", 3)]
    other = toy_spec()  # a decision tree: no booster to count
    tree_model = fit.fit(other, fit.split(validate.validate(frame, other).frame, other))
    assert memory.model_bytes(tree_model) is None
    memory.check_model(other, tree_model, 1)  # nothing to count: passes
    memory.check_model(spec, model, None)  # no limit: passes
    with pytest.raises(ResourceLimitError, match="about 1,600 MB") as large:
        memory.check_model(spec, model, 1000, resident=lambda: 1000, size=lambda _: 100 << 20)
    assert "(the most: colour (3 values)): group a column's rare values" in str(large.value)
    numbers = toy_spec(
        features=Features(numeric=("size",)), estimator=lambda: xgboost_hist(n_estimators=5)
    )
    plain = fit.fit(numbers, fit.split(validate.validate(frame, numbers).frame, numbers))
    with pytest.raises(ResourceLimitError, match=r"untouched\. Train fewer rounds") as large:
        memory.check_model(numbers, plain, 1000, resident=lambda: 1000, size=lambda _: 1 << 30)
    assert "categorical" not in str(large.value)
    memory.check_model(spec, model, 1600, resident=lambda: 1000, size=lambda _: 100 << 20)
