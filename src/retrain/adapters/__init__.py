"""Adapters: the only modules (with entrypoints/ and bootstrap.py) that talk to the outside."""
