"""netfilter SNAT's bounded port search: its exact rules, its theory, and the live kernel's numbers.

Statistical checks at tests/theory.LEVEL.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.core.streams import component_rng
from sim.nat.snat_search import BUSY, CLOSING, FREE, MAX_PROBES, Pick, SnatSearch
from tests.theory import binomial_agrees, t_quantile


def search(size: int, seed: int = 1, **options: object) -> SnatSearch:
    return SnatSearch(size, component_rng(seed, 0, "nat:search"), **options)  # type: ignore[arg-type]


def test_the_hosts_own_port_is_kept_when_free_unless_fully_random() -> None:
    states = bytearray(1000)
    assert search(1000).pick(states, keep=437) == Pick(437, 1)
    states[437] = BUSY
    assert search(1000).pick(states, keep=437).index != 437
    fully = search(64512, fully_random=True)
    kept = sum(fully.pick(bytearray(64512), keep=437).index == 437 for _ in range(200))
    assert binomial_agrees(kept, 200, 1 / 64512)  # a fresh random port every time (measured: 0 of 50 kept)


@pytest.mark.parametrize("size", [1, 16, 100, 128])
def test_a_range_of_at_most_128_ports_is_searched_whole(size: int) -> None:
    """One round covers every port: a lone free port is always found, a full range fails after N tries."""
    rng = np.random.default_rng(5)
    s = search(size)
    for _ in range(50):
        states = bytearray([BUSY]) * size
        free = int(rng.integers(size))
        states[free] = FREE
        assert s.pick(states).index == free
    assert s.pick(bytearray([BUSY]) * size) == Pick(-1, size)


@pytest.mark.parametrize("size", [129, 256, 4096, 64512])
def test_a_full_larger_range_fails_after_248_tries(size: int) -> None:
    assert search(size).pick(bytearray([BUSY]) * size) == Pick(-1, MAX_PROBES)
    assert MAX_PROBES == 248


def test_a_lone_free_port_is_found_with_the_probability_of_the_five_windows() -> None:
    """In 4,096 ports (a divisor of 2^16, so the offset is uniform), round k covers the free port with
    probability a_k / N exactly and the rounds are independent: P = 1 - prod(1 - a_k / N)."""
    size, trials = 4096, 6000
    theory = 1 - math.prod(1 - a / size for a in (128, 64, 32, 16, 8))
    s = search(size, seed=11)
    states = bytearray([BUSY]) * size
    states[1234] = FREE
    found = sum(s.pick(states).index == 1234 for _ in range(trials))
    assert binomial_agrees(found, trials, theory), (found / trials, theory)
    assert 0.05 < theory < 0.07  # fails about 94% of the time with a free port left


def test_closing_entries_are_taken_over_only_in_the_last_32_tries_of_a_round() -> None:
    size = 4096
    closing = bytearray([CLOSING]) * size
    pick = search(size, evict=1.0).pick(closing)
    assert (pick.probes, pick.evicted) == (128 - 32 + 1, True)
    assert search(size, evict=0.0).pick(closing) == Pick(-1, MAX_PROBES)
    small = search(16, evict=1.0).pick(bytearray([CLOSING]) * 16)  # a round of 16: every try is within 32
    assert (small.probes, small.evicted) == (1, True)


def fill_until_failure(size: int, seed: int, fully_random: bool) -> int:
    """Connections to one destination, none closing, until the first that finds no port (docs/nat-kernel.md Q3)."""
    s = search(size, seed=seed, fully_random=fully_random)
    states = bytearray(size)
    placed = 0
    while True:
        pick = s.pick(states)
        if pick.index < 0:
            return placed
        states[pick.index] = BUSY
        placed += 1


@pytest.mark.parametrize(("fully_random", "live"), [(False, 3877), (True, 3744)])
def test_the_live_kernels_first_failure_in_4096_ports_is_a_likely_draw(fully_random: bool, live: int) -> None:
    """Linux 6.18 filled 4,096 SNAT ports and first failed after 3,877 (default) and 3,744 (fully random)
    connections, host ports outside the range (docs/nat-kernel.md, Q3). Each lies inside the model's
    prediction interval at LEVEL for one more fill, from 60 fills (Student t)."""
    firsts = np.array([fill_until_failure(4096, seed, fully_random) for seed in range(60)], dtype=float)
    half = t_quantile(firsts.size - 1) * firsts.std(ddof=1) * math.sqrt(1 + 1 / firsts.size)
    assert firsts.mean() - half <= live <= firsts.mean() + half, (firsts.mean(), half)
    assert firsts.max() < 4096  # always with ports left
