"""Streaming statistics and the Erlang B formula."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.stats.erlang import erlang_b
from sim.stats.histograms import IntHistogram, LogHistogram
from sim.stats.intervals import mean_ci


def erlang_b_direct(n: int, a: float) -> float:
    """The textbook formula with factorials, for small n only."""
    terms = [a**k / math.factorial(k) for k in range(n + 1)]
    return terms[-1] / sum(terms)


@pytest.mark.parametrize(("n", "a"), [(1, 0.5), (1, 3.0), (5, 2.0), (12, 10.0), (30, 25.0), (64, 44.2)])
def test_erlang_b_matches_the_direct_formula(n: int, a: float) -> None:
    assert erlang_b(n, a) == pytest.approx(erlang_b_direct(n, a), rel=1e-12)


def test_erlang_b_reference_values() -> None:
    # domain.md section 8: B(N, N) for the IANA and Linux pool sizes; Ciw's check B(12, 10) = 0.1197
    assert erlang_b(16384, 16384) == pytest.approx(0.0062, abs=5e-5)
    assert erlang_b(28232, 28232) == pytest.approx(0.0047, abs=5e-5)
    assert erlang_b(28232, 28232) == pytest.approx(math.sqrt(2 / (math.pi * 28232)), rel=0.01)
    assert erlang_b(12, 10) == pytest.approx(0.1197, abs=5e-5)
    assert erlang_b(0, 5.0) == 1.0
    assert erlang_b(10, 0.0) == 0.0


def test_erlang_b_rejects_negative_input() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        erlang_b(-1, 1.0)


@given(st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=500))
@settings(max_examples=60, deadline=None)
def test_int_histogram_is_exact(values: list[int]) -> None:
    h = IntHistogram()
    for v in values:
        h.add(v)
    assert h.n == len(values)
    assert h.mean() == pytest.approx(np.mean(values))
    assert h.max() == max(values)
    for q in (0.01, 0.5, 0.99, 1.0):
        assert h.quantile(q) == np.quantile(values, q, method="inverted_cdf")


def test_int_histogram_empty_and_clear() -> None:
    h = IntHistogram()
    assert (h.n, h.mean(), h.quantile(0.5), h.max()) == (0, None, None, None)
    h.add(3)
    h.clear()
    assert h.n == 0


def test_log_histogram_quantiles_within_bin_resolution() -> None:
    rng = np.random.default_rng(3)
    values = rng.lognormal(0.0, 2.0, 50_000)
    h = LogHistogram(per_decade=100)
    for v in values.tolist():
        h.add(v)
    resolution = 10 ** (1 / 100) - 1  # relative width of one bin
    for q in (0.01, 0.1, 0.5, 0.9):
        assert h.quantile(q) == pytest.approx(np.quantile(values, q), rel=resolution)
    assert h.min() == values.min()
    assert h.mean() == pytest.approx(values.mean(), rel=1e-12)
    assert h.n == values.size


def test_log_histogram_keeps_zero_and_huge_values() -> None:
    h = LogHistogram(lo=-3, hi=3)
    for v in (0.0, 0.0, 5.0, 1e9):
        h.add(v)
    h.flush()
    assert h.counts[0] == 2
    assert h.counts[-1] == 1
    assert h.min() == 0.0
    assert h.quantile(0.25) == 0.0
    assert h.quantile(1.0) == pytest.approx(1e3)


def test_mean_ci_uses_student_t() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    mean, low, high = mean_ci(values)
    half = 3.182446305284263 * np.std(values, ddof=1) / 2  # t(0.975, 3) = 3.1824
    assert mean == 2.5
    assert (low, high) == pytest.approx((2.5 - half, 2.5 + half))
    single = mean_ci([7.0])
    assert single[0] == 7.0
    assert math.isnan(single[1])


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
