"""What a text column looks like, for the data profile and vocabulary drift: empty and
missing rows, lengths, and word-token counts (the tokens of ``training.text``, lowercased).

Token counts are kept for the ``TOP_TOKENS`` most common tokens; the rest is one number."""

from __future__ import annotations

import re
from collections import Counter

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


def token_counts(values: pd.Series, chunk_rows: int = 100_000) -> Counter[str]:
    """Occurrences of each token in the non-missing texts.

    Whitespace never lies inside a token, so a text's tokens are those of its
    whitespace-separated pieces: the pieces are counted first (``str.split`` in C, a chunk of
    rows at a time), then each distinct piece is tokenised once. At 1M descriptions that is
    ~2.5x faster than a regex per text and never holds every row's token list (issue 26)."""
    texts = present(values)
    pieces: Counter[str] = Counter()
    for start in range(0, len(texts), chunk_rows):
        pieces.update(" ".join(texts.iloc[start : start + chunk_rows]).split())
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
