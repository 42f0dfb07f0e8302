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
