"""How far a seed run's peak memory moves between runs of the same code, on the production
path (PostgreSQL COPY, Azurite): is a difference of a few tens of MB a change, or noise?

    python -m benchmarks.peak_spread --model KLASSE_ROH --trees .,/tmp/old-checkout --reps 3
    python -m benchmarks.peak_spread --model KLASSE_ROH --env MALLOC_ARENA_MAX=2

Creates the demo table once (``--rows``), then runs ``benchmarks.measure seed_run`` once per
tree and repetition, the trees taking turns, each run its own process against a fresh Azurite
(every run a first version, no champion to load). A tree is a checkout of this repository
(``git worktree add /tmp/old-checkout <commit>``), measured with its own ``src`` and
``benchmarks``. ``--env KEY=VALUE`` adds the first tree once more with that variable set.
Prints each run's peak, wall seconds and score, and the medians (docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="KLASSE_ROH")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--trees", default=str(ROOT), help="comma-separated checkouts")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--env", default=None, help="KEY=VALUE: the first tree again with it")
    opts = parser.parse_args()
    variants = [(Path(t).resolve(), {}) for t in opts.trees.split(",")]
    if opts.env:
        key, _, value = opts.env.partition("=")
        variants.append((variants[0][0], {key: value}))

    from tests.services import azurite, postgres

    from benchmarks.bench import create_table

    peaks: dict[str, list[float]] = {}
    with postgres() as pg:
        create_table(pg.superuser_url, opts.rows)
        for _ in range(opts.reps):
            for tree, extra in variants:
                with azurite() as blob:
                    args = {
                        "model": opts.model,
                        "db_url": pg.superuser_url,
                        "blob": blob.connection_string,
                    }
                    done = subprocess.run(
                        [sys.executable, "-m", "benchmarks.measure", "seed_run", json.dumps(args)],
                        capture_output=True,
                        text=True,
                        cwd=tree,
                        env={**os.environ, "PYTHONPATH": f"{tree}:{tree}/src", **extra},
                        check=False,
                    )
                if done.returncode != 0:
                    raise SystemExit(f"{tree} {extra}: seed_run failed:\n{done.stderr[-3000:]}")
                out = json.loads(done.stdout.strip().splitlines()[-1])
                label = f"{tree} {' '.join(f'{k}={v}' for k, v in extra.items())}".strip()
                peaks.setdefault(label, []).append(out["peak_mb"])
                print(
                    f"{label}: {out['peak_mb']:.0f} MB, {out['wall_s']:.1f} s, "
                    f"{out['metric']} {out['score']:.4f}",
                    flush=True,
                )
    print("\n| code | peak MB, run by run | median |\n| --- | --- | --- |")
    for label, values in peaks.items():
        runs = ", ".join(f"{v:.0f}" for v in values)
        print(f"| {label} | {runs} | {statistics.median(values):.0f} |")


if __name__ == "__main__":
    main()
