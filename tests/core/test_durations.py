"""Connection durations: ``capped`` (the mean time open under an idle timeout) against the distributions' draws.

Each closed form is checked against 400,000 draws at a 99.9% confidence level (3.29 standard errors).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.core.durations import Duration, Exponential, Fixed, Lognormal, Pareto, Uniform

Z999 = 3.29
DRAWS = 400_000

LAWS: list[Duration] = [
    Fixed(value=3.0),
    Exponential(mean=5.0),
    Lognormal(mean=5.0, sigma=1.2),
    Uniform(low=1.0, high=9.0),
    Pareto(shape=1.5, mean=5.0),
    Pareto(shape=3.0, scale=2.0),
]


@pytest.mark.parametrize("law", LAWS, ids=lambda law: repr(law))
@pytest.mark.parametrize("cap", [0.5, 2.0, 3.0, 4.0, 12.0, 60.0])
def test_capped_is_the_mean_of_the_draws_cut_at_the_cap(law: Duration, cap: float) -> None:
    d = law.sample(np.random.default_rng(11), DRAWS)
    cut = np.minimum(d, cap)
    ended = d <= cap
    mean_open, share = law.capped(cap)
    assert abs(mean_open - cut.mean()) <= Z999 * max(cut.std(), 1e-12) / math.sqrt(DRAWS)
    p = ended.mean()
    assert abs(share - p) <= Z999 * max(math.sqrt(p * (1 - p)), 1e-12) / math.sqrt(DRAWS)


@pytest.mark.parametrize("law", LAWS, ids=lambda law: repr(law))
def test_without_a_cap_it_is_the_mean(law: Duration) -> None:
    assert law.capped(math.inf) == pytest.approx((law.expected, 1.0))
    assert law.capped(1e12)[0] == pytest.approx(law.expected, rel=1e-4)


def test_capped_by_hand() -> None:
    assert Exponential(mean=5.0).capped(4.0) == pytest.approx((5 * (1 - math.exp(-0.8)), 1 - math.exp(-0.8)))
    assert Uniform(low=0.0, high=10.0).capped(5.0) == pytest.approx((3.75, 0.5))  # half end by 2.5, half last 5
    assert Uniform(low=2.0, high=2.0).capped(1.0) == (1.0, 0.0)
    assert Fixed(value=4.0).capped(4.0) == (4.0, 1.0)  # a close at the timeout's instant comes first
    assert Pareto(shape=2.0, scale=1.0).capped(2.0) == pytest.approx((1.5, 0.75))  # 1 + integral of 1/x^2 from 1 to 2
