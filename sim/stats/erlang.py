"""Erlang B: blocking of the M/G/N/N loss system, and its inverse."""

from __future__ import annotations

import functools


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability B(N, A) of an M/G/N/N loss system with offered load A (Erlangs).

    Uses the stable recursion B(0) = 1, B(n) = A·B(n-1) / (n + A·B(n-1)).
    """
    if servers < 0 or load < 0:
        raise ValueError("servers and load must be non-negative")
    b = 1.0
    for n in range(1, servers + 1):
        b = load * b / (n + load * b)
    return b


@functools.lru_cache(maxsize=256)
def erlang_b_load(servers: int, blocking: float, tolerance: float = 1e-4) -> float:
    """The offered load A at which B(servers, A) = ``blocking``, by bisection (relative tolerance)."""
    if not 0 < blocking < 1:
        raise ValueError("blocking must lie strictly between 0 and 1")
    low, high = 0.0, max(1.0, float(servers))
    while erlang_b(servers, high) < blocking:
        low, high = high, high * 2
    while high - low > tolerance * high:
        middle = (low + high) / 2
        if erlang_b(servers, middle) < blocking:
            low = middle
        else:
            high = middle
    return (low + high) / 2
