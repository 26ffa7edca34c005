"""What a text column looks like, for the data profile and vocabulary drift: empty and
missing rows, lengths, and word-token counts (the tokens of ``training.text``, lowercased).

Token counts are kept for the ``TOP_TOKENS`` most common tokens; the rest is one number."""

from __future__ import annotations

from collections import Counter

import pandas as pd

TOP_TOKENS = 1000
TOKEN = r"(?u)\b\w\w+\b"  # the word tokens of TextTfidf (scikit-learn's default pattern)


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


def token_counts(values: pd.Series) -> Counter[str]:
    counts: Counter[str] = Counter()
    for tokens in present(values).str.lower().str.findall(TOKEN):
        counts.update(tokens)
    return counts


def top_tokens(counts: Counter[str], top: int = TOP_TOKENS) -> tuple[dict[str, int], int]:
    """The most common tokens (ties by token, so the same rows give the same list), and the
    occurrences of all the others."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(ordered[:top])
    return kept, sum(counts.values()) - sum(kept.values())
