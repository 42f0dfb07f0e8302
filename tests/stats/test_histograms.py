"""Streaming histograms: exact integer counts and log-binned reals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.stats.histograms import IntHistogram, LogHistogram


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


def test_int_histograms_grow_and_add_across_flushes() -> None:
    h = IntHistogram()
    for value in (3, 70, 3):
        h.add(value)
    h.flush()
    h.add(3)
    h.add(200)
    h.flush()
    h.add_many(np.array([70, 300]))
    h.add_many(np.array([3]))
    assert h.counts.size == 301
    assert (h.counts[3], h.counts[70], h.counts[200], h.counts[300]) == (4, 2, 1, 1)
    assert h.n == 8
    assert h.quantile(0.5) == 3  # the fourth of eight values, by the lower order statistic
    assert h.quantile(0.51) == 70


def test_log_histograms_accumulate_and_forget() -> None:
    h = LogHistogram(lo=-1, hi=1, per_decade=10)
    assert h.min() is None
    h.add(0.01)  # below the first edge
    h.flush()
    h.add(2.0)
    h.flush()
    assert h.n == 2
    assert h.mean() == pytest.approx(1.005)
    assert h.min() == 0.01
    assert h.quantile(0.25) == 0.01  # in the bin below the first edge: the exact minimum
    h.clear()
    assert (h.n, h.total, h.min()) == (0, 0.0, None)
    h.add(0.5)
    h.flush()
    assert h.mean() == 0.5
    below = LogHistogram(lo=-1, hi=1, per_decade=10)
    below.add(0.1)  # exactly the first edge: inside the first inner bin
    below.add(0.2)
    below.flush()
    assert below.counts[0] == 0
    assert below.quantile(0.0) == pytest.approx(0.1)
    assert 0.1 < below.quantile(0.75) < 0.2 * 10 ** (1 / 10)


def test_counts_stay_integers_when_the_histograms_grow() -> None:
    """The counts are written to histograms.json: integers, also after an IntHistogram grows past 64."""
    h = IntHistogram()
    h.add(100)
    h.flush()
    h.add_many(np.array([500]))
    assert h.counts.dtype.kind == "i"
    assert h.counts.size == 501
    reuse = LogHistogram()
    reuse.add(1.0)
    reuse.flush()
    assert reuse.counts.dtype.kind == "i"


def test_log_histogram_has_100_bins_per_decade_by_default() -> None:
    """README, histograms.json: reuse intervals in log bins, 100 per decade."""
    edges = LogHistogram().edges
    assert edges[100] / edges[0] == pytest.approx(10.0)
    assert np.diff(np.log10(edges)) == pytest.approx(0.01)


def test_log_histogram_quantiles_interpolate_geometrically_inside_their_bin() -> None:
    """One bin per decade, edges 1, 10, 100: the median of values inside [1, 10) is sqrt(1 * 10);
    inside [10, 100) it is sqrt(10 * 100)."""
    h = LogHistogram(lo=0, hi=2, per_decade=1)
    for v in (2.0, 3.0, 4.0, 5.0):
        h.add(v)
    assert h.quantile(0.5) == pytest.approx(10**0.5)
    h.clear()
    for v in (20.0, 30.0):
        h.add(v)
    assert h.quantile(0.5) == pytest.approx(10**1.5)
