"""The benchmark: load paths, encodings, seed-classifier runs, one run stage by stage
(``stages``: benchmarks/profile_stages.py), cold start and footprint.

    make bench                        # 1,000,000 rows, 3 repetitions of the load paths
    python -m benchmarks.bench --rows 200000 --encoding-rows 100000 --reps 1

Starts a throwaway PostgreSQL and Azurite (as the tests do), creates the demo table at the
requested size, runs every measurement in its own process (so peak RSS is its own), takes
the median of the repetitions, and prints a Markdown table with ratios to the floor (psql
binary COPY) and to the naive path (pandas.read_sql + get_dummies + XGBClassifier)."""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PARTS = (
    "load",
    "naive_fit",
    "product_fit",
    "encodings",
    "seed_runs",
    "stages",
    "cold_start",
    "footprint",
)
DATABASE_PARTS = {"load", "naive_fit", "product_fit", "encodings", "seed_runs"}
sys.path[:0] = [str(ROOT), str(ROOT / "src")]


def run(task: str, reps: int = 1, **args: Any) -> dict[str, Any]:
    """Median of ``reps`` child processes of ``benchmarks.measure``."""
    return _median(task, args, [_child(task, args) for _ in range(reps)])


def alternating(reps: int, *tasks: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """``run`` of each (task, args), their child processes taking turns (a run, a bare fit,
    a run, ...): an hour's drift in the machine's speed lands on both sides."""
    results: list[list[dict[str, Any]]] = [[] for _ in tasks]
    for _ in range(reps):
        for done, (task, args) in zip(results, tasks, strict=True):
            done.append(_child(task, args))
    return [_median(task, args, done) for done, (task, args) in zip(results, tasks, strict=True)]


def _child(task: str, args: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}"}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.measure", task, json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{task} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _median(task: str, args: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(results[-1])
    for key in ("wall_s", "peak_mb", "fit_s", "prep_s"):
        if key in out:
            out[key] = statistics.median(r[key] for r in results)
    out["reps"] = len(results)
    out["walls_s"] = [r["wall_s"] for r in results]
    print(
        f"  {task} {args.get('model', '')} {args.get('kind', '')}: "
        f"{out['wall_s']:.2f} s, {out['peak_mb']:.0f} MB",
        file=sys.stderr,
        flush=True,
    )
    return out


def create_table(db_url: str, rows: int) -> None:
    """The demo table at ``rows`` rows, written with COPY in chunks."""
    import psycopg2

    from benchmarks import measure
    from retrain.adapters import demo_data

    url = db_url.replace("postgresql+psycopg2://", "postgresql://")
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {demo_data.TABLE}")
        chunk = 250_000
        for start in range(0, rows, chunk):
            frame = demo_data.generate(
                min(chunk, rows - start), seed=start + 1, as_of=measure.TABLE_AS_OF
            )
            frame["article_id"] += start
            if start == 0:
                cur.execute(_ddl(frame, demo_data.TABLE))
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False, header=False)
            buffer.seek(0)
            cur.copy_expert(f"COPY {demo_data.TABLE} FROM STDIN WITH (FORMAT csv)", buffer)
        cur.execute(f"ANALYZE {demo_data.TABLE}")


def _ddl(frame: Any, table: str) -> str:
    kinds = {"i": "bigint", "f": "double precision", "b": "boolean", "M": "timestamp"}
    cols = ", ".join(f"{c} {kinds.get(frame[c].dtype.kind, 'text')}" for c in frame.columns)
    return f"CREATE TABLE {table} ({cols})"


def cold_start() -> dict[str, Any]:
    """``python -X importtime -c 'import function_app'``: the app's cumulative import time,
    the process's wall time over a bare interpreter's, and whether a heavy library loaded."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
    }

    def wall(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
        return time.perf_counter() - started

    wall("import function_app")  # write the .pyc files once, as a deployment would
    app = statistics.median(wall("import function_app") for _ in range(5))
    bare = statistics.median(wall("pass") for _ in range(5))
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import function_app"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
    )
    rows = [
        line.split("|")
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    ]
    cumulative = next(int(r[1]) for r in rows if r[2].strip() == "function_app")
    heavy = sorted({r[2].strip() for r in rows} & {"pandas", "sklearn", "xgboost", "scipy"})
    return {
        "import_s": round(cumulative / 1e6, 3),
        "process_wall_s": round(app, 3),
        "bare_python_s": round(bare, 3),
        "heavy_imported": heavy,
    }


def footprint() -> dict[str, Any]:
    """Installed size of requirements.txt alone, in a throwaway folder; and without the
    libraries' own test suites, which the Dockerfile removes."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--target",
                tmp,
                "-r",
                str(ROOT / "requirements.txt"),
            ],
            check=True,
        )
        root = Path(tmp)

        def size(path: Path) -> int:
            return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())

        sizes = {
            entry.name: size(entry) if entry.is_dir() else entry.stat().st_size
            for entry in root.iterdir()
        }
        tests = sum(
            size(d)
            for d in root.glob("*/**/tests")
            if d.is_dir() and not any(p.name == "tests" for p in d.parents if p != root)
        )
        total = sum(sizes.values())
        top = sorted(sizes.items(), key=lambda kv: -kv[1])[:6]
    return {
        "total_mb": round(total / 2**20),
        "without_tests_mb": round((total - tests) / 2**20),
        "largest": {k: round(v / 2**20) for k, v in top},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--encoding-rows",
        type=int,
        default=None,
        help="newest rows for the encoding comparison (default: --rows)",
    )
    parser.add_argument(
        "--encodings", default="codes,codes_early_stop,sparse_onehot,dense_onehot,native"
    )
    parser.add_argument("--reps", type=int, default=3, help="repetitions of the load paths")
    parser.add_argument("--fit-reps", type=int, default=1)
    parser.add_argument(
        "--warm-reps",
        type=int,
        default=0,
        help="seed_runs: also N runs and N bare fits in one process (a worker's imports "
        "paid once; measure.py warm_runs); 0: not measured",
    )
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument(
        "--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}"
    )
    parser.add_argument(
        "--models",
        default="ARTFAM_ROH,KLASSE_ROH,KLASSE_CORE",
        help="seed classifiers for the seed_runs part",
    )
    parser.add_argument(
        "--stage-variants",
        default="now,codes,max_bin_64,threads_1",
        help="levers for the stages part (benchmarks/profile_stages.py VARIANTS)",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="start from --out's results and replace only the parts measured",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "latest.json")
    opts = parser.parse_args()
    parts = {part.strip() for part in opts.parts.split(",") if part.strip()}
    if not parts or parts - set(PARTS):
        parser.error(f"--parts takes a comma-separated subset of {','.join(PARTS)}")
    # a SIGTERM unwinds like an exception, so the servers below are stopped by their pids
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    results: dict[str, Any] = json.loads(opts.out.read_text()) if opts.update else {}
    results.update(machine=machine(), rows=opts.rows, rounds=opts.rounds, depth=opts.depth)
    common = {"rounds": opts.rounds, "depth": opts.depth}
    if parts & DATABASE_PARTS:
        measure_on_database(opts, parts, results, common)
    if "stages" in parts:  # ARTFAM_ROH's run step by step (SQLite; its own processes)
        results["stages"] = stages(opts)
    if "cold_start" in parts:
        results["cold_start"] = cold_start()
    if "footprint" in parts:
        results["footprint"] = footprint()
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(results, indent=2))
    print(report(results))


