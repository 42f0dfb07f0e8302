"""The traffic process: attempts merged in time order, ties broken by workload order, after other events."""

from __future__ import annotations

from collections.abc import Generator

import pytest
import simpy

from sim.model.recorder import TICK
from sim.model.traffic import traffic


def run(streams: list[tuple[str, list[float]]], marks: tuple[float, ...] = ()) -> list[tuple[str, float]]:
    """The (who, when) order of attempts, with SimPy events at ``marks`` recorded as ("mark", t)."""
    env = simpy.Environment()
    seen: list[tuple[str, float]] = []

    def marker() -> Generator[simpy.events.Event, object, None]:
        for t in marks:
            yield env.timeout(t - env.now)
            seen.append(("mark", env.now))

    env.process(marker())  # created first, as the model's sampler is
    env.process(
        traffic(
            env, [(who, iter(times)) for who, times in streams], lambda w, t: seen.append((w, t)) or 0, lambda t: None
        )
    )
    env.run(until=100)
    return seen


def test_one_workload_keeps_its_order_and_comes_after_other_events_at_the_same_time() -> None:
    assert run([("a", [1.0, 2.0, 2.0, 3.0])], marks=(2.0,)) == [
        ("a", 1.0),
        ("mark", 2.0),
        ("a", 2.0),
        ("a", 2.0),
        ("a", 3.0),
    ]


def test_ties_between_workloads_go_to_the_one_listed_first() -> None:
    order = run([("a", [1.0, 2.0, 4.0]), ("b", [1.0, 2.0, 3.0]), ("c", [2.0])], marks=(2.0,))
    assert order == [
        ("a", 1.0),
        ("b", 1.0),
        ("mark", 2.0),
        ("a", 2.0),
        ("b", 2.0),
        ("c", 2.0),
        ("b", 3.0),
        ("a", 4.0),
    ]
    reversed_order = run([("b", [1.0, 2.0, 3.0]), ("a", [1.0, 2.0, 4.0])])
    assert [who for who, t in reversed_order if t in (1.0, 2.0)] == ["b", "a", "b", "a"]


@pytest.mark.parametrize("n_streams", [1, 2])
def test_every_flush_attempts_the_callback_runs_with_the_time_reached(n_streams: int) -> None:
    env = simpy.Environment()
    times = [i * 1e-3 for i in range(1, TICK * 2 + 10)]
    streams = [("a", iter(times))] + ([("b", iter([50.0]))] if n_streams == 2 else [])
    flushed: list[float] = []
    env.process(traffic(env, streams, lambda w, t: 0, flushed.append))
    env.run(until=1000)
    merged = sorted([*times, 50.0] if n_streams == 2 else times)
    assert flushed == [merged[TICK - 1], merged[2 * TICK - 1]]
