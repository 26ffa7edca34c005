"""The console and list requests with 50 models x 100 versions, on a local folder and Azurite.

    PYTHONPATH=src .venv/bin/python -m benchmarks.console_bench
    PYTHONPATH=src .venv/bin/python -m benchmarks.console_bench --models 10 --versions 20

Seeds each backend by writing the storage layout directly (a real model card as the
template, ~70 % of the versions promoted with an alias-history entry each, one run record
per version, twelve monthly decay points per model), then builds each model's summary once
through the read path. Then it serves the app with the local server (``retrain console``)
and times every request the console makes, over HTTP with a function key: median and
slowest of ``--reps`` after one warm-up (which builds the overview the two cross-model lists
read). For comparison it times the old
way of listing versions (read every card), the one-off rebuild of a lost summary and the
first list requests after the overview was lost. Results: a Markdown table on stdout, raw
numbers in bench-results/console.json (``--out``)."""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import functools
import json
import math
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

LIMIT_S = 1.0


def card_template() -> dict[str, Any]:
    """A real XGBoost model card: one run of KLASSE_ROH (its real spec: XGBoost, the text
    column) on 3,000 demo rows, as the runner built it. Its parameters hold NaN (XGBoost's
    ``missing``); seed() stores the cards with NaN as written, as cards stored before the
    strict encoder (issue 25.1) are, so a NaN that reached an answer fails the run (get())."""
    from tests.functions.conftest import build_services

    from retrain.service.runner import execute_run
    from retrain.service.start import start_runs

    svc, _ = build_services(Path(tempfile.mkdtemp(prefix="bench-card-")))
    built: list[dict[str, Any]] = []
    publish = svc.models.publish

    def keep(model: str, artifact: bytes, card: dict[str, Any]) -> tuple[int, dict]:
        version, full = publish(model, artifact, card)
        built.append(copy.deepcopy(full))  # in memory: NaN as the estimator has it
        return version, full

    svc.models.publish = keep  # type: ignore[method-assign]
    (run,) = start_runs(svc, ["KLASSE_ROH"], trigger="cli").runs
    record = execute_run(svc, run.run_id)
    assert record.version is not None and built, record.error
    text = json.dumps(built[-1])
    assert '"missing": NaN' in text, "the XGBoost card holds no NaN: check the template"
    return built[-1]


def registry(models: int) -> Any:
    from retrain.classifiers import default_registry
    from retrain.domain.specs import Registry

    seed = default_registry().get("KLASSE_ROH")
    return Registry([dataclasses.replace(seed, name=f"BENCH_{i:03d}") for i in range(models)])


