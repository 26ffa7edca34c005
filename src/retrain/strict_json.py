"""The one JSON encoder for everything the product answers or stores: HTTP bodies, the
console's local server, the CLI's ``--json``, stored cards, records and lists.

Strict RFC 8259: NaN and infinities (XGBoost's ``missing=nan`` parameter, a metric of an
empty class) have no JSON form, so they become ``null``; a browser's ``JSON.parse`` and
every other strict parser then read every answer. Objects JSON does not know (dates,
paths) become their text."""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (Python or NumPy) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return finite(value.item())  # a NumPy scalar: its Python value
    return value


def dumps(
    value: Any,
    *,
    indent: int | None = None,
    sort_keys: bool = False,
    compact: bool = False,
    ensure_ascii: bool = True,
) -> str:
    return json.dumps(
        finite(value),
        indent=indent,
        sort_keys=sort_keys,
        separators=(",", ":") if compact else None,
        ensure_ascii=ensure_ascii,
        allow_nan=False,
        default=str,
    )
