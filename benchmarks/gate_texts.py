"""The evaluate stage's candidate metrics and gate comparison of KLASSE_ROH, with each model
encoding the test rows' texts on its own and with the texts read once for both
(``Holdout.texts_read_once``): seconds (alternating, medians) and the peak of traced
allocations (numpy and scipy report theirs to tracemalloc).

A champion fitted on last month's demo rows, a candidate on this month's, as in a monthly
run; the results of both ways are checked equal.

    python -m benchmarks.gate_texts --rows 1000000 --reps 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc
from typing import Any

import pandas as pd

from retrain.adapters import demo_data
from retrain.classifiers import default_registry
from retrain.service.local_engine import LocalHoldout
from retrain.training import fit, holdout, validate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--model", default="KLASSE_ROH")
    opts = parser.parse_args()
    spec = default_registry().get(opts.model)

    def split(month: str, seed: int) -> Any:
        rows = demo_data.generate(opts.rows, seed, pd.Timestamp(month).date())
        return fit.split(validate.validate(rows, spec).frame, spec)

    champion = fit.fit(spec, split("2026-10-01", 7))
    data = split("2026-11-01", 8)
    candidate = fit.fit(spec, data)
    sight = holdout.Sight(version=1, rule=None, time_column=None, since=None, last=None)

    def score(together: bool) -> Any:
        held = LocalHoldout(data)
        models = (candidate, champion) if together else ()
        with held.texts_read_once(*models):
            return held.evaluate(candidate), held.triples(candidate, champion, sight)

    seconds: dict[bool, list[float]] = {False: [], True: []}
    results = {}
    for _ in range(opts.reps):
        for together in (False, True):
            started = time.perf_counter()
            results[together] = score(together)
            seconds[together].append(time.perf_counter() - started)
    if results[False] != results[True]:
        raise SystemExit("the two ways gave different results")
    peaks = {}
    for together in (False, True):
        tracemalloc.start()
        score(together)
        peaks[together] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    test_rows, load = len(data.y_test), os.getloadavg()[0]
    print(f"{opts.model}, {opts.rows:,} rows ({test_rows:,} test rows), load average {load:.1f}")
    print("| texts | s (each) | median s | peak traced MB |")
    print("| --- | --- | --- | --- |")
    for together, name in ((False, "each model on its own"), (True, "read once for both")):
        each = ", ".join(f"{s:.2f}" for s in seconds[together])
        median = statistics.median(seconds[together])
        print(f"| {name} | {each} | {median:.2f} | {peaks[together]:.0f} |")


if __name__ == "__main__":
    main()
