"""What a run records about its attempts, folded in bulk."""

from __future__ import annotations

import numpy as np


def test_recorder_folds_predictability_exactly() -> None:
    """Reuse distances and increments computed in bulk equal the per-connection definition."""
    from sim.model.recorder import Recorder

    size, n_dests = 50, 2
    rng = np.random.default_rng(8)
    recorder = Recorder(1, n_dests, 2, size)
    expected_distances: list[list[int]] = [[], []]
    expected_steps = np.zeros((n_dests, size), dtype=np.int64)
    last_use: dict[tuple[int, int, int], int] = {}
    count: dict[tuple[int, int], int] = {}
    previous: dict[tuple[int, int], int] = {}
    for k in range(3000):
        src, dst, offset = int(rng.integers(2)), int(rng.integers(n_dests)), int(rng.integers(size))
        recorder.connected(0, dst, 1, 0.5, -1.0, src, offset, 1)
        c = count.get((src, dst), 0)
        if (src, dst, offset) in last_use:
            expected_distances[dst].append(c - last_use[(src, dst, offset)])
        last_use[(src, dst, offset)] = c
        count[(src, dst)] = c + 1
        if (src, dst) in previous:
            expected_steps[dst, (offset - previous[(src, dst)]) % size] += 1
        previous[(src, dst)] = offset
        if k % 737 == 0:
            recorder.fold()  # folds at arbitrary points must not change anything
    recorder.fold()
    for dst in range(n_dests):
        counts = np.bincount(expected_distances[dst], minlength=recorder.reuse_distance[dst].counts.size)
        np.testing.assert_array_equal(recorder.reuse_distance[dst].counts, counts)
        np.testing.assert_array_equal(recorder.increments[dst], expected_steps[dst])
    assert recorder.occupancy_attempts[50] == 3000