def seed(svc: Any, template: dict[str, Any], versions: int) -> None:
    """Every model: ``versions`` versions (~70 % promoted, each move in the alias history),
    one run record per version, written straight into the layout side by side; then each
    summary is built once by the read path (the rebuild a lost summary gets). The publish
    and promote paths that keep it up to date are the unit tests' business."""
    from retrain.domain.runs import Outcome, RunRecord, RunStatus, Stage, iso
    from retrain.service.parallel import read_all
    from retrain.service.run_repository import INDEX, INDEXED

    start = datetime(2026, 1, 1, tzinfo=UTC)
    writes: list[tuple[Any, str, bytes]] = []
    for spec in svc.registry:
        champion = None
        for n in range(1, versions + 1):
            at = start + timedelta(hours=n)
            status = ("promoted", "kept_champion", "rejected")[(n % 10 >= 7) + (n % 10 >= 9)]
            score = round(0.55 + 0.2 * ((n * 37) % 100) / 100, 6)
            run_id = f"{at:%Y%m%dT%H%M%SZ}-{spec.name}-bench{n:04d}"
            artifact = b"artifact" * 100
            card = copy.deepcopy(template)
            card.update(run_id=run_id, created_at=iso(at), status=status)
            card["metrics"][spec.primary_metric] = score
            card["gate"] = {**card["gate"], "outcome": status, "candidate": score}
            card = svc.models._complete_card(spec.name, n, artifact, card)
            base = f"{spec.name}/versions/{n}"
            writes += [
                (svc.models.store, f"{base}/card.json", json.dumps(card).encode()),
                (svc.models.store, f"{base}/model.skops", artifact),
            ]
            if status == "promoted":
                move = {"model": spec.name, "version": n, "previous_version": champion,
                        "reason": "bench", "actor": "bench", "run_id": run_id,
                        "score": score, "moved_at": iso(at)}  # fmt: skip
                key = f"{spec.name}/history/{at:%Y%m%dT%H%M%S}.000Z-{n:06d}-bench.json"
                writes.append((svc.models.store, key, json.dumps(move).encode()))
                champion = n
            record = RunRecord(  # each n a monthly batch of every model, as the timer starts
                run_id=run_id, model=spec.name, status=RunStatus.SUCCEEDED, stage=Stage.DONE,
                trigger="timer", batch_id=f"{at:%Y%m%dT%H%M%SZ}-bench{n:04d}",
                created_at=iso(at), started_at=iso(at),
                finished_at=iso(at + timedelta(seconds=30)), outcome=Outcome(status), version=n,
                timings={"load": 1.0, "fit": 20.0}, summary={"score": score},
            )  # fmt: skip
            writes.append((svc.runs.store, f"{run_id}.json", json.dumps(record.to_dict()).encode()))
            writes.append((svc.runs.store, f"{INDEX}/{spec.name}/{run_id}", b""))  # as create()
        alias = {"model": spec.name, "version": champion, "reason": "bench", "actor": "bench"}
        writes.append((svc.models.store, f"{spec.name}/champion.json", json.dumps(alias).encode()))
        for month in range(1, 13):  # a year of monthly decay checks of the champion
            at = datetime(2026, month, 28, tzinfo=UTC)
            point = {"model": spec.name, "status": "ok", "checked_at": iso(at),
                     "version": champion, "metric": spec.primary_metric, "card_score": 0.7,
                     "score": 0.69, "rows": 500}  # fmt: skip
            key = f"{spec.name}/decay/{at:%Y%m%dT%H%M%SZ}-scheduled.json"
            writes.append((svc.models.store, key, json.dumps(point).encode()))
    for n in range(1, versions + 1):  # each batch's record, with its Slack thread
        at = start + timedelta(hours=n)
        batch_id = f"{at:%Y%m%dT%H%M%SZ}-bench{n:04d}"
        ts = f"1790000000.{n:06d}"
        batch = {
            "batch_id": batch_id,
            "run_ids": [f"{at:%Y%m%dT%H%M%SZ}-{s.name}-bench{n:04d}" for s in svc.registry],
            "channel": "C0BENCH",
            "ts": ts,
            "permalink": f"https://bench.slack.com/archives/C0BENCH/p{ts.replace('.', '')}",
        }
        writes.append((svc.runs.store, f"batches/{batch_id}.json", json.dumps(batch).encode()))
    writes.append((svc.runs.store, INDEXED, b"1"))
    read_all(lambda w: w[0].create(w[1], w[2]), writes, workers=16)
    read_all(lambda spec: svc.models.summary(spec.name), list(svc.registry))


def timed(call: Callable[[], Any], reps: int) -> dict[str, Any]:
    """Median and slowest of ``reps`` after a warm-up; a request that fails or takes longer
    than get()'s 60 s is reported as such (once: it is not repeated)."""
    try:
        call()  # warm: first connection, first import
    except Exception as exc:  # e.g. TimeoutError: the row says so, the others still run
        print(f"failed: {type(exc).__name__}: {str(exc)[:200]}", file=sys.stderr, flush=True)
        return {"error": f"{type(exc).__name__} (get() waits 60 s)"}
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return {"median_s": statistics.median(times), "max_s": max(times)}


