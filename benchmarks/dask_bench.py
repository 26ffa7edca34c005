"""Local engine versus the Dask engine: peak memory of the largest process and wall time.

    python -m benchmarks.dask_bench                          # 1M and 4M rows
    python -m benchmarks.dask_bench --rows 1000000 --workers 2,4

Starts a throwaway PostgreSQL (as the tests do) and, per size, writes the demo table and
runs the same model through the runner twice, publishing to a local folder:

- local: one process loads, validates, fits and scores everything (TRAINING_ENGINE=local);
- dask: a scheduler and N single-threaded workers as their own processes (``dask
  scheduler`` / ``dask worker``, as on AKS), and the app process as the client
  (TRAINING_ENGINE=dask).

Each process's peak RSS is its VmHWM, read before it stops. Prints a Markdown table and
writes bench-results/dask.json."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]
BIN = Path(sys.executable).parent
MODEL = "BENCH_DASK"


def bench_spec(rounds: int) -> Any:
    """KLASSE_ROH (its query has the key column) without its text, which the Dask engine
    does not train: 4 classes, 8 features, XGBoost hist, early stopping."""
    import dataclasses

    from retrain.classifiers import default_registry
    from retrain.classifiers.estimators import xgboost_hist

    base = default_registry().get("KLASSE_ROH")
    return dataclasses.replace(
        base,
        name=MODEL,
        features=dataclasses.replace(base.features, text=()),
        estimator=lambda: xgboost_hist(n_estimators=rounds, max_depth=6),
    )


def child(args: dict[str, Any]) -> dict[str, Any]:
    """One whole run through the runner in this process (the app)."""
    from retrain import bootstrap
    from retrain.domain.specs import Registry
    from retrain.entrypoints import logs
    from retrain.service.runner import execute_run
    from retrain.service.start import start_runs

    logs.configure("WARNING")
    settings = bootstrap.load_settings({**os.environ, **args["env"]})
    svc = bootstrap.build(settings, registry=Registry([bench_spec(args["rounds"])]))
    started = time.perf_counter()
    record = start_runs(svc, [MODEL], trigger="bench").runs[0]
    done = execute_run(svc, record.run_id)
    if done.status != "succeeded":
        raise SystemExit(f"run failed: {done.error}")
    return {
        "wall_s": round(time.perf_counter() - started, 1),
        "timings": done.timings,
        "score": done.summary["score"],
        "rows_train": done.summary["rows_train"],
        "peak_mb": _peak_mb("self"),
    }


def _peak_mb(pid: int | str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmHWM for {pid}")


def run_child(env: dict[str, str], rounds: int) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.dask_bench",
            "--child",
            json.dumps({"env": env, "rounds": rounds}),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}"},
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def dask_cluster(workers: int) -> Iterator[tuple[str, dict[str, int]]]:
    """``dask scheduler`` and ``workers`` x ``dask worker --nthreads 1`` on loopback."""
    from tests.services import _wait_for_port, free_port

    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    procs = {
        "scheduler": subprocess.Popen(
            [
                str(BIN / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dashboard-address",
                ":0",
                "--no-show",
            ],
            **quiet,  # type: ignore[call-overload]
        )
    }
    address = f"tcp://127.0.0.1:{port}"
    try:
        _wait_for_port(port, 60, procs["scheduler"])
        for i in range(workers):
            procs[f"worker-{i}"] = subprocess.Popen(
                [
                    str(BIN / "dask"),
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--memory-limit",
                    "0",
                    "--no-dashboard",
                    "--name",
                    f"w{i}",
                ],
                **quiet,  # type: ignore[call-overload]
            )
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address, {name: p.pid for name, p in procs.items()}
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def measure(db_url: str, rows: int, workers: list[int], rounds: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as home:
        base = {"TRAINING_DB_URL": db_url, "RETRAIN_HOME": home, "LOG_LEVEL": "WARNING"}
        out["local"] = run_child({**base, "TRAINING_ENGINE": "local"}, rounds)
        print(f"  {rows:,} local: {out['local']}", file=sys.stderr, flush=True)
        for n in workers:
            with dask_cluster(n) as (address, pids):
                env = {
                    **base,
                    "TRAINING_ENGINE": "dask",
                    "DASK_SCHEDULER_ADDRESS": address,
                    "DASK_PARTITION_ROWS": str(max(10_000, rows // (2 * n))),
                }
                result = run_child(env, rounds)
                peaks = {name: _peak_mb(pid) for name, pid in pids.items()}
            result["app_peak_mb"] = result.pop("peak_mb")
            result["scheduler_peak_mb"] = peaks.pop("scheduler")
            result["worker_peaks_mb"] = sorted(peaks.values())
            out[f"dask_{n}"] = result
            print(f"  {rows:,} dask x{n}: {result}", file=sys.stderr, flush=True)
    return out


def render(results: dict[str, Any]) -> str:
    lines = [
        "| rows | engine | processes | largest process MB | app MB | scheduler MB | "
        "each worker MB | wall s | fit s | score |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for rows, by_engine in results["sizes"].items():
        for name, r in by_engine.items():
            if name == "local":
                cells = [f"{int(rows):,}", "local", 1, r["peak_mb"], r["peak_mb"], "-", "-"]
            else:
                workers = r["worker_peaks_mb"]
                largest = max([r["app_peak_mb"], r["scheduler_peak_mb"], *workers])
                span = f"{min(workers):.0f}-{max(workers):.0f}"
                cells = [
                    f"{int(rows):,}",
                    "dask",
                    f"1 + 1 + {len(workers)}",
                    largest,
                    r["app_peak_mb"],
                    r["scheduler_peak_mb"],
                    span,
                ]
            cells += [r["wall_s"], r["timings"].get("fit", "-"), r["score"]]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default="1000000,4000000")
    parser.add_argument(
        "--workers", default="2,4", help="Dask workers per size (each size runs every count)"
    )
    parser.add_argument("--rounds", type=int, default=100, help="boosting rounds (cap)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "dask.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.child:
        print(json.dumps(child(json.loads(opts.child))))
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from tests.services import postgres

    from benchmarks.bench import create_table, machine

    results: dict[str, Any] = {"machine": machine(), "rounds": opts.rounds, "sizes": {}}
    with postgres() as pg:
        for rows in (int(r) for r in opts.rows.split(",")):
            create_table(pg.superuser_url, rows)
            pg.psql("CREATE INDEX ON panel_articles (article_id); ANALYZE panel_articles")
            workers = [int(w) for w in opts.workers.split(",")]
            results["sizes"][rows] = measure(pg.superuser_url, rows, workers, opts.rounds)
            opts.out.parent.mkdir(parents=True, exist_ok=True)
            opts.out.write_text(json.dumps(results, indent=2))
    print(render(results))


if __name__ == "__main__":
    main()
