"""The one statistical level of every test against theory, and the intervals built on it.

Every stochastic test compares a simulated statistic with its theory at LEVEL = 99.9%, with a
Student-t interval for means of a few replications, an exact binomial test for proportions, a normal
interval where the central limit theorem applies to thousands of draws, and p > 1 - LEVEL for
goodness-of-fit tests. No tolerance is widened by hand. The seeds in these tests were chosen once,
when each test was written, and are never tuned to make a test pass: a correct model fails any one
such test with probability at most 1 - LEVEL = 0.1%, whatever changes how random numbers are consumed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as scipy_stats

LEVEL = 0.999
ALPHA = 1 - LEVEL
Z = float(scipy_stats.norm.ppf(0.5 + LEVEL / 2))
"""Two-sided normal quantile at LEVEL (3.29)."""


def t_quantile(df: int) -> float:
    """Two-sided Student-t quantile at LEVEL."""
    return float(scipy_stats.t.ppf(0.5 + LEVEL / 2, df))


def t_interval(values: Sequence[float]) -> tuple[float, float]:
    """Student-t interval at LEVEL for the mean of ``values``."""
    x = np.asarray(values, dtype=float)
    half = t_quantile(x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean() - half), float(x.mean() + half)


def binomial_agrees(successes: int, trials: int, p: float) -> bool:
    """Whether ``successes`` of ``trials`` is consistent with probability ``p`` (exact two-sided test)."""
    return bool(scipy_stats.binomtest(successes, trials, p).pvalue > ALPHA)


def proportions_agree(a: int, n: int, b: int, m: int) -> bool:
    """Whether a/n and b/m may share one probability (Fisher's exact test)."""
    return bool(scipy_stats.fisher_exact([[a, n - a], [b, m - b]]).pvalue > ALPHA)


def fits(pvalue: float) -> bool:
    """A goodness-of-fit test passes at LEVEL."""
    return pvalue > ALPHA
