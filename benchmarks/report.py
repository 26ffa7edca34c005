"""Markdown tables from bench.py's results, with each target checked."""

from __future__ import annotations

from typing import Any


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def _x(a: float, b: float) -> str:
    return f"{a / b:.2f}x"


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    out = [
        f"Machine: {m['cpus']} CPUs, {m['memory_gb']} GB, Python {m['python']}, {m['platform']}",
        "",
    ]
    checks: list[tuple[str, bool, str]] = []

    load = r["load"]
    floor, naive, product = load["floor"], load["naive"], load["product"]
    out += [f"### Loading {r['rows']:,} rows (ARTFAM_ROH query, median of {floor['reps']})", ""]
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
    checks += [
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

    if "naive_fit" in r:
        nf, pf = r["naive_fit"], r["product_fit"]
        out += [
            "",
            f"### The same model, naive vs product: BENCH_CORE, {r['rows']:,} rows",
            "",
            "BENCH_CORE = ARTFAM_ROH's features (incl. ~900 decor codes) predicting the 5 "
            f"core material classes; XGBoost hist, depth {r['depth']}, 2 threads. Wall "
            "time and peak memory of the whole process: load, encode, fit, score.",
            "",
        ]
        out += _table(
            ["path", "wall s", "fit s", "peak MB", "holdout accuracy"],
            [
                [
                    f"naive: read_sql + get_dummies + {r['rounds']} rounds",
                    f"{nf['wall_s']:.1f}",
                    nf["fit_s"],
                    f"{nf['peak_mb']:.0f}",
                    nf["accuracy"],
                ],
                [
                    f"product: COPY loader + pipeline, early stop ({pf['rounds']} rounds)",
                    f"{pf['wall_s']:.1f}",
                    pf["fit_s"],
                    f"{pf['peak_mb']:.0f}",
                    pf["accuracy"],
                ],
            ],
        )
        checks += [
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
        out += [
            "",
            f"### Encodings: XGBoost hist on BENCH_CORE, {r['encoding_rows']:,} newest "
            f"rows, {r['rounds']} rounds (or early stopping), one holdout",
            "",
        ]
        out += _table(
            ["encoding", "prep s", "fit s", "rounds", "peak MB", "accuracy"],
            [
                [kind, v["prep_s"], v["fit_s"], v["rounds"], f"{v['peak_mb']:.0f}", v["accuracy"]]
                for kind, v in r["encodings"].items()
            ],
        )
        out += ["", f"### Seed-classifier runs ({r['rows']:,} rows, publish to Azurite)", ""]
        rows = []
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

    cold, foot = r["cold_start"], r["footprint"]
    out += [
        "",
        "### Cold start and footprint",
        "",
        f"- `import function_app`: {cold['import_s']} s cumulative import time "
        f"(python -X importtime); the whole process {cold['process_wall_s']} s against "
        f"{cold['bare_python_s']} s for a bare interpreter; heavy libraries imported: "
        f"{', '.join(cold['heavy_imported']) or 'none'}",
        f"- requirements.txt installed: {foot['total_mb']} MB, "
        f"{foot['without_tests_mb']} MB without the libraries' test suites (as the image "
        "ships them); largest: " + ", ".join(f"{k} {v} MB" for k, v in foot["largest"].items()),
    ]
    checks += [
        ("cold start ≤ 0.5 s", cold["import_s"] <= 0.5, f"{cold['import_s']} s"),
        (
            "footprint ≤ 400 MB (image)",
            foot["without_tests_mb"] <= 400,
            f"{foot['without_tests_mb']} MB",
        ),
    ]
    out += ["", "### Targets", ""]
    out += _table(
        ["target", "measured", "result"],
        [[name, value, "met" if ok else "**missed**"] for name, ok, value in checks],
    )
    return "\n".join(out)
