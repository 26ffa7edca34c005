"""Independent reads side by side: a list request that needs 50 objects from Blob Storage
waits for a few round trips, not 50 in a row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
WORKERS = 8  # below the Blob SDK's 10 pooled connections per host


def read_all(read: Callable[[T], R], items: Sequence[T], workers: int = WORKERS) -> list[R]:
    """``[read(item) for item in items]``, in order, up to ``workers`` at a time."""
    if len(items) <= 1:
        return [read(item) for item in items]
    with ThreadPoolExecutor(min(workers, len(items))) as pool:
        return list(pool.map(read, items))