def measure_on_database(
    opts: argparse.Namespace, parts: set[str], results: dict[str, Any], common: dict[str, Any]
) -> None:
    """The parts that read the demo table: PostgreSQL and Azurite are started for them."""
    from tests.services import azurite, postgres

    with postgres() as pg, azurite() as blob:
        create_table(pg.superuser_url, opts.rows)
        db, psql_url = pg.superuser_url, pg.psql_url
        if "load" in parts:
            results["load"] = {
                "floor": run("floor", opts.reps, model="ARTFAM_ROH", psql_url=psql_url),
                "naive": run("naive_load", opts.reps, model="ARTFAM_ROH", db_url=db),
                "product": run("product_load", opts.reps, model="ARTFAM_ROH", db_url=db),
            }
        if "naive_fit" in parts:
            results["naive_fit"] = run(
                "naive_fit", opts.fit_reps, model="BENCH_CORE", db_url=db, **common
            )
        if "product_fit" in parts:  # the product's set-up on the same problem and rows
            results["product_fit"] = run(
                "product_fit", opts.fit_reps, model="BENCH_CORE", db_url=db, **common
            )
        if "encodings" in parts:
            results["encoding_rows"] = opts.encoding_rows or opts.rows
            results["encodings"] = {
                kind: run(
                    "encoding",
                    opts.fit_reps,
                    model="BENCH_CORE",
                    kind=kind,
                    max_rows=opts.encoding_rows,
                    db_url=db,
                    **common,
                )
                for kind in opts.encodings.split(",")
            }
        if "seed_runs" in parts:  # --update keeps the models not measured this time
            results.setdefault("seed_runs", {}).update(
                {
                    name: seed_runs(opts, name, db, blob.connection_string)
                    for name in opts.models.split(",")
                }
            )


def seed_runs(opts: argparse.Namespace, name: str, db: str, blob: str) -> dict[str, Any]:
    """A seed model's whole runs and its load + bare fits (alternating, one process each),
    and with ``--warm-reps`` both in one process as a Functions worker runs them."""
    run_args = {"model": name, "db_url": db, "blob": blob}
    one_off = alternating(opts.fit_reps, ("seed_run", run_args), ("bare_fit", run_args))
    out = dict(zip(("run", "bare"), one_off, strict=True))
    if opts.warm_reps:  # one process: its runs and bare fits alternate inside
        warm = {**run_args, "reps": opts.warm_reps}
        out["warm"] = _median("warm_runs", warm, [_child("warm_runs", warm)])
    return out


def stages(opts: argparse.Namespace) -> list[dict[str, Any]]:
    """benchmarks/profile_stages.py at ``--rows``: each stage's time and peak RSS of an
    ARTFAM_ROH run, one process per lever; its tables are printed as they finish."""
    from benchmarks import profile_stages

    out = opts.out.parent / "stages.json"
    out.unlink(missing_ok=True)
    profile_stages.main(
        ["--rows", str(opts.rows), "--variants", opts.stage_variants, "--out", str(out)]
    )
    found: list[dict[str, Any]] = json.loads(out.read_text())
    return found


def machine() -> dict[str, Any]:
    mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(int(mem) / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "psql": shutil.which("psql"),
    }


def report(r: dict[str, Any]) -> str:
    from benchmarks.report import render

    return render(r)


if __name__ == "__main__":
    main()
