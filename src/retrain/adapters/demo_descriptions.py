"""Article descriptions for the demo table, written from each article's attributes the way
an article master holds them: German and English mixed, abbreviations, units glued on or
not, typos, tokens left out, sometimes no text at all.

"Spanplatte P2 E1 18mm 2800x2070 Dekor D0708", "MDF MR grau 19 mm roh", "OSB/3 PMDI 18,0mm
2500x1250 Bau". About 40 % of texts also name the wood source (fresh wood, sawmill chips,
mixed, recycled), which goes with the raw material class (A-D) four times in five: the one
thing in the text the other columns do not hold, and what the text adds for KLASSE_ROH.

Deterministic for a seed; draws from its own generator, so the other columns of a seed
stay what they were before descriptions existed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

LINE_WORDS = {
    "PB": ["Spanplatte", "Spanpl.", "SP", "particleboard", "PB", "Span"],
    "MDF": ["MDF", "MDF", "MDF-Platte", "mdf board"],
    "HDF": ["HDF", "HDF", "HDF-Platte", "hdf board"],
    "OSB": ["OSB/3", "OSB 3", "OSB", "OSB-Platte"],
}
SURFACE_WORDS = {
    "raw": ["roh", "raw", "unbeschichtet", "roh geschl."],
    "melamine": ["MFC", "melaminbesch.", "Dekor", "melamine", "MF beschichtet"],
    "HPL": ["HPL", "HPL belegt", "HPL laminate"],
    "lacquered": ["lackiert", "lacq.", "lacquered", "Lack weiss"],
    "veneer": ["furniert", "Furnier Eiche", "veneer", "furn."],
}
SOURCE_WORDS = {
    "A": ["Frischholz", "fresh wood", "Durchforstung", "Rundholz"],
    "B": ["Saegespaene", "sawmill chips", "Saegeneben.", "Hackschnitzel"],
    "C": ["Mischholz", "mixed wood", "Altholzanteil", "Mix"],
    "D": ["Recyclingholz", "recycled", "Altholz", "Recycl."],
}
SEGMENT_WORDS = {
    "furniture": ["Moebel", "furniture", "Korpus"],
    "flooring": ["Fussboden", "flooring", "Laminat-Traeger"],
    "construction": ["Bau", "construction", "tragend"],
    "doors": ["Tuer", "door", "Tuerblatt"],
    "shopfitting": ["Ladenbau", "shopfitting", "Messebau"],
}
GRADES = {"PB": "P2", "OSB": "", "MDF": "", "HDF": ""}


def describe(frame: pd.DataFrame, seed: int) -> list[str | None]:
    """One description per row of the demo frame (None for about 2 % of rows)."""
    rng = np.random.default_rng([seed, 14])
    out: list[str | None] = []
    for row in frame.itertuples(index=False):
        if rng.random() < 0.02:
            out.append(None)
            continue
        tokens = _tokens(row, rng)
        kept = [t for t in tokens[1:] if rng.random() > 0.12]  # the line word always stays
        out.append(" ".join(_typo(t, rng) for t in [tokens[0], *kept]))
    return out


def _tokens(row: Any, rng: np.random.Generator) -> list[str]:
    line = str(row.product_line)
    tokens = [_pick(LINE_WORDS[line], rng)]
    grade = GRADES[line]
    if row.moisture_resistant:
        tokens.append(_pick(["MR", "feuchtebest.", "V100", "moisture res.", "P3"], rng))
        grade = "P3" if line == "PB" else grade
    elif grade:
        tokens.append(grade)
    if row.fire_retardant:
        tokens.append(_pick(["B1", "FR", "schwer entfl.", "fire ret."], rng))
    emission = row.emission_class
    tokens.append("formaldehydfrei" if emission == "NAF" and rng.random() < 0.5 else emission)
    thickness = float(row.thickness_mm)
    tokens.append(_thickness(thickness, rng))
    if rng.random() < 0.7:
        tokens.append(f"{row.length_mm}x{row.width_mm}")
    surface = row.surface
    if isinstance(surface, str):
        tokens.append(_pick(SURFACE_WORDS[surface], rng))
    decor = row.decor_code
    if isinstance(decor, str):
        tokens.append(
            f"Dekor {decor}" if rng.random() < 0.5 else f"{decor} ST{rng.integers(1, 40)}"
        )
    glue = row.glue_system
    if isinstance(glue, str) and rng.random() < 0.4:
        tokens.append(glue)
    if rng.random() < 0.3:
        tokens.append(_pick(SEGMENT_WORDS[str(row.customer_segment)], rng))
    source = row.raw_material_class
    if isinstance(source, str) and rng.random() < 0.4:
        source = source if rng.random() < 0.8 else _pick(list(SOURCE_WORDS), rng)
        tokens.append(_pick(SOURCE_WORDS[source], rng))
    return tokens


def _thickness(mm: float, rng: np.random.Generator) -> str:
    number = f"{mm:g}"
    return _pick(
        [f"{number}mm", f"{number} mm", f"{mm:.1f}".replace(".", ",") + "mm", f"d={number}"], rng
    )


def _typo(token: str, rng: np.random.Generator) -> str:
    """Two neighbouring letters swapped, in about 4 % of tokens."""
    if len(token) < 4 or rng.random() >= 0.04:
        return token
    i = int(rng.integers(0, len(token) - 1))
    return token[:i] + token[i + 1] + token[i] + token[i + 2 :]


def _pick(options: list[str], rng: np.random.Generator) -> str:
    return options[int(rng.integers(0, len(options)))]
