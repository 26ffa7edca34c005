"""``python tests/pinned_cli.py ARGS``: the ``retrain`` command with its clock pinned to
``PINNED_NOW`` (ISO), so a subprocess test never depends on the calendar (a data window of
36 months moves with today's date)."""

from __future__ import annotations

import dataclasses
import os
import sys
from datetime import datetime

from retrain import bootstrap
from retrain.entrypoints.cli import main

NOW = datetime.fromisoformat(os.environ["PINNED_NOW"])
_build = bootstrap.build


def _pinned_build(*args, **kwargs):  # type: ignore[no-untyped-def]
    return dataclasses.replace(_build(*args, **kwargs), clock=lambda: NOW)


bootstrap.build = _pinned_build

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
