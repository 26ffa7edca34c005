"""The benchmark report prints whatever parts were measured (``--parts`` any subset)."""

from __future__ import annotations

import itertools

from benchmarks.report import render

MACHINE = {"cpus": 2, "memory_gb": 23.5, "python": "3.11.7", "platform": "Linux"}
LOAD = {"wall_s": 1.0, "peak_mb": 100.0, "reps": 1}
FIT = {"wall_s": 10.0, "fit_s": 8.0, "peak_mb": 300.0, "accuracy": 0.9, "rounds": 50}
PARTS = {
    "load": {"load": {"floor": LOAD, "naive": {**LOAD, "wall_s": 3.0}, "product": LOAD}},
    "naive_fit": {"naive_fit": FIT},
    "product_fit": {"product_fit": {**FIT, "wall_s": 2.0}},
    "encodings": {
        "encoding_rows": 1000,
        "encodings": {"codes": {**FIT, "prep_s": 0.1}},
    },
    "seed_runs": {
        "seed_runs": {
            "KLASSE_ROH": {
                "run": {**FIT, "metric": "balanced_accuracy", "score": 0.6, "timings": {"fit": 1}},
                "bare": FIT,
            }
        }
    },
    "cold_start": {
        "cold_start": {
            "import_s": 0.2, "process_wall_s": 0.4, "bare_python_s": 0.02, "heavy_imported": []
        }
    },
    "footprint": {"footprint": {"total_mb": 500, "without_tests_mb": 340, "largest": {"a": 1}}},
}  # fmt: skip
TITLES = {
    "load": "### Loading",
    "naive_fit": "naive: read_sql",
    "product_fit": "product: COPY loader",
    "encodings": "### Encodings",
    "seed_runs": "### Seed-classifier runs",
    "cold_start": "### Cold start",
    "footprint": "### Footprint",
}


def test_every_subset_of_parts_renders_its_tables_and_only_those():
    for size in (1, 2, len(PARTS)):
        for parts in itertools.combinations(PARTS, size):
            results = {"machine": MACHINE, "rows": 20000, "rounds": 50, "depth": 8}
            for part in parts:
                results.update(PARTS[part])
            text = render(results)
            for part, title in TITLES.items():
                assert (title in text) == (part in parts), (parts, part)
    assert "| product ≤ 0.3x naive time | 0.20x | met |" in text  # both fits: compared


def test_runs_in_a_worker_get_their_own_table_and_target():
    seed = PARTS["seed_runs"]["seed_runs"]["KLASSE_ROH"]
    warm = {"first_run_s": 7.0, "run_s": 2.6, "bare_s": 2.0, "runs_s": [2.6], "bares_s": [2.0]}
    results = {"machine": MACHINE, "rows": 30000, "rounds": 50, "depth": 8}
    text = render({**results, "seed_runs": {"KLASSE_ROH": {**seed, "warm": warm}}})
    assert "| KLASSE_ROH | 7.0 | 2.6 | 2.0 | 1.30x |" in text
    assert "| KLASSE_ROH run in a worker ≤ 1.3x load + bare fit | 1.30x | met |" in text
    assert "in a worker" not in render({**results, "seed_runs": {"KLASSE_ROH": seed}})
