"""What a run records about its attempts, folded in bulk."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model.recorder import Recorder


def fold_as_defined(
    n_sources: int,
    n_dests: int,
    size: int,
    connections: list[tuple[int, int, int, bool]],
    walk: Callable[..., Any] | None = None,
    sizes: list[int] | None = None,
) -> Recorder:
    """A recorder given ``connections`` (source, destination, port offset, fold after it), checked against the
    per-connection definition of reuse distances and increments, per destination; folded by numpy, or by the
    compiled kernel ``walk``; ``sizes``: each source's range size (offsets must fit), else ``size``."""
    recorder = Recorder(1, n_dests, n_sources, size, sizes)
    if walk is not None:
        recorder.walk_with(walk)
    distances: list[list[int]] = [[] for _ in range(n_dests)]
    steps = np.zeros((n_dests, size), dtype=np.int64)
    last_use: dict[tuple[int, int, int], int] = {}
    count: dict[tuple[int, int], int] = {}
    previous: dict[tuple[int, int], int] = {}
    for src, dst, offset, fold in connections:
        recorder.connected(0, dst, 1, 0.5, -1.0, src, offset, 1)
        c = count.get((src, dst), 0)
        if (src, dst, offset) in last_use:
            distances[dst].append(c - last_use[(src, dst, offset)])
        last_use[(src, dst, offset)] = c
        count[(src, dst)] = c + 1
        if (src, dst) in previous:
            steps[dst, (offset - previous[(src, dst)]) % (size if sizes is None else sizes[src])] += 1
        previous[(src, dst)] = offset
        if fold:
            recorder.fold()  # folds at arbitrary points must not change anything
    recorder.fold()
    for dst in range(n_dests):
        got = recorder.reuse_distance[dst].counts
        np.testing.assert_array_equal(got, np.bincount(np.array(distances[dst], dtype=np.int64), minlength=got.size))
        increments = recorder.increments[dst]
        if not steps[dst].any():
            assert increments is None or not increments.any()
        else:
            assert increments is not None
            np.testing.assert_array_equal(increments, steps[dst])
    return recorder


def test_recorder_folds_predictability_exactly() -> None:
    """Reuse distances and increments computed in bulk equal the per-connection definition."""
    size, n_dests = 50, 3
    rng = np.random.default_rng(8)
    connections = [
        (int(rng.integers(2)), int(rng.integers(n_dests)), int(rng.integers(size)), k % 737 == 0) for k in range(3000)
    ]
    recorder = fold_as_defined(2, n_dests, size, connections)
    assert recorder.occupancy_attempts[50] == 3000


