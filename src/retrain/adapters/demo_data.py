"""Demo training data: a wood-based panel maker's article table, reproducible from a seed.

Targets follow the attributes through rules with noise, so models learn something real but
not everything: classes are imbalanced, some values are missing, ``decor_code`` has ~900
values, and a glue system, an emission class and new decors appear only in recent months.
``description`` is free text written from the attributes (``demo_descriptions``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from retrain.adapters import demo_descriptions

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

TABLE = "panel_articles"
MONTHS = 36
LINES = np.array(["MDF", "HDF", "PB", "OSB"])
PLANTS = np.array(["P01", "P02", "P03", "P04", "P05", "P06"])
SURFACES = np.array(["raw", "melamine", "HPL", "lacquered", "veneer"])
SEGMENTS = np.array(["furniture", "flooring", "construction", "doors", "shopfitting"])
FORMATS = np.array([[2800, 2070], [2620, 2070], [5610, 2070], [2500, 1250], [4100, 2070]])


def generate(rows: int = 40_000, seed: int = 7, as_of: date | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    as_of = as_of or date.today()
    end = datetime(as_of.year, as_of.month, as_of.day)
    # volume grows over time: more rows in recent months
    age_days = (rng.beta(1.0, 1.4, rows) * MONTHS * 30.4).astype(int)
    age_days = np.sort(age_days)[::-1]
    created = [
        end - timedelta(days=int(d), seconds=int(s))
        for d, s in zip(age_days, rng.integers(0, 86_400, rows), strict=True)
    ]
    recent = age_days < 120  # the last four months

    line = rng.choice(LINES, rows, p=[0.38, 0.17, 0.35, 0.10])
    plant = rng.choice(PLANTS, rows, p=[0.3, 0.25, 0.2, 0.12, 0.08, 0.05])
    segment = np.where(
        line == "HDF",
        rng.choice(SEGMENTS, rows, p=[0.2, 0.6, 0.05, 0.1, 0.05]),
        rng.choice(SEGMENTS, rows, p=[0.45, 0.05, 0.25, 0.1, 0.15]),
    )
    thickness = np.select(
        [line == "HDF", line == "MDF", line == "PB"],
        [
            rng.uniform(2.5, 8, rows),
            rng.choice([6, 8, 10, 12, 16, 19, 22, 25, 30, 38], rows),
            rng.choice([8, 10, 12, 16, 18, 19, 22, 25, 28, 38, 40], rows),
        ],
        rng.choice([9, 12, 15, 18, 22, 25], rows),
    ).round(1)
    fmt = FORMATS[rng.integers(0, len(FORMATS), rows)]
    base_density = np.select([line == "HDF", line == "MDF", line == "PB"], [880, 740, 640], 620)
    density = base_density - 2.5 * (thickness - 16) + rng.normal(0, 25, rows)
    moisture = rng.random(rows) < np.where(segment == "construction", 0.55, 0.12)
    fire = rng.random(rows) < np.where(segment == "shopfitting", 0.35, 0.04)

    glue = np.where(
        moisture,
        rng.choice(["MUF", "MDI"], rows, p=[0.6, 0.4]),
        rng.choice(["UF", "MUF", "PF", "MDI"], rows, p=[0.7, 0.12, 0.06, 0.12]),
    )
    glue = np.where(line == "OSB", np.where(rng.random(rows) < 0.8, "MDI", "PF"), glue)
    glue = np.where(recent & (rng.random(rows) < 0.15), "PMDI-LE", glue).astype(object)
    emission = rng.choice(["E1", "E05", "CARB2", "TSCA"], rows, p=[0.35, 0.3, 0.2, 0.15])
    emission = np.where(
        np.isin(glue, ["MDI", "PMDI-LE"]) & (rng.random(rows) < 0.5), "NAF", emission
    )
    emission = np.where(~recent & (emission == "NAF"), "E05", emission).astype(object)

    surface = np.where(
        segment == "construction", "raw", rng.choice(SURFACES, rows, p=[0.3, 0.45, 0.1, 0.1, 0.05])
    ).astype(object)
    decor_pool = 900 + (recent * 60)  # new decors launched recently
    decor = np.array([f"D{n:04d}" for n in (rng.zipf(1.3, rows) % decor_pool)], dtype=object)
    decor[surface == "raw"] = None

    family = np.char.add(line.astype(str), "_")
    family = np.char.add(
        family,
        np.select(
            [fire, moisture, (line == "HDF") & (segment == "flooring"), segment == "construction"],
            ["FR", "MR", "FLOOR", "CONST"],
            "STD",
        ),
    )
    board = np.select([thickness < 10, thickness < 20], ["RB-THIN", "RB-STD"], "RB-THICK")

    score_roh = (
        (density - base_density) / 40
        + (glue == "UF") * 0.8
        - (emission == "NAF") * 1.2
        + np.isin(plant, ["P04", "P05", "P06"]) * 0.9
        + rng.normal(0, 0.6, rows)
    )
    raw_class = np.select(
        [score_roh < -0.9, score_roh < 0.4, score_roh < 1.5], ["A", "B", "C"], "D"
    ).astype(object)
    core = np.select(
        [density > 830, density < 580, (line == "MDF") & (thickness <= 19), line == "OSB"],
        ["DENSE", "LIGHT", "FINE", "COARSE"],
        "STANDARD",
    ).astype(object)

    for target in (raw_class, core):  # label noise: production data is never clean
        flip = rng.random(rows) < 0.07
        target[flip] = rng.choice(np.unique(target), flip.sum())
    family = family.astype(object)
    flip = rng.random(rows) < 0.05
    family[flip] = rng.choice(np.unique(family), flip.sum())

    frame = pd.DataFrame(
        {
            "article_id": np.arange(1, rows + 1),
            "article_no": [f"AR-{n:07d}" for n in rng.permutation(rows) + 1_000_000],
            "created_at": created,
            "plant": plant.astype(object),
            "product_line": line.astype(object),
            "thickness_mm": thickness,
            "length_mm": fmt[:, 0],
            "width_mm": fmt[:, 1],
            "density_kg_m3": density.round(1),
            "surface": surface,
            "decor_code": decor,
            "glue_system": glue,
            "emission_class": emission,
            "moisture_resistant": moisture,
            "fire_retardant": fire,
            "customer_segment": segment.astype(object),
            "article_family": family,
            "raw_board": board.astype(object),
            "raw_material_class": raw_class,
            "core_material_class": core,
        }
    )
    for col, rate in (
        ("density_kg_m3", 0.03),
        ("glue_system", 0.05),
        ("surface", 0.02),
        ("raw_material_class", 0.01),
    ):
        frame.loc[rng.random(rows) < rate, col] = None
    # from the attributes as they are stored (with their gaps), from a generator of its own
    frame.insert(2, "description", demo_descriptions.describe(frame, seed))
    return frame


def write(engine: Engine, frame: pd.DataFrame) -> None:
    """Replace the demo table (the generator, not the training app, owns write access)."""
    from sqlalchemy import Boolean, DateTime, Float, Integer, String

    dtypes = {
        "article_id": Integer(),
        "created_at": DateTime(),
        "thickness_mm": Float(),
        "length_mm": Integer(),
        "width_mm": Integer(),
        "density_kg_m3": Float(),
        "moisture_resistant": Boolean(),
        "fire_retardant": Boolean(),
    }
    dtypes.update({c: String() for c in frame.columns if c not in dtypes})
    with engine.begin() as conn:
        frame.to_sql(TABLE, conn, if_exists="replace", index=False, chunksize=10_000, dtype=dtypes)
