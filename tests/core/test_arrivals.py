"""Arrival processes and duration distributions: exact behaviour and agreement with theory."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from scipy import stats as scipy_stats

from sim.core.arrivals import ARRIVALS, Arrivals, Constant, OnOff, Poisson
from sim.core.durations import DURATIONS, Duration, Exponential, Fixed, Lognormal, Pareto, Uniform
from tests.theory import Z, fits


def assert_mean_in_ci(sample: np.ndarray, mean: float, variance: float) -> None:
    """The sample mean lies in the 99.9% confidence band around the true mean (central limit theorem)."""
    half = Z * math.sqrt(variance / sample.size)
    assert abs(sample.mean() - mean) < half, (sample.mean(), mean, half)


@pytest.mark.parametrize(
    ("dist", "variance"),
    [
        (Exponential(mean=2.0), 4.0),
        (Lognormal(mean=1.0, sigma=0.5), math.exp(0.25) - 1),
        (Uniform(low=1.0, high=3.0), 4 / 12),
        (Pareto(shape=5.0, scale=1.0), 5 / (16 * 3)),
        (Pareto(shape=5.0, mean=2.0), (1.6**2) * 5 / (16 * 3)),
    ],
    ids=repr,
)
def test_duration_sample_mean_matches_expected(dist: Duration, variance: float) -> None:
    sample = dist.sample(np.random.default_rng(11), 200_000)
    assert_mean_in_ci(sample, dist.expected, variance)
    assert (sample >= 0).all()


def test_fixed_is_fixed() -> None:
    assert Fixed(value=0.25).sample(np.random.default_rng(0), 5).tolist() == [0.25] * 5


def test_pareto_minimum_and_mean() -> None:
    p = Pareto(shape=2.0, mean=3.0)
    assert p.minimum == 1.5
    assert p.expected == 3.0
    assert p.sample(np.random.default_rng(1), 10_000).min() >= 1.5


def test_lognormal_shape_matches_theory() -> None:
    d = Lognormal(mean=1.0, sigma=1.0)
    sample = d.sample(np.random.default_rng(4), 50_000)
    result = scipy_stats.kstest(np.log(sample), "norm", args=(-0.5, 1.0))  # mu = ln(mean) - sigma^2/2
    assert fits(result.pvalue)


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (Uniform, {"low": 3.0, "high": 1.0}, "greater than high"),
        (Pareto, {"shape": 2.0}, "exactly one"),
        (Pareto, {"shape": 2.0, "scale": 1.0, "mean": 2.0}, "exactly one"),
        (Pareto, {"shape": 1.0, "scale": 1.0}, "greater than 1"),
        (Exponential, {"mean": 0.0}, "greater than 0"),
        (Fixed, {"value": -1.0}, "greater than or equal to 0"),
    ],
)
def test_invalid_distributions_are_rejected(cls: type[Duration], kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        cls(**kwargs)


def test_reprs_read_like_the_call() -> None:
    assert repr(Exponential(mean=1.0)) == "Exponential(mean=1.0)"
    assert repr(Pareto(shape=2.5, mean=1.0)) == "Pareto(shape=2.5, mean=1.0)"
    assert repr(Poisson(rate=300)) == "Poisson(rate=300.0)"
    assert repr(OnOff(rate=5, mean_on=1, mean_off=2)) == "OnOff(rate=5.0, mean_on=1.0, mean_off=2.0)"


def test_registries_know_every_kind() -> None:
    assert set(DURATIONS) == {"fixed", "exponential", "lognormal", "uniform", "pareto"}
    assert set(ARRIVALS) == {"poisson", "constant", "onoff"}


def test_constant_arrivals_are_exact() -> None:
    times = list(itertools.islice(Constant(interval=0.5).times(np.random.default_rng(0), 10.0, 100.0), 4))
    assert times == [10.5, 11.0, 11.5, 12.0]


def test_poisson_gaps_are_exponential() -> None:
    rate = 40.0
    times = np.fromiter(itertools.islice(Poisson(rate=rate).times(np.random.default_rng(2), 0.0, 1e9), 100_000), float)
    gaps = np.diff(times, prepend=0.0)
    assert (gaps > 0).all()
    assert_mean_in_ci(gaps, 1 / rate, 1 / rate**2)
    assert fits(scipy_stats.kstest(gaps, "expon", args=(0, 1 / rate)).pvalue)


def test_onoff_long_run_rate() -> None:
    spec = OnOff(rate=100.0, mean_on=1.0, mean_off=3.0)
    horizon = 20_000.0
    rng = np.random.default_rng(9)
    count = sum(1 for _ in spec.times(rng, 0.0, horizon))
    # Counts of an interrupted Poisson process over a long horizon T have mean rate_mean*T and variance
    # rate_mean*T*IDC, with the asymptotic index of dispersion of an MMPP-2 whose off rate is zero:
    # IDC = 1 + 2*r_on*r_off*rate^2 / ((r_on + r_off)^2 * rate*r_off) = 1 + 2*rate*p_off^2*mean_on.
    p_off = 0.75
    mean = spec.mean_rate * horizon
    dispersion = 1 + 2 * spec.rate * p_off**2 * spec.mean_on
    half = Z * math.sqrt(mean * dispersion)
    assert spec.mean_rate == 25.0
    assert abs(count - mean) < half, (count, mean, half)


@pytest.mark.parametrize(
    ("spec", "stop"),
    [
        (Poisson(rate=1e-6), 10.0),
        (Constant(interval=1e6), 10.0),
        (OnOff(rate=1e-6, mean_on=1e-6, mean_off=1.0), 10.0),
        (OnOff(rate=1e-6, mean_on=1e-6, mean_off=1e-6), 0.05),
        (OnOff(rate=1e3, mean_on=1.0, mean_off=1.0), 10.0),
    ],
    ids=repr,
)
def test_every_arrival_process_ends_at_its_stop(spec: Arrivals, stop: float) -> None:
    """A process that yields nothing still reaches its stop time (the on/off hang of issue 7, defect 6)."""
    times = list(spec.times(np.random.default_rng(3), 0.0, stop))
    assert all(0.0 <= t < stop for t in times)
    assert times == sorted(times)