@given(
    st.integers(1, 5),
    st.integers(1, 3),
    st.integers(1, 40),
    st.lists(st.tuples(st.integers(0, 10**6), st.booleans()), max_size=300),
)
@settings(max_examples=200, deadline=None)
def test_the_bulk_fold_equals_the_per_connection_definition(
    n_sources: int, n_dests: int, size: int, draws: list[tuple[int, bool]]
) -> None:
    """Any sources, destinations, range and fold points: the vectorised fold over every pair at once counts the
    same reuse distances and increments, per destination, as one connection at a time."""
    connections = [
        (x % n_sources, x // n_sources % n_dests, x // (n_sources * n_dests) % size, fold) for x, fold in draws
    ]
    fold_as_defined(n_sources, n_dests, size, connections)


def test_each_attempt_is_counted_for_its_workload_and_destination() -> None:
    from sim.model.recorder import Recorder

    recorder = Recorder(2, 3, 1, 10)
    recorder.connected(0, 2, 1, 0.5, 0.0, 0, 3, 4)  # a 4-tuple reused the instant it was freed
    recorder.connected(1, 1, 2, 0.25, -1.0, 0, 4, 2)  # a first use: no reuse interval
    recorder.failed(1, 2, 10, 1.0, 7.5)
    recorder.failed(1, 0, 10, 1.0, 8.0)
    assert (recorder.attempts, recorder.established, recorder.failures) == ([1, 3], [1, 1], [0, 2])
    assert recorder.dest_attempts == [1, 1, 2]
    assert recorder.dest_established == [0, 1, 1]
    assert recorder.dest_failures == [1, 0, 1]
    assert recorder.first_failure == [None, 7.5]
    assert recorder.peak_ports == 4
    assert recorder.reuse.n == 1
    assert recorder.reuse.min() == 0.0
    recorder.fold()
    assert recorder.probes.counts[:11].tolist() == [0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    occupied = np.flatnonzero(recorder.occupancy_attempts).tolist()
    assert occupied == [25, 50, 100]  # one bin per percent, 100% included
    assert recorder.occupancy_probes[[25, 50, 100]].tolist() == [2, 1, 20]
    recorder.failed(0, 0, 3, 1.0, 9.0)
    recorder.fold()  # a second fold adds to the first
    assert recorder.occupancy_probes[100] == 23
    assert recorder.occupancy_attempts[100] == 3


def test_the_window_counts_from_its_start() -> None:
    from sim.model.recorder import Recorder

    recorder = Recorder(1, 2, 1, 10)
    for _ in range(3):
        recorder.connected(0, 1, 1, 0.5, 1.0, 0, 2, 3)
    recorder.start_window(5.0, ports_in_use=2)
    assert recorder.occupancy_attempts.sum() == 0
    assert recorder.occupancy_probes.sum() == 0
    assert recorder.reuse.n == 0
    assert recorder.peak_ports == 2
    recorder.failed(0, 0, 4, 0.9, 6.0)
    assert recorder.counted("attempts") == [1]
    assert recorder.counted("dest_attempts") == [1, 0]
    assert recorder.counted("dest_established") == [0, 0]


def test_samples_record_every_level_and_fold_only_above_the_threshold() -> None:
    from sim.model.recorder import Recorder

    recorder = Recorder(1, 1, 1, 10)
    recorder.connected(0, 0, 1, 0.0, 0.5, 0, 1, 1)
    recorder.connected(0, 0, 1, 0.0, 0.5, 0, 2, 2)
    recorder.flush(2)  # two buffered, not more than two: left buffered
    assert recorder.probes.counts.sum() == 0
    assert recorder.reuse.counts.sum() == 0
    recorder.flush(1)
    assert recorder.probes.n == 2
    assert recorder.reuse.n == 2
    recorder.sample(1.0, 5, 6, 7, 8)
    assert {k: v[-1] for k, v in recorder.series.items()} == {
        "time_s": 1.0,
        "established": 5,
        "time_wait": 6,
        "fin_wait2": 7,
        "ports_in_use": 8,
        "attempts": 2,
        "failures": 0,
    }


def test_increments_continue_across_folds_from_offset_zero() -> None:
    """The port before a fold is the previous port of the first one after it, even at offset 0."""
    from sim.model.recorder import Recorder

    recorder = Recorder(1, 1, 1, 10)
    recorder.connected(0, 0, 1, 0.0, -1.0, 0, 0, 1)
    recorder.fold()
    recorder.connected(0, 0, 1, 0.0, -1.0, 0, 5, 1)
    recorder.fold()
    increments = recorder.increments[0]
    assert increments is not None
    assert np.flatnonzero(increments).tolist() == [5]
    recorder.connected(0, 0, 1, 0.0, -1.0, 0, 0, 1)
    recorder.fold()
    assert recorder.reuse_distance[0].counts[2] == 1  # offset 0 again, two connections later


def test_each_source_steps_modulo_its_own_range() -> None:
    """A fleet's host groups may have ranges of their own: a step wraps at its source's range, not the largest."""
    recorder = Recorder(1, 1, 2, 20, sizes=[10, 20])
    for src, offset in [(0, 9), (1, 19), (0, 0), (1, 0)]:
        recorder.connected(0, 0, 1, 0.0, -1.0, src, offset, 1)
    recorder.fold()
    increments = recorder.increments[0]
    assert increments is not None
    assert increments.size == 20
    assert np.flatnonzero(increments).tolist() == [1]  # 9 -> 0 on a 10-port range, 19 -> 0 on a 20-port one
    assert increments[1] == 2


def test_per_destination_counters_add_up_in_any_order() -> None:
    from sim.model.recorder import Recorder

    recorder = Recorder(1, 2, 1, 10)
    recorder.failed(0, 1, 10, 1.0, 1.0)
    recorder.failed(0, 1, 10, 1.0, 2.0)
    recorder.connected(0, 1, 1, 0.5, -1.0, 0, 3, 1)
    recorder.connected(0, 1, 1, 0.5, -1.0, 0, 4, 2)
    recorder.connected(0, 0, 1, 0.5, -1.0, 0, 5, 3)
    assert recorder.dest_attempts == [1, 4]
    assert recorder.dest_established == [1, 2]
    assert recorder.dest_failures == [0, 2]


def test_without_a_window_everything_counts_from_time_zero() -> None:
    """No warm-up, so no start_window: the window is the whole run and the peak starts from nothing."""
    from sim.model.recorder import Recorder

    recorder = Recorder(1, 1, 1, 10)
    assert recorder.window_start == 0.0
    recorder.failed(0, 0, 10, 1.0, 3.0)
    assert recorder.peak_ports == 0  # no port was ever held
    assert recorder.counted("failures") == [1]


def test_a_final_flush_folds_even_a_single_buffered_attempt() -> None:
    from sim.model.recorder import Recorder

    recorder = Recorder(1, 1, 1, 10)
    recorder.connected(0, 0, 3, 0.5, 2.0, 0, 1, 1)
    recorder.flush()
    assert recorder.probes.n == 1
    assert recorder.probes.max() == 3
    assert recorder.occupancy_attempts[50] == 1


def test_occupancy_counts_are_integers() -> None:
    """histograms.json lists the counts: they must stay integers (3, not 3.0)."""
    from sim.model.recorder import Recorder

    recorder = Recorder(1, 1, 1, 10)
    for k in range(3):
        recorder.connected(0, 0, 2, 0.25, -1.0, 0, k, 1)
    recorder.fold()
    assert recorder.occupancy_attempts.dtype.kind == "i"
    assert recorder.occupancy_probes.dtype.kind == "i"
    assert recorder.occupancy_attempts.tolist()[25] == 3
    assert recorder.occupancy_probes.tolist()[25] == 6


@given(st.lists(st.integers(0, 2**62), min_size=1, max_size=200), st.integers(1, 6))
@settings(max_examples=200, deadline=None)
def test_the_stable_order_is_numpys_stable_argsort(values: list[int], spread: int) -> None:
    """Few distinct keys (ties) or huge ones (past the position trick's range, sorted the plain stable way)."""
    from sim.model.recorder import _stable_order

    keys = np.array([v % spread if v % 2 else v for v in values], dtype=np.int64)
    np.testing.assert_array_equal(_stable_order(keys, keys.size), np.argsort(keys, kind="stable"))
