"""Stored JSON state, parsed once at the edge: a missing object is ``None``, an unreadable one
a CorruptStateError naming it (never its contents)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from retrain import strict_json
from retrain.domain.errors import CorruptStateError
from retrain.domain.ports import ObjectStore, StoredObject

T = TypeVar("T")


def decode(data: bytes, what: str, key: str, repair: str = "") -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        problem = "nested too deeply" if isinstance(exc, RecursionError) else "not valid JSON"
        raise CorruptStateError(what, key, problem, repair) from None


def parse(obj: StoredObject, what: str, key: str, build: Callable[[Any], T], repair: str = "") -> T:
    """``build(decoded JSON)``; its ValueError/TypeError/KeyError becomes CorruptStateError."""
    data = decode(obj.data, what, key, repair)
    try:
        return build(data)
    except (ValueError, TypeError, KeyError) as exc:
        detail = str(exc) if isinstance(exc, ValueError) else "unexpected shape"
        raise CorruptStateError(what, key, detail[:120], repair) from None


def read(store: ObjectStore, key: str, what: str, repair: str = "") -> Any | None:
    obj = store.get(key)
    return None if obj is None else decode(obj.data, what, key, repair)


def dumps(data: Any) -> bytes:
    return strict_json.dumps(data, indent=2, sort_keys=True).encode()
