"""What a text column looks like, for the data profile and vocabulary drift: empty and
missing rows, lengths, and word-token counts (the tokens of ``training.text``, lowercased).

Token counts are kept for the ``TOP_TOKENS`` most common tokens; the rest is one number."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd

TOP_TOKENS = 1000
TOKEN = r"(?u)\b\w\w+\b"  # the word tokens of TextTfidf (scikit-learn's default pattern)
_TOKEN = re.compile(TOKEN)


def present(values: pd.Series) -> pd.Series:
    """The non-missing texts, as strings."""
    return values[values.notna()].astype(str)


def lengths(values: pd.Series) -> pd.Series:
    """Characters per non-missing text (stripped)."""
    return present(values).str.strip().str.len()


def text_lengths(values: pd.Series) -> pd.Series:
    """Characters per text that is neither missing nor empty: what the length profile
    describes (empty and missing rows have their own counts)."""
    found = lengths(values)
    return found[found > 0]


def token_counts(values: pd.Series, chunk_chars: int = 4_000_000) -> Counter[str]:
    """Occurrences of each token in the non-missing texts.

    Whitespace never lies inside a token, so a text's tokens are those of its
    whitespace-separated pieces: the pieces are counted first (``str.split`` in C, about
    ``chunk_chars`` characters of texts at a time), then each distinct piece is tokenised
    once. At 1M descriptions that is ~2.5x faster than a regex per text and never holds every
    row's token list (issue 26). The chunks are cut by characters, not rows: a chunk's pieces
    are Python strings of ~60 bytes each, so 100,000 rows of 450-character texts (a chunk by
    rows until 2026-12-07) held ~400 MB of them at once (docs/benchmarks.md)."""
    texts = present(values)
    ends = np.cumsum(texts.str.len().to_numpy(dtype=np.int64) + 1)  # +1: the joining space
    pieces: Counter[str] = Counter()
    start = 0
    while start < len(texts):
        reached = ends[start - 1] if start else 0
        # the texts that end within chunk_chars of this chunk's start; at least one
        stop = max(start + 1, int(np.searchsorted(ends, reached + chunk_chars, side="right")))
        pieces.update(" ".join(texts.iloc[start:stop]).split())
        start = stop
    counts: Counter[str] = Counter()
    find = _TOKEN.findall
    for piece, n in pieces.items():
        for token in find(piece.lower()):
            counts[token] += n
    return counts


def top_tokens(counts: Counter[str], top: int = TOP_TOKENS) -> tuple[dict[str, int], int]:
    """The most common tokens (ties by token, so the same rows give the same list), and the
    occurrences of all the others."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(ordered[:top])
    return kept, sum(counts.values()) - sum(kept.values())