def get(url: str, key: str) -> bytes:
    """The answer's body; a JSON answer must parse as a browser parses it (no NaN)."""
    from tests import strict

    request = urllib.request.Request(url, headers={"x-functions-key": key})
    with urllib.request.urlopen(request, timeout=60) as answer:
        body = answer.read()
        if answer.headers.get_content_type() == "application/json":
            strict.loads(body)  # ValueError names the constant
        return body


def measure(svc: Any, settings: Any, reps: int) -> dict[str, dict[str, float]]:
    from retrain.entrypoints import app_services
    from retrain.entrypoints.local_server import LocalServer
    from retrain.service import overview
    from retrain.service.version_summary import SUMMARY

    app_services.override(svc, settings)
    model = list(svc.registry)[len(svc.registry.names()) // 2].name
    last = svc.models.versions(model)[-1]
    newest = svc.runs.list(model=model, limit=1)[0]
    run_id, batch = newest.run_id, newest.batch_id
    monthly = [  # what "This month" asks for, one after the other; then the statistics
        "/api/training/runs?limit=100",
        f"/api/training/runs?batch={batch}&limit=500",
    ]
    paths = {
        "GET /api/console (page)": "/api/console",
        "GET console.js": "/api/console/assets/console.js",
        "GET /api/models": "/api/models",
        "GET /api/models/{m}/versions": f"/api/models/{model}/versions",
        "GET /api/models/{m}/versions/{n} (card)": f"/api/models/{model}/versions/{last}",
        "GET /api/models/{m}/history": f"/api/models/{model}/history",
        "GET /api/training/runs?model={m}&limit=20": f"/api/training/runs?model={model}&limit=20",
        "GET /api/training/runs?limit=50": "/api/training/runs?limit=50",
        "GET /api/training/runs/{id}": f"/api/training/runs/{run_id}",
        "GET /api/training/runs?limit=20": "/api/training/runs?limit=20",
        "GET /api/training/runs?limit=200 (retrain all)": "/api/training/runs?limit=200",
        "GET /api/training/runs?limit=100 (this month)": monthly[0],
        "GET /api/training/runs?trigger=timer&limit=1": "/api/training/runs?trigger=timer&limit=1",
        "GET /api/training/runs?batch={b}&limit=500 (50 runs)": (
            f"/api/training/runs?batch={batch}&limit=500"
        ),
        "GET /api/training/runs?model={m}&trigger=timer&since=..&limit=20": (
            f"/api/training/runs?model={model}&trigger=timer&since=2026-01-03&limit=20"
        ),
        "GET /api/training/statistics?days=90": "/api/training/statistics?days=90",
    }
    out: dict[str, dict[str, float]] = {}
    with LocalServer("127.0.0.1", 0) as server:
        server.start(worker=False)
        for name, path in paths.items():
            out[name] = timed(functools.partial(get, server.url + path, server.key), reps)
        page = [paths[k] for k in list(paths)[2:4]] + [paths[k] for k in list(paths)[5:7]]

        def model_page() -> None:  # what the model page asks for, side by side as a browser
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda p: get(server.url + p, server.key), page))

        out["model page: its 4 API calls together"] = timed(model_page, reps)
        together = {  # what a view asks for side by side, as a browser does
            "compare view: 2 cards + models together": [
                f"/api/models/{model}/versions/{max(1, last - 1)}",
                f"/api/models/{model}/versions/{last}",
                "/api/models",
            ],
            "retrain all asks: models + runs?limit=200 together": [
                "/api/models",
                "/api/training/runs?limit=200",
            ],
        }
        for name, calls in together.items():

            def side_by_side(calls: list[str] = calls) -> None:
                with ThreadPoolExecutor(len(calls)) as pool:
                    list(pool.map(lambda p: get(server.url + p, server.key), calls))

            out[name] = timed(side_by_side, reps)

        def this_month() -> None:  # the newest runs, then the batch (statistics come after)
            for path in monthly:
                get(server.url + path, server.key)

        out["this month view: newest runs, then the batch"] = timed(this_month, reps)

    def every_card() -> None:  # the list before the summary: one read per card
        for version in svc.models.versions(model):
            svc.models.card(model, version)

    out["(before) list versions reading every card"] = timed(every_card, max(3, reps // 3))

    def rebuild() -> None:  # a lost or corrupt summary, read once
        svc.models.store.delete(f"{model}/{SUMMARY}")
        svc.models.summary(model)

    out["(once) rebuild a lost summary"] = timed(rebuild, max(3, reps // 3))

    def lost_overview(path: str) -> Callable[[], Any]:
        def call() -> None:  # the first list request after the overview was lost
            svc.runs.store.delete(overview.KEY)
            get(server.url + path, server.key)

        return call

    with LocalServer("127.0.0.1", 0) as server:
        server.start(worker=False)
        for name in ("GET /api/models", "GET /api/training/runs?limit=50"):
            out[f"(once) {name} without its overview"] = timed(
                lost_overview(paths[name]), max(3, reps // 3)
            )
        # last: on Azurite it outlasts get()'s 60 s and keeps the emulator busy afterwards
        out["GET /api/training/statistics?days=365 (5,000 runs)"] = timed(
            functools.partial(get, server.url + "/api/training/statistics?days=365", server.key),
            reps,
        )
    app_services.override(None)
    return out


@contextlib.contextmanager
def backend(kind: str, home: Path) -> Iterator[dict[str, str]]:
    if kind == "local":
        yield {"RETRAIN_HOME": str(home)}
        return
    from tests import services

    with services.azurite() as server:
        yield {"RETRAIN_HOME": str(home), "ARTIFACT_CONNECTION_STRING": server.connection_string}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--backends", default="local,azurite")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench-results" / "console.json", help="raw numbers"
    )
    args = parser.parse_args()

    from tests.fakes import RecordingNotifier

    from retrain import bootstrap
    from retrain.config import Settings
    from retrain.entrypoints import logs

    template = card_template()
    logs.configure("WARNING")
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "models": args.models,
        "versions": args.versions,
        "card_bytes": len(json.dumps(template)),
        "backends": {},
    }
    for kind in args.backends.split(","):
        with (
            tempfile.TemporaryDirectory(prefix=f"bench-console-{kind}-") as tmp,
            backend(kind, Path(tmp)) as env,
        ):
            settings = Settings.from_environ({**env, "LOG_LEVEL": "WARNING"})
            svc = bootstrap.build(
                settings, registry=registry(args.models), notifier=RecordingNotifier()
            )
            started = time.perf_counter()
            seed(svc, template, args.versions)
            seeded = time.perf_counter() - started
            print(f"{kind}: seeded in {seeded:.0f} s", file=sys.stderr, flush=True)
            results["backends"][kind] = {
                "seed_s": round(seeded, 1),
                **measure(svc, settings, args.reps),
            }
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(report(results))


def report(results: dict[str, Any]) -> str:
    kinds = list(results["backends"])
    lines = [
        f"{results['models']} models x {results['versions']} versions "
        f"(card {results['card_bytes']:,} bytes); median / slowest of the repetitions, seconds",
        "",
        "| request | " + " | ".join(f"{k} median | {k} slowest" for k in kinds) + " |",
        "| --- | " + " | ".join("--- | ---" for _ in kinds) + " |",
    ]
    names = [n for n in results["backends"][kinds[0]] if n != "seed_s"]
    for name in names:
        cells = []
        for kind in kinds:
            r = results["backends"][kind][name]
            if "error" in r:
                cells.append(f"failed: {r['error']} | ")
                continue
            cells.append(f"{r['median_s']:.3f} | {r['max_s']:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    served = [
        r.get("max_s", math.inf)
        for kind in kinds
        for name, r in results["backends"][kind].items()
        if name != "seed_s" and not name.startswith("(")
    ]
    verdict = "met" if max(served) < LIMIT_S else "NOT met"
    slowest = f"slowest {max(served):.3f} s" if math.isfinite(max(served)) else "one failed"
    lines += ["", f"Every console and list request under {LIMIT_S} s: {verdict} ({slowest})."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
