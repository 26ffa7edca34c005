"""A Dask cluster as the Dask engine uses it: one client, and every call to it bounded.

Connecting (TCP and Dask's handshake, which distributed leaves unbounded) and each question
to the scheduler: DASK_CONNECT_TIMEOUT_S. A step's wait for its tasks and each transfer of
data: DASK_TIMEOUT_S; while it waits, the step asks the scheduler every WATCH_S whether it
is still there (and, for a fit, whether its workers are). Each run's tasks have keys of their
own (large arguments travel as data under unique keys), and a step that fails releases
everything its run holds on the cluster. The run's steps are in ``dask_engine``."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar, cast

from loguru import logger

from retrain.domain.errors import BackendError, RetrainError

WATCH_S = 2.0  # how often a waiting step asks the scheduler (and a fit checks its workers)
GRACE_S = 3.0  # a fit's task failed: how long the scheduler may take to see a worker leave
PING_S = 3.0  # /api/health's question to the scheduler (the health deadline is 4 s)
LOAD_CODE_S = 120.0  # the scheduler's first import of the tasks' code (once per scheduler)
SHARE_BYTES = 10_000  # larger keyword arguments travel as data under a key of their own
T = TypeVar("T")


class _StepTimeout(Exception):
    """A step waited DASK_TIMEOUT_S for its tasks (worded by ``DaskCluster.step``)."""


class _SchedulerLost(Exception):
    """The connection to the scheduler broke (worded by ``DaskCluster.step``)."""


def _within(seconds: float, fn: Callable[[], T], late: Callable[[T], Any] | None = None) -> T:
    """``fn()`` in a daemon thread, waited for ``seconds`` at most (then TimeoutError): a
    hard deadline whatever blocks inside. A call that overruns is left to end on its own;
    ``late`` receives what it returns after all (to close it)."""
    box: dict[str, Any] = {}
    gave_up = threading.Event()

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc
            return
        if gave_up.is_set() and late is not None:
            with suppress(Exception):
                late(box["value"])

    thread = threading.Thread(target=run, name="dask-bounded-call", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        gave_up.set()
        raise TimeoutError()
    if "error" in box:
        raise box["error"]
    return cast(T, box["value"])


def _identity(address: str, seconds: float) -> dict[str, Any]:
    """The scheduler's answer to ``identity`` on a connection of its own, all within
    ``seconds``: TCP connect, Dask's handshake (which distributed waits for without bound:
    a peer that accepts and never speaks would hold it forever) and the question."""
    from distributed.comm import connect
    from distributed.security import Security

    args = Security().get_connection_args("client")

    async def ask() -> dict[str, Any]:
        comm = await connect(address, timeout=seconds * 0.8, **args)
        try:
            await comm.write({"op": "identity", "n_workers": 0, "reply": True})
            return cast(dict[str, Any], await comm.read())
        finally:
            comm.abort()

    async def bounded() -> dict[str, Any]:
        return await asyncio.wait_for(ask(), seconds)

    return _within(seconds + 0.5, lambda: asyncio.run(bounded()))


def _first_line(exc: BaseException) -> str:
    """The exception's class and its first line; for a native library's error whose first
    line only says where (XGBoost: "[time] file.cc:83: [socket.cc:88|time]:"), its last
    line before the stack trace, which says what."""
    lines = [line.strip() for line in str(exc).split("Stack trace:")[0].splitlines()]
    lines = [line for line in lines if line]
    text = lines[0] if lines else ""
    if text.endswith(":") and len(lines) > 1:
        text = re.sub(r"^-?\s*\[[^\]]*\]:?\s*", "", lines[-1])
    return type(exc).__name__ + (f": {text[:200]}" if text else "")


class Run:
    """What one run put on the cluster: its key prefix, and every future it made, held
    weakly (a future the run drops is released as usual; the rows it no longer needs do not
    stay). ``release`` lets go of the live ones at once, also those an exception's traceback
    still holds: the scheduler then forgets them and the workers free their memory."""

    def __init__(self, model: str) -> None:
        self.token = f"{model}-{uuid.uuid4().hex[:8]}"
        self._futures: weakref.WeakSet[Any] = weakref.WeakSet()

    def track(self, futures: Iterable[Any]) -> list[Any]:
        out = list(futures)
        self._futures.update(out)
        return out

    def release(self) -> int:
        live = list(self._futures)
        self._futures.clear()
        for future in live:
            with suppress(Exception):  # a client already closed has released them
                future.release()
        return len(live)


def members(dask_scheduler: Any) -> dict[str, str]:
    """Runs on the scheduler: its workers now, address -> server id (a worker restarted on
    the same address has a new id)."""
    return {address: str(ws.server_id) for address, ws in dask_scheduler.workers.items()}


def lock_holders(dask_scheduler: Any) -> list[str]:
    """Runs on the scheduler: who holds worker locks now (xgboost.dask's MultiLock ids)."""
    locks = dask_scheduler.extensions.get("multi_locks")
    return [str(holder) for holder in locks.requests] if locks else []


def _release_abandoned(dask_scheduler: Any, before: list[str], workers: list[str]) -> int:
    """Runs on the scheduler: release the worker locks that an abandoned fit took. xgboost.dask
    locks its ring's workers (MultiLock, named by worker address) from the task that drives
    the fit; when that task died with a worker, nobody ever releases them, and every later fit
    on those workers waits until DASK_TIMEOUT_S. Released: holders that took all their locks
    after the fit began (not in ``before``) on the fit's ``workers`` only. Returns how many."""
    locks = dask_scheduler.extensions.get("multi_locks")
    if locks is None:
        return 0
    abandoned = [
        holder
        for holder, names in list(locks.requests.items())
        if str(holder) not in before
        and locks.requests_left.get(holder) == 0
        and set(names) <= set(workers)
    ]
    for holder in abandoned:
        locks.release(id=holder)
    return len(abandoned)


def _gone(watch: dict[str, str], present: dict[str, str]) -> list[str]:
    return sorted(address for address, sid in watch.items() if present.get(address) != sid)


class DaskCluster:
    """The engine's connection to one scheduler, and the bounded calls a run makes."""

    def __init__(
        self, address: str, timeout_s: int, connect_timeout_s: float, client: Any = None
    ) -> None:
        self.address, self.timeout_s = address, timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._client = client
        self._code_loaded: Any = None  # the client whose scheduler has the tasks' code
        self._lock = threading.Lock()

    def client(self) -> Any:
        """One client per engine, connected on first use and again once it lost its
        scheduler (whose futures are gone with it): BackendError when the scheduler does not
        answer within DASK_CONNECT_TIMEOUT_S."""
        with self._lock:
            current = self._client
            if current is not None and current.status == "running":
                return current
            self._client = None
            if current is not None:
                self._close(current)
            self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        from distributed import Client

        seconds = self.connect_timeout_s
        failed = (
            f"could not connect to the Dask scheduler {self.address} within {seconds:g} s "
            "(DASK_CONNECT_TIMEOUT_S)"
        )
        try:  # the handshake first, bounded: Client() would wait on a deaf one forever
            answer = _identity(self.address, seconds)
            if answer.get("type") != "Scheduler":
                raise BackendError(f"{failed}: the address answers, but not as a Dask scheduler")
            return _within(
                seconds + 1,
                lambda: Client(self.address, timeout=seconds, set_as_default=False),
                late=lambda client: client.close(timeout=seconds),
            )
        except RetrainError:
            raise
        except TimeoutError:
            raise BackendError(f"{failed}: it accepted the connection but never answered") from None
        except Exception as exc:
            raise BackendError(f"{failed}: {_first_line(exc)}") from None

    def _close(self, client: Any) -> None:
        """Let a client go (bounded; a close that hangs is left behind)."""
        seconds = self.connect_timeout_s
        with suppress(Exception):
            _within(seconds + 1, lambda: client.close(timeout=seconds))

    def ping(self) -> None:
        """The scheduler answers a question (``identity``) within PING_S, for /api/health: a
        port that accepts and never speaks is not a scheduler. The error names neither the
        address nor the library's words."""
        try:
            answer = _identity(self.address, PING_S - 0.5)
        except Exception:
            raise BackendError("Dask scheduler did not answer (DASK_SCHEDULER_ADDRESS)") from None
        if answer.get("type") != "Scheduler":
            raise BackendError("DASK_SCHEDULER_ADDRESS answers, but not as a Dask scheduler")

    def ask(self, client: Any, what: str, fn: Callable[..., T], **kwargs: Any) -> T:
        """``fn`` run on the scheduler, answered within DASK_CONNECT_TIMEOUT_S."""
        seconds = self.connect_timeout_s
        return self._answer(
            client, what, lambda: client.run_on_scheduler(fn, callback_timeout=seconds, **kwargs)
        )

    def load_code(self, client: Any, ready: Callable[[], Any]) -> None:
        """Have the scheduler import the tasks' module (that of ``ready``, a function of it)
        once per client, before a step asks it anything within DASK_CONNECT_TIMEOUT_S.
        distributed unpickles every task on the scheduler: the first one imports pandas,
        scikit-learn and the app there, and the fit's tracker imports xgboost.dask, each with
        the scheduler's event loop blocked (5-6 s and 1.6 s on a slow machine, more when the
        machine is shared), which a waiting step would take for a scheduler gone silent."""
        if client is self._code_loaded:
            return
        seconds = LOAD_CODE_S
        self._answer(
            client,
            "while it imported the training code",
            lambda: client.run_on_scheduler(ready, callback_timeout=seconds),
            seconds,
        )
        self._code_loaded = client

    def _answer(
        self, client: Any, what: str, ask: Callable[[], T], seconds: float | None = None
    ) -> T:
        if client.status != "running":
            raise _SchedulerLost()
        try:
            return ask()
        except TimeoutError:
            setting = f"{self.connect_timeout_s:g} s (DASK_CONNECT_TIMEOUT_S)"
            bound = f"{seconds:g} s" if seconds else setting
            raise BackendError(
                f"the Dask scheduler {self.address} did not answer ({what}) within {bound}"
            ) from None
        except Exception:
            if client.status != "running":
                raise _SchedulerLost() from None
            raise

    def _still_there(self, client: Any) -> None:
        """The scheduler answers a question (``identity``) within DASK_CONNECT_TIMEOUT_S."""
        seconds = self.connect_timeout_s
        self._answer(
            client,
            "whether it is still there",
            lambda: client.sync(client.scheduler.identity, n_workers=0, callback_timeout=seconds),
        )

    def workers(self) -> set[str]:
        """The workers the scheduler knows now (asked afresh, not the client's cache)."""
        return set(self.ask(self.client(), "its workers", members))

    @contextmanager
    def step(self, doing: str, run: Run | None = None) -> Iterator[None]:
        """A step of ``run``: when it fails, everything the run holds on the cluster is
        released, and anything the cluster raised becomes a BackendError saying what was
        under way and where (a retry may succeed); the product's own errors pass unchanged."""
        try:
            yield
        except BaseException as exc:
            if run is not None:
                run.release()
            if isinstance(exc, RetrainError) or not isinstance(exc, Exception):
                raise
            raise self._worded(exc, doing) from None

    def _worded(self, exc: Exception, doing: str) -> BackendError:
        lost = self._client is not None and self._client.status != "running"
        if isinstance(exc, _SchedulerLost) or lost:
            return BackendError(
                f"lost the connection to the Dask scheduler {self.address} while {doing} "
                "(it stopped, restarted or became unreachable); the run's work there is gone "
                "and nothing was published"
            )
        if isinstance(exc, _StepTimeout | TimeoutError):
            return BackendError(
                f"Dask cluster {self.address}: {doing} did not finish within "
                f"{self.timeout_s} s (DASK_TIMEOUT_S)"
            )
        return BackendError(f"Dask cluster {self.address} failed while {doing}: {_first_line(exc)}")

    def map(self, run: Run, fn: Callable[..., Any], futures: list, **kwargs: Any) -> list:
        """``fn(future, **kwargs)`` for each future, under keys of ``run``'s own. A keyword
        argument larger than SHARE_BYTES travels as data of its own (scattered under a
        unique key): ``Client.map`` would store it under the argument's name, a key that
        every run's map shares."""
        client = self.client()
        shared = {name: self.share(run, value) for name, value in kwargs.items()}
        key = f"{getattr(fn, '__name__', 'task')}-{run.token}"
        return run.track(client.map(fn, futures, key=key, pure=False, **shared))

    def share(self, run: Run, value: Any) -> Any:
        from dask.sizeof import sizeof
        from distributed import Future

        if isinstance(value, Future) or sizeof(value) <= SHARE_BYTES:
            return value
        return self.scatter(run, value, broadcast=False)

    def scatter(self, run: Run, value: Any, broadcast: bool = True) -> Any:
        """``value`` on the workers under a unique key, within DASK_TIMEOUT_S."""
        client = self.client()
        shipped = client.scatter([value], broadcast=broadcast, hash=False, timeout=self.timeout_s)
        return run.track(shipped)[0]

    def gather(
        self,
        run: Run,
        futures: list,
        watch: dict[str, str] | None = None,
        locks_before: list[str] | None = None,
    ) -> list:
        """Results of ``futures``; the first task error is raised as it is. Waits at most
        DASK_TIMEOUT_S, and asks the scheduler every WATCH_S (within
        DASK_CONNECT_TIMEOUT_S) which workers it has: a scheduler gone or silent fails the
        step at once. With ``watch`` (worker address -> id), a worker leaving fails it too:
        an XGBoost training ring cannot lose a member, and would otherwise wait for its
        collective timeout. The run is then released, and the worker locks taken since
        ``locks_before`` on the watched workers."""
        from distributed import wait

        client = self.client()
        deadline, pending = time.monotonic() + self.timeout_s, set(futures)
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _StepTimeout()
            if client.status != "running":
                raise _SchedulerLost()
            try:
                with client.as_current():  # wait() asks for the current client
                    done, pending = wait(
                        pending, timeout=min(left, WATCH_S), return_when="FIRST_COMPLETED"
                    )
            except TimeoutError:
                done = set()
            failed = [f for f in done if f.status != "finished"]
            if watch:
                present = self.ask(client, "which workers it has", members)
                self._check_ring(client, run, watch, present, bool(failed), locks_before)
            else:
                self._still_there(client)
            if failed:
                if failed[0].status == "error":
                    raise failed[0].exception(timeout=self.connect_timeout_s)
                raise (
                    _SchedulerLost()
                    if client.status != "running"
                    else BackendError(
                        f"Dask cluster {self.address}: a task of this step was {failed[0].status}"
                    )
                )
        if not futures:
            return []
        return cast(
            list, client.sync(client._gather, list(futures), callback_timeout=self.timeout_s)
        )

    def _check_ring(
        self,
        client: Any,
        run: Run,
        watch: dict[str, str],
        present: dict[str, str],
        failed: bool,
        locks_before: list[str] | None,
    ) -> None:
        """Fail the fit when one of its workers left. A lost worker is named before a task
        error: its peers then fail with XGBoost's own words ("Invalid worker address",
        a collective error), which hide what happened, and the scheduler may hear of the
        loss a moment after them."""
        gone = _gone(watch, present)
        until = time.monotonic() + (GRACE_S if failed else 0.0)
        while not gone and time.monotonic() < until:
            time.sleep(0.25)
            gone = _gone(watch, self.ask(client, "which workers it has", members))
        if not gone:
            return
        run.release()  # the fit and the run's partitions: nothing of it stays on a survivor
        released = self.ask(
            client,
            "releasing the abandoned fit's worker locks",
            _release_abandoned,
            before=locks_before or [],
            workers=sorted(watch),
        )
        if released:
            logger.warning(
                "Dask: released {} XGBoost worker lock(s) held by the abandoned fit", released
            )
        raise BackendError(
            f"Dask worker {', '.join(gone)} left the cluster during the fit (killed, out of "
            "memory or restarted); the fit was abandoned and nothing published"
        )
