"""The executor: runs independent tasks in this process, in local worker processes, or on a Dask cluster.

Every multi-run job goes through ``Executor.map``. Results come back in task order whatever the backend
or the order of completion, and each task draws from its own streams, so the outcome is the same, bit
for bit, with one worker, several, or a cluster. Ctrl-C (or SIGTERM) stops every worker at once.
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from ..config.errors import ScenarioError

T = TypeVar("T")
R = TypeVar("R")

Done = Callable[[int, Any], None]
"""Called with (the task's index, its result) as each task completes, in order of completion."""

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a Dask scheduler before giving up."""


def default_workers() -> int:
    """The machine's cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class Executor:
    """Where tasks run: ``workers`` local processes (1: in this process), or a Dask ``scheduler`` address."""

    def __init__(self, workers: int | None = None, scheduler: str | None = None) -> None:
        if workers is not None and not 1 <= workers <= 1024:
            raise ScenarioError(f"--workers {workers}: must be between 1 and 1024")
        if scheduler is not None and not scheduler.strip():
            raise ScenarioError("--scheduler: the address is empty")
        self.workers = workers if workers is not None else default_workers()
        self.scheduler = scheduler

    def __repr__(self) -> str:
        where = f"scheduler={self.scheduler!r}" if self.scheduler else f"workers={self.workers}"
        return f"Executor({where})"

    def check(self) -> None:
        """Raise ScenarioError (one line) unless this executor can run tasks: its Dask scheduler answers."""
        if self.scheduler is not None:
            _client(self.scheduler).close()

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], done: Done | None = None) -> list[R]:
        """``[fn(t) for t in tasks]``, run where this executor runs them; ``done`` hears of each as it completes.

        ``fn`` must be a module-level function (it is sent to the workers by reference).
        """
        if not tasks:
            return []
        if self.scheduler is not None:
            return _on_dask(self.scheduler, fn, tasks, done)
        if self.workers == 1 or len(tasks) == 1:
            return _in_process(fn, tasks, done)
        return _on_processes(min(self.workers, len(tasks)), fn, tasks, done)


def _in_process(fn: Callable[[T], R], tasks: Sequence[T], done: Done | None) -> list[R]:
    results = []
    for i, task in enumerate(tasks):
        results.append(fn(task))
        if done is not None:
            done(i, results[-1])
    return results


def _worker_start() -> None:
    # The parent handles Ctrl-C and stops the workers itself: a worker must not print its own traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _context() -> Any:
    """fork where it is safe (no other thread whose locks a child could inherit held), else forkserver.

    fork starts workers fastest and needs no ``if __name__ == "__main__":`` guard in a user's script;
    forkserver is for processes with threads (a notebook kernel, a progress bar already drawing).
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["sim.experiments.tasks"])
        return context
    return multiprocessing.get_context("spawn")


def _on_processes(workers: int, fn: Callable[[T], R], tasks: Sequence[T], done: Done | None) -> list[R]:
    context = _context()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_start)
    results: list[Any] = [None] * len(tasks)
    try:
        pending: dict[Future[R], int] = {pool.submit(fn, tasks[i]): i for i in _largest_first(tasks)}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                i = pending.pop(future)
                results[i] = future.result()
                if done is not None:
                    done(i, results[i])
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)
    return results


def _largest_first(tasks: Sequence[Any]) -> list[int]:
    """Task indices, the most expensive first (where tasks say their ``cost``): the last to finish is then a
    short one, and no worker idles long at the end."""
    return sorted(range(len(tasks)), key=lambda i: -float(getattr(tasks[i], "cost", 0.0)))


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop every worker now (a running task is abandoned), then the pool."""
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join(timeout=5)


def _distributed() -> Any:
    try:
        return importlib.import_module("distributed")
    except ImportError:
        raise ScenarioError("--scheduler needs Dask's distributed scheduler: pip install 'portsim[dask]'") from None


def _client(address: str) -> Any:
    """A client of the Dask scheduler at ``address``; a one-line ScenarioError if none answers in time."""
    dask = _distributed()
    try:
        scheme, location = importlib.import_module("distributed.comm.addressing").parse_address(address)
        if scheme in ("tcp", "tls"):
            importlib.import_module("distributed.comm.addressing").parse_host_port(location)
            if not location.rpartition(":")[2].isdigit():
                raise ValueError("missing port number")
    except (ValueError, TypeError) as exc:
        raise ScenarioError(
            f"--scheduler {address}: not a scheduler address ({exc}; e.g. tcp://10.0.0.2:8786)"
        ) from None
    _probe(address)
    try:
        return dask.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ScenarioError(f"--scheduler {address}: no Dask scheduler answers there ({reason})") from None


def _probe(address: str) -> None:
    """Exchange Dask's handshake with ``address``, within CONNECT_TIMEOUT, before any Client exists.

    Something else listening there (a web server, a random service) must give one line, not a hang or
    the Client's own failures (a huge allocation from a misread frame, a traceback at exit).
    """
    comm_core: Any = importlib.import_module("distributed.comm.core")

    async def handshake() -> None:
        comm = await comm_core.connect(address, timeout=CONNECT_TIMEOUT)
        await comm.close()

    try:
        asyncio.run(asyncio.wait_for(handshake(), CONNECT_TIMEOUT + 0.5))
    except (Exception, asyncio.CancelledError) as exc:
        if isinstance(exc, TimeoutError | asyncio.TimeoutError):
            reason = f"nothing answered as a Dask scheduler within {CONNECT_TIMEOUT:g} s"
        elif isinstance(exc, MemoryError | ValueError | TypeError | KeyError):
            reason = "something answered, but not as a Dask scheduler"
        else:
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ScenarioError(f"--scheduler {address}: no Dask scheduler answers there ({reason})") from None


def _on_dask(address: str, fn: Callable[[T], R], tasks: Sequence[T], done: Done | None) -> list[R]:
    dask = _distributed()
    client = _client(address)
    futures: list[Any] = []
    try:
        order = _largest_first(tasks)
        futures = client.map(fn, [tasks[i] for i in order], pure=False)
        index = {future.key: i for i, future in zip(order, futures, strict=True)}
        results: list[Any] = [None] * len(tasks)
        for future in dask.as_completed(futures, loop=client.loop):
            i = index[future.key]
            results[i] = future.result()
            if done is not None:
                done(i, results[i])
        return results
    except BaseException:
        if futures:
            client.cancel(futures)
        raise
    finally:
        client.close()
