"""Erlang B: the stable recursion against the textbook formula, and its inverse."""

from __future__ import annotations

import math

import pytest

from sim.stats.erlang import erlang_b


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
