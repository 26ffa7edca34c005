"""Whole numbers from outside (an HTTP query or route value, a CLI argument), by one rule:
ASCII digits only, within a range; the message says what to fix. The HTTP API answers 400
with it, the CLI exits 2 with it as a usage error."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

MAX_VERSION = 999_999_999
VERSION = (1, MAX_VERSION)
RUNS_LIMIT = (1, 500)  # how many runs one list answers with
_WHOLE = re.compile(r"[0-9]{1,12}")  # ASCII digits only: '²'.isdigit() is true


def whole_number(raw: str, name: str, low: int, high: int) -> int:
    """``raw`` as an int in [low, high]; ValueError saying what to fix otherwise."""
    if not _WHOLE.fullmatch(raw) or not low <= int(raw) <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, not {raw[:20]!r}")
    return int(raw)


def argument(name: str, bounds: tuple[int, int]) -> Callable[[str], int]:
    """An argparse ``type=``: the same rule, as a usage error naming the argument."""

    def parse(raw: str) -> int:
        try:
            return whole_number(raw, name, *bounds)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = name  # argparse names the type in some messages
    return parse
