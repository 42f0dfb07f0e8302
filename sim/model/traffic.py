"""The traffic process: every workload's connection attempts, merged in time order.

The process wakes at the next attempt, then makes every attempt due before the next other SimPy event
(a sample, the end of warm-up, the end of the run) in one go, without a SimPy event each. Events stay
in time order; an attempt at exactly the time of another event comes after it. At equal times the
workload listed first attempts first.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, TypeVar

import simpy

from .recorder import TICK_MASK

D = TypeVar("D")


def traffic(
    env: simpy.Environment,
    streams: Sequence[tuple[D, Iterator[float]]],
    attempt: Callable[[D, float], object],
    every_tick: Callable[[float], None],
) -> Generator[simpy.events.Event, object, None]:
    """Attempt a connection for each (driver, time) of the merged ``streams``.

    ``every_tick(t)`` is called every TICK attempts, with the time of the attempt.
    """
    upcoming: list[tuple[float, int, Iterator[float]]] = []
    for i, (_, times) in enumerate(streams):
        first = next(times, None)
        if first is not None:
            upcoming.append((first, i, times))
    heapq.heapify(upcoming)
    drivers = [driver for driver, _ in streams]
    count = 0
    if len(upcoming) == 1:  # one workload: no merging needed
        t, i, times = upcoming[0]
        driver = drivers[i]
        while True:
            yield env.timeout(t - env.now)
            horizon = env.peek()
            while t < horizon:
                attempt(driver, t)
                count += 1
                if not count & TICK_MASK:
                    every_tick(t)
                following = next(times, None)
                if following is None:
                    return
                t = following
    yield from merged(env, upcoming, drivers, attempt, every_tick, count)


def merged(
    env: simpy.Environment,
    upcoming: list[tuple[float, int, Iterator[float]]],
    drivers: Sequence[D],
    attempt: Callable[[D, float], object],
    every_tick: Callable[[float], None],
    count: int = 0,
) -> Generator[simpy.events.Event, object, None]:
    """The attempts of several streams, ``upcoming`` holding (next time, stream index, times) of each
    (``count`` attempts made before)."""
    heapq.heapify(upcoming)
    while upcoming:
        yield env.timeout(upcoming[0][0] - env.now)
        horizon = env.peek()
        while upcoming and upcoming[0][0] < horizon:
            t, i, times = upcoming[0]
            attempt(drivers[i], t)
            count += 1
            if not count & TICK_MASK:  # fold buffers and report progress, however rare the samples
                every_tick(t)
            following = next(times, None)
            if following is None:
                heapq.heappop(upcoming)
            else:
                heapq.heapreplace(upcoming, (following, i, times))


def batched(
    env: simpy.Environment,
    batch: Any,
    drivers: Sequence[D],
    attempt: Callable[[D, float], object],
    every_tick: Callable[[float], None],
) -> Generator[simpy.events.Event, object, None]:
    """``traffic`` with the attempts of each wake-up made by the compiled path (``compiled.attach``), whose
    ``streams`` are set; the Python loop takes over where it hands over."""
    while True:
        t = batch.next_time()
        if t == math.inf:
            return
        yield env.timeout(t - env.now)
        batch.run(env.peek())
        if not batch.attached:  # handed over: the Python model makes the attempts from the next one on
            break
    yield from merged(env, batch.remaining(), drivers, attempt, every_tick, batch.count)
