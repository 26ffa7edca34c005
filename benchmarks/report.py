"""Markdown tables from bench.py's results, with each target checked."""

from __future__ import annotations

from typing import Any


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def _x(a: float, b: float) -> str:
    return f"{a / b:.2f}x"


Check = tuple[str, bool, str]
Section = tuple[list[str], list[Check]]


def render(r: dict[str, Any]) -> str:
    """The tables of the parts ``r`` holds (``--parts`` may pick any subset)."""
    m = r["machine"]
    out = [f"Machine: {m['cpus']} CPUs, {m['memory_gb']} GB, Python {m['python']}, {m['platform']}"]
    checks: list[Check] = []
    for section in (_load, _fits, _encodings, _seed_runs, _cold_start, _footprint):
        lines, found = section(r)
        out += lines
        checks += found
    if checks:
        out += ["", "### Targets", ""]
        out += _table(
            ["target", "measured", "result"],
            [[name, value, "met" if ok else "**missed**"] for name, ok, value in checks],
        )
    return "\n".join(out)


def _load(r: dict[str, Any]) -> Section:
    if "load" not in r:
        return [], []
    floor, naive, product = r["load"]["floor"], r["load"]["naive"], r["load"]["product"]
    out = ["", f"### Loading {r['rows']:,} rows (ARTFAM_ROH query, median of {floor['reps']})", ""]
    out += _table(
        ["path", "wall s", "peak MB", "x floor time", "x naive time", "x naive memory"],
        [
            [
                name,
                f"{v['wall_s']:.2f}",
                f"{v['peak_mb']:.0f}",
                _x(v["wall_s"], floor["wall_s"]),
                _x(v["wall_s"], naive["wall_s"]),
                _x(v["peak_mb"], naive["peak_mb"]),
            ]
            for name, v in (
                ("floor: psql binary COPY to /dev/null", floor),
                ("naive: pandas.read_sql", naive),
                ("product: COPY -> pandas C parser", product),
            )
        ],
    )
    checks = [
        (
            "product load ≤ 1.5x floor time",
            product["wall_s"] <= 1.5 * floor["wall_s"],
            _x(product["wall_s"], floor["wall_s"]),
        ),
        (
            "product load ≤ 0.35x naive peak memory",
            product["peak_mb"] <= 0.35 * naive["peak_mb"],
            _x(product["peak_mb"], naive["peak_mb"]),
        ),
    ]
    return out, checks


def _fits(r: dict[str, Any]) -> Section:
    nf, pf = r.get("naive_fit"), r.get("product_fit")
    if nf is None and pf is None:
        return [], []
    out = [
        "",
        f"### The same model, naive vs product: BENCH_CORE, {r['rows']:,} rows",
        "",
        "BENCH_CORE = ARTFAM_ROH's features (incl. ~900 decor codes) predicting the 5 "
        f"core material classes; XGBoost hist, depth {r['depth']}, 2 threads. Wall "
        "time and peak memory of the whole process: load, encode, fit, score.",
        "",
    ]
    rows = []
    if nf is not None:
        rows.append(
            [
                f"naive: read_sql + get_dummies + {r['rounds']} rounds",
                f"{nf['wall_s']:.1f}",
                nf["fit_s"],
                f"{nf['peak_mb']:.0f}",
                nf["accuracy"],
            ]
        )
    if pf is not None:
        rows.append(
            [
                f"product: COPY loader + pipeline, early stop ({pf['rounds']} rounds)",
                f"{pf['wall_s']:.1f}",
                pf["fit_s"],
                f"{pf['peak_mb']:.0f}",
                pf["accuracy"],
            ]
        )
    out += _table(["path", "wall s", "fit s", "peak MB", "holdout accuracy"], rows)
    if nf is None or pf is None:  # the targets compare the two
        return out, []
    checks = [
        (
            "product ≤ 0.3x naive time",
            pf["wall_s"] <= 0.3 * nf["wall_s"],
            _x(pf["wall_s"], nf["wall_s"]),
        ),
        (
            "product ≤ 0.25x naive peak memory",
            pf["peak_mb"] <= 0.25 * nf["peak_mb"],
            _x(pf["peak_mb"], nf["peak_mb"]),
        ),
        (
            "same holdout score (within 0.005)",
            pf["accuracy"] >= nf["accuracy"] - 0.005,
            f"{pf['accuracy']} vs {nf['accuracy']}",
        ),
    ]
    return out, checks


