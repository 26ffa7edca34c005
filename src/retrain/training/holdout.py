"""A holdout that needs no global shuffle: each row's part follows from a hash of its key.

The same key always lands in the same part, in any process and any partition, so workers
split their own rows and the union is one reproducible split. Parts: TEST (``test_size`` of
the rows), VALID (``validation_fraction`` of the rest: early stopping) and TRAIN."""

from __future__ import annotations

import numpy as np
import pandas as pd

TRAIN, VALID, TEST = 0, 1, 2
BUCKETS = 10_000


def parts(keys: pd.Series, test_size: float, validation_fraction: float = 0.0) -> np.ndarray:
    """TRAIN / VALID / TEST per row, from a fixed hash of the key's text."""
    text = keys.astype(str).to_numpy(dtype=object)
    bucket = pd.util.hash_array(text, categorize=False) % BUCKETS
    test_end = round(test_size * BUCKETS)
    valid_end = test_end + round(validation_fraction * (BUCKETS - test_end))
    out = np.full(len(keys), TRAIN, dtype=np.int8)
    out[bucket < valid_end] = VALID
    out[bucket < test_end] = TEST
    return out
