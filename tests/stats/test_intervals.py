"""Confidence intervals of means across replications."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.stats.intervals import mean_ci


def test_mean_ci_uses_student_t() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    mean, low, high = mean_ci(values)
    half = 3.182446305284263 * np.std(values, ddof=1) / 2  # t(0.975, 3) = 3.1824
    assert mean == 2.5
    assert (low, high) == pytest.approx((2.5 - half, 2.5 + half))
    single = mean_ci([7.0])
    assert single[0] == 7.0
    assert math.isnan(single[1])


def test_two_values_give_a_finite_interval_and_none_an_error() -> None:
    mean, low, high = mean_ci([1.0, 3.0])
    half = 12.706204736174696 * math.sqrt(2.0) / math.sqrt(2)  # t(0.975, 1)
    assert (mean, low, high) == pytest.approx((2.0, 2.0 - half, 2.0 + half))
    with pytest.raises(ValueError, match=r"^no values$"):
        mean_ci([])
