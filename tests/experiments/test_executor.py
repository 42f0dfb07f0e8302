"""The executor: the same results, in task order, in this process, on worker processes and on Dask."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from sim.config.errors import ScenarioError
from sim.config.scenario import Scenario
from sim.experiments.executor import Executor, _context
from sim.experiments.tasks import Task, run_summary


def _square(x: int) -> int:
    return x * x


def _slow_square(x: int) -> int:
    time.sleep(0.05 * (5 - x))  # later tasks finish first
    return x * x


def test_results_come_back_in_task_order_whatever_the_order_of_completion() -> None:
    heard: list[tuple[int, int]] = []
    results = Executor(workers=2).map(_slow_square, [1, 2, 3, 4], lambda i, r: heard.append((i, r)))
    assert results == [1, 4, 9, 16]
    assert sorted(heard) == [(0, 1), (1, 4), (2, 9), (3, 16)]


def test_one_worker_runs_in_this_process_in_order() -> None:
    heard: list[int] = []
    assert Executor(workers=1).map(_square, [3, 1, 2], lambda i, r: heard.append(i)) == [9, 1, 4]
    assert heard == [0, 1, 2]


def test_no_tasks_no_work() -> None:
    assert Executor(workers=2).map(_square, []) == []


def test_worker_processes_give_the_same_summaries_bit_for_bit(make_scenario: Callable[..., Scenario]) -> None:
    tasks = [Task(make_scenario(duration=30.0), r) for r in range(3)]
    here = Executor(workers=1).map(run_summary, tasks)
    there = Executor(workers=2).map(run_summary, tasks)
    assert [s.model_dump(exclude={"wall_time_s"}) for s in here] == [
        s.model_dump(exclude={"wall_time_s"}) for s in there
    ]


def test_a_worker_error_reaches_the_caller(make_scenario: Callable[..., Scenario]) -> None:
    with pytest.raises(ZeroDivisionError):
        Executor(workers=2).map(_reciprocal, [1, 0, 2])


def _reciprocal(x: int) -> float:
    return 1 / x


def test_fork_only_without_other_threads() -> None:
    for _ in range(20):  # another test's thread may end while we look: decide only on a steady count
        before = threading.active_count()
        method = _context().get_start_method()
        if threading.active_count() == before:
            break
        time.sleep(0.05)
    assert method == ("fork" if before == 1 else "forkserver")
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert _context().get_start_method() == "forkserver"
    finally:
        stop.set()
        thread.join()


@pytest.mark.parametrize(("workers", "problem"), [(0, "between 1 and 1024"), (5000, "between 1 and 1024")])
def test_bad_worker_counts(workers: int, problem: str) -> None:
    with pytest.raises(ScenarioError, match=problem):
        Executor(workers=workers)


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("nonsense", "not a scheduler address"),
        ("tcp://host:port", "not a scheduler address"),
        ("tcp://127.0.0.1:9", "no Dask scheduler answers there"),
    ],
)
def test_a_bad_scheduler_is_one_line_within_ten_seconds(address: str, problem: str) -> None:
    started = time.monotonic()
    with pytest.raises(ScenarioError, match=problem) as caught:
        Executor(scheduler=address).check()
    assert time.monotonic() - started < 10
    assert "\n" not in str(caught.value)


def test_a_dask_cluster_gives_the_same_summaries(make_scenario: Callable[..., Scenario]) -> None:
    distributed = pytest.importorskip("distributed")
    tasks = [Task(make_scenario(duration=30.0), r) for r in range(3)]
    here = Executor(workers=1).map(run_summary, tasks)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        heard: list[int] = []
        there = Executor(scheduler=cluster.scheduler_address).map(run_summary, tasks, lambda i, r: heard.append(i))
    assert sorted(heard) == [0, 1, 2]
    assert [s.model_dump(exclude={"wall_time_s"}) for s in here] == [
        s.model_dump(exclude={"wall_time_s"}) for s in there
    ]


@pytest.mark.parametrize("reply", [b"", b"HTTP/1.0 400 Bad Request\r\n\r\n", b"\xff" * 64])
def test_a_server_that_is_not_dask_is_one_line_within_ten_seconds(reply: bytes) -> None:
    """A web server, a silent service or one that sends garbage (a misread frame length once asked for exabytes)."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        held = []
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            if reply:
                conn.sendall(reply)
            held.append(conn)  # keep it open: a silent peer must not hang the caller
        for conn in held:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(ScenarioError, match="no Dask scheduler answers there") as caught:
            Executor(scheduler=f"tcp://127.0.0.1:{port}").check()
    finally:
        stop.set()
        thread.join()
        listener.close()
    assert time.monotonic() - started < 10
    assert "\n" not in str(caught.value)
