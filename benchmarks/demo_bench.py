"""Where the demo's time goes: each seed classifier's whole run on the demo table (40,000
rows, embedded SQLite, local folder), under set-ups that differ in one lever each, alone on
the machine or beside ``--busy N`` processes that spin on the cores (the newcomer's
machine that other jobs share).

    python -m benchmarks.demo_bench [--busy 2] [--variants now,...] [--models ...]

Each run is its own process with its own RETRAIN_HOME (every run is a first version), so
one set-up's memory or threads never leak into the next. Prints a markdown table: seconds
and the primary metric per model and set-up (docs/benchmarks.md, "The demo")."""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# lever -> what it changes; "now" is the registry as it stands
VARIANTS: dict[str, dict[str, Any]] = {
    "now": {},
    "lr 0.1, ablation on": {"learning_rate": 0.1, "ablation": True},
    "lr 0.1": {"learning_rate": 0.1, "ablation": False},
    "lr 0.3": {"learning_rate": 0.3, "ablation": False},
    "lr 0.3, patience 10": {"learning_rate": 0.3, "patience": 10, "ablation": False},
}
MODELS = ("ARTFAM_ROH", "KLASSE_CORE", "KLASSE_ROH")
BUSY = "while True: pass"


def one_run(args: dict[str, Any]) -> dict[str, Any]:
    """In the child: the seed spec with the variant's levers, trained by the runner."""
    import os

    from retrain import bootstrap
    from retrain.classifiers import default_registry
    from retrain.domain.specs import Registry
    from retrain.entrypoints import logs
    from retrain.service.runner import execute_run
    from retrain.service.start import start_runs

    spec = default_registry().get(args["model"])
    lever = args["variant"]
    if "ablation" in lever and spec.features.text:
        options = dataclasses.replace(spec.features.text_options, ablation=lever["ablation"])
        spec = dataclasses.replace(
            spec, features=dataclasses.replace(spec.features, text_options=options)
        )
    if "learning_rate" in lever and "XGB" in type(spec.estimator()).__name__:
        make = spec.estimator

        def estimator() -> Any:
            model = make()
            model.set_params(learning_rate=lever["learning_rate"])
            if "patience" in lever:
                model.set_params(early_stopping_rounds=lever["patience"])
            return model

        spec = dataclasses.replace(spec, estimator=estimator)
    env = {**os.environ, "RETRAIN_HOME": args["home"], "LOG_LEVEL": "WARNING"}
    logs.configure("WARNING")
    svc = bootstrap.build(bootstrap.load_settings(env), registry=Registry([spec]))
    record = start_runs(svc, [spec.name], trigger="bench").runs[0]
    started = time.perf_counter()
    done = execute_run(svc, record.run_id)
    if done.status != "succeeded":
        raise SystemExit(f"run failed: {done.error}")
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "score": done.summary["score"],
        "metric": done.summary["metric"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=0, help="processes spinning beside")
    parser.add_argument("--variants", default=";".join(VARIANTS), help="names, ;-separated")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--rows", type=int, default=40_000)
    options = parser.parse_args()
    variants = [v.strip() for v in options.variants.split(";")]
    models = [m.strip() for m in options.models.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        subprocess.run(
            [sys.executable, "-m", "retrain", "demo-data", "--rows", str(options.rows)],
            env={"RETRAIN_HOME": str(data), "PATH": "/usr/bin:/bin"},
            check=True,
            capture_output=True,
        )
        rows = []
        for variant in variants:
            for model in models:
                home = Path(tmp) / f"{len(rows)}"
                home.mkdir()
                (home / "training.db").symlink_to(data / "training.db")
                busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(options.busy)]
                try:
                    out = subprocess.run(
                        [
                            sys.executable,
                            "-m",
                            "benchmarks.demo_bench",
                            "--child",
                            json.dumps(
                                {"model": model, "variant": VARIANTS[variant], "home": str(home)}
                            ),
                        ],
                        check=True,
                        capture_output=True,
                        text=True,
                    ).stdout
                finally:
                    for process in busy:
                        process.kill()
                result = json.loads(out.strip().splitlines()[-1])
                rows.append((variant, model, result))
                print(f"{variant} | {model} | {result}", file=sys.stderr, flush=True)
    print(f"\n{options.rows:,} demo rows, {options.busy} busy process(es) beside\n")
    print("| set-up | model | seconds | primary metric |")
    print("| --- | --- | --- | --- |")
    for variant, model, result in rows:
        print(
            f"| {variant} | {model} | {result['seconds']} | "
            f"{result['metric']} {result['score']:.4f} |"
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(one_run(json.loads(sys.argv[2]))))
    else:
        main()
