"""JSON as a strict parser reads it (RFC 8259, a browser's JSON.parse): NaN, Infinity and
-Infinity are refused, as Python's json module would otherwise accept them."""

from __future__ import annotations

import json
from typing import Any


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON (RFC 8259)")


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_constant=_refuse)
