"""The fault-injection suite: the function app's fixtures (the real services come from
tests/conftest.py). Its summary of what it injected is printed by tests/conftest.py, which
also gathers it from pytest-xdist's worker processes."""

from __future__ import annotations

from tests.functions.conftest import quick_app, use  # noqa: F401 (fixtures)
