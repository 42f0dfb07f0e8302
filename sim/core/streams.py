"""Random streams: one independent numpy ``Generator`` per model component, drawn from in batches.

A run has one seed. Each component (a workload's arrivals, its durations, its destination and source
choice; the allocation policy) gets its own stream derived with ``SeedSequence`` from (seed,
replication, component name), so the same seed gives the same run and adding a component does not
change the numbers the others draw.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any

import numpy as np

BATCH = 4096
"""How many random numbers a sampler draws from numpy at a time."""


def component_rng(seed: int, replication: int, name: str) -> np.random.Generator:
    """The independent random stream of one model component."""
    key = (replication, zlib.crc32(name.encode()))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _endless(draw: Callable[[], list[Any]]) -> Iterator[Any]:
    """The items of ``draw()``, called again each time its last list runs out: iterated in C (``itertools``), so
    taking one item costs no Python frame."""
    return chain.from_iterable(iter(draw, None))


def batched(draw: Callable[[int], np.ndarray]) -> Iterator[float]:
    """Yield floats forever from ``draw(BATCH)``, one batch at a time."""
    return _endless(lambda: draw(BATCH).tolist())


def random_ints(rng: np.random.Generator, high: int) -> Iterator[int]:
    """Endless uniform integers in ``[0, high)``, drawn in batches."""
    return _endless(lambda: rng.integers(0, high, BATCH).tolist())


def fleet_sources(
    hosts: np.random.Generator | None, count: int, first: int, per_host: int, addresses: np.random.Generator | None
) -> Iterator[int]:
    """Endless source indexes ``first + h * per_host + a``: ``h`` uniform in ``[0, count)`` drawn from ``hosts``
    (0 when None), ``a`` uniform in ``[0, per_host)`` from ``addresses`` (0 when None); each stream drawn in batches,
    so the same numbers as ``random_ints`` on each."""

    def draw() -> list[int]:
        h = hosts.integers(0, count, BATCH) if hosts is not None else np.zeros(BATCH, dtype=np.int64)
        a = addresses.integers(0, per_host, BATCH) if addresses is not None else 0
        sources: list[int] = (first + h * per_host + a).tolist()
        return sources

    return _endless(draw)


def weighted_choices(rng: np.random.Generator, values: list[int], probabilities: list[float]) -> Iterator[int]:
    """Endless draws of ``values`` with the given ``probabilities`` (normalised again here), in batches."""
    p = np.asarray(probabilities, dtype=float)
    p = p / p.sum()
    return _endless(lambda: rng.choice(values, size=BATCH, p=p).tolist())