def _encodings(r: dict[str, Any]) -> Section:
    if "encodings" not in r:
        return [], []
    out = [
        "",
        f"### Encodings: XGBoost hist on BENCH_CORE, {r.get('encoding_rows', r['rows']):,} "
        f"newest rows, {r['rounds']} rounds (or early stopping), one holdout",
        "",
    ]
    out += _table(
        ["encoding", "prep s", "fit s", "rounds", "peak MB", "accuracy"],
        [
            [kind, v["prep_s"], v["fit_s"], v["rounds"], f"{v['peak_mb']:.0f}", v["accuracy"]]
            for kind, v in r["encodings"].items()
        ],
    )
    return out, []


def _seed_runs(r: dict[str, Any]) -> Section:
    if "seed_runs" not in r:
        return [], []
    out = ["", f"### Seed-classifier runs ({r['rows']:,} rows, publish to Azurite)", ""]
    rows, checks = [], []
    for name, v in r["seed_runs"].items():
        run, bare = v["run"], v["bare"]
        rows.append(
            [
                name,
                f"{run['wall_s']:.1f}",
                f"{run['peak_mb']:.0f}",
                f"{bare['wall_s']:.1f}",
                _x(run["wall_s"], bare["wall_s"]),
                f"{run['metric']} {run['score']:.4f}",
                ", ".join(f"{k} {t:.1f}" for k, t in run["timings"].items()),
            ]
        )
        checks.append(
            (
                f"{name} run ≤ 1.3x load + bare fit",
                run["wall_s"] <= 1.3 * bare["wall_s"],
                _x(run["wall_s"], bare["wall_s"]),
            )
        )
    out += _table(
        ["model", "run s", "peak MB", "load + bare fit s", "x bare", "score", "stages (s)"],
        rows,
    )
    warm = {name: v["warm"] for name, v in r["seed_runs"].items() if "warm" in v}
    if warm:  # measure.py warm_runs
        out += ["", "In one process, as a Functions worker runs them (imports paid once):", ""]
        out += _table(
            ["model", "first run s", "runs s", "load + bare fits s", "x bare (medians)"],
            [
                [
                    name,
                    f"{w['first_run_s']:.1f}",
                    ", ".join(f"{t:.1f}" for t in w["runs_s"]),
                    ", ".join(f"{t:.1f}" for t in w["bares_s"]),
                    _x(w["run_s"], w["bare_s"]),
                ]
                for name, w in warm.items()
            ],
        )
        checks += [
            (
                f"{name} run in a worker ≤ 1.3x load + bare fit",
                w["run_s"] <= 1.3 * w["bare_s"],
                _x(w["run_s"], w["bare_s"]),
            )
            for name, w in warm.items()
        ]
    return out, checks


def _cold_start(r: dict[str, Any]) -> Section:
    if "cold_start" not in r:
        return [], []
    cold = r["cold_start"]
    out = [
        "",
        "### Cold start",
        "",
        f"- `import function_app`: {cold['import_s']} s cumulative import time "
        f"(python -X importtime); the whole process {cold['process_wall_s']} s against "
        f"{cold['bare_python_s']} s for a bare interpreter; heavy libraries imported: "
        f"{', '.join(cold['heavy_imported']) or 'none'}",
    ]
    return out, [("cold start ≤ 0.5 s", cold["import_s"] <= 0.5, f"{cold['import_s']} s")]


def _footprint(r: dict[str, Any]) -> Section:
    if "footprint" not in r:
        return [], []
    foot = r["footprint"]
    out = [
        "",
        "### Footprint",
        "",
        f"- requirements.txt installed: {foot['total_mb']} MB, "
        f"{foot['without_tests_mb']} MB without the libraries' test suites (as the image "
        "ships them); largest: " + ", ".join(f"{k} {v} MB" for k, v in foot["largest"].items()),
    ]
    check = (
        "footprint ≤ 400 MB (image)",
        foot["without_tests_mb"] <= 400,
        f"{foot['without_tests_mb']} MB",
    )
    return out, [check]
