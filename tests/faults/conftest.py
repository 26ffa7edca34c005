"""The fault-injection suite: the function app's fixtures (the real services come from
tests/conftest.py)."""

from tests.functions.conftest import quick_app, use  # noqa: F401 (fixtures)
