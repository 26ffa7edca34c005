"""An in-process stand-in for the Storage queues, for the local server (``retrain console``).

Messages go to the app's own queue functions, one at a time, like host.json's batch size 1.
A function that raises gets its message again with ``dequeue_count + 1`` after a short
pause; after ``max_dequeue`` attempts the message moves to ``<queue>-poison``, whose function
(``training_gave_up``) has the last word: what the Functions host does, minus the storage."""

from __future__ import annotations

import collections
import itertools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import azure.functions as func
from azure.functions.queue import QueueMessage
from loguru import logger

Handler = Callable[[func.QueueMessage], None]


@dataclass
class Pending:
    queue: str
    body: str
    dequeue_count: int
    not_before: float


class LocalQueue:
    def __init__(
        self, handlers: Mapping[str, Handler], max_dequeue: int, retry_after_s: float = 5.0
    ) -> None:
        self.handlers = dict(handlers)
        self.max_dequeue = max_dequeue
        self.retry_after_s = retry_after_s
        self._pending: collections.deque[Pending] = collections.deque()
        self._ids = itertools.count(1)
        self._lock = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def put(self, queue: str, bodies: str | list[str]) -> None:
        if queue not in self.handlers:
            raise ValueError(f"no function listens on queue {queue!r}")
        with self._lock:
            for body in [bodies] if isinstance(bodies, str) else bodies:
                self._pending.append(Pending(queue, body, 1, 0.0))
            self._lock.notify_all()

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    def _take(self, wait: bool) -> Pending | None:
        with self._lock:
            while not self._stopped:
                now = time.monotonic()
                due = next((p for p in self._pending if p.not_before <= now), None)
                if due is not None:
                    self._pending.remove(due)
                    return due
                if not wait:
                    return None
                soonest = min((p.not_before for p in self._pending), default=now + 1.0)
                self._lock.wait(max(0.05, soonest - now))
            return None

    def _deliver(self, item: Pending) -> None:
        message = QueueMessage(
            id=f"local-{next(self._ids)}",
            body=item.body.encode(),
            dequeue_count=item.dequeue_count,
            pop_receipt="local",
        )
        try:
            self.handlers[item.queue](message)
        except Exception as exc:
            with self._lock:
                if item.dequeue_count >= self.max_dequeue:
                    poison = f"{item.queue}-poison"
                    logger.warning(
                        "message {} gave up after {} attempts", message.id, item.dequeue_count
                    )
                    if poison in self.handlers:
                        self._pending.append(Pending(poison, item.body, 1, 0.0))
                else:
                    logger.warning(
                        "message {} failed ({}); retrying", message.id, type(exc).__name__
                    )
                    retry_at = time.monotonic() + self.retry_after_s
                    self._pending.append(
                        Pending(item.queue, item.body, item.dequeue_count + 1, retry_at)
                    )
                self._lock.notify_all()

    def run_pending(self, timeout_s: float = 120.0) -> int:
        """Deliver every message (and its retries) in this thread; return how many ran."""
        deadline = time.monotonic() + timeout_s
        done = 0
        while time.monotonic() < deadline:
            item = self._take(wait=False)
            if item is None:
                if not len(self):
                    return done
                time.sleep(0.05)  # a retry that is not due yet
                continue
            self._deliver(item)
            done += 1
        raise TimeoutError(f"{len(self)} queue messages still pending after {timeout_s} s")

    def start(self) -> None:
        """Deliver messages in a background thread until ``stop``."""

        def work() -> None:
            while (item := self._take(wait=True)) is not None:
                self._deliver(item)

        self._thread = threading.Thread(target=work, name="local-queue", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
