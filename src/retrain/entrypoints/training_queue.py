"""The training queue's contract: its name, its connection setting, its message.

One message per run, ``{"run_id": "..."}``; the run record holds everything else, so a
message can be redelivered or replayed without side effects."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterable

from retrain.domain.runs import RUN_ID, RunRecord

QUEUE = "training-jobs"
POISON_QUEUE = f"{QUEUE}-poison"  # where the host moves a message after maxDequeueCount
CONNECTION = "AzureWebJobsStorage"

# typing.List, not list[str]: the Functions worker checks output annotations with the
# azure.functions converters, which accept typing generics only (a list[str] annotation
# indexes fine, then fails to load in Azure). tests/functions/test_worker_loading.py
Messages = typing.List[str]  # noqa: UP006


def messages(records: Iterable[RunRecord]) -> list[str]:
    return [json.dumps({"run_id": record.run_id}) for record in records]


def run_id_of(body: bytes) -> str:
    """The run id a message carries; ValueError says what is wrong with a bad one."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise ValueError("not JSON") from None
    run_id = data.get("run_id") if isinstance(data, dict) else None
    if not isinstance(run_id, str) or not RUN_ID.match(run_id):
        raise ValueError('no valid "run_id"')
    return run_id
