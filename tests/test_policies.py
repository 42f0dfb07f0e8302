"""Allocation policies: exact choices and probe counts on scripted pools."""

from __future__ import annotations

import numpy as np
import pytest

from sim.policies import POLICIES, PortSpace, RandomPick, RandomStart, Sequential, make_policy, scan_from

SPACE = PortSpace(low=40000, high=40007, destinations=(("10.0.0.1", 80),))


def pool(busy: str) -> bytearray:
    """A usability bytearray from a string like '1100...' (1 = not usable)."""
    return bytearray(int(c) for c in busy)


def test_registry_and_repr() -> None:
    assert {"sequential", "random_start", "random_pick"} <= set(POLICIES)
    policy = make_policy("random_start", SPACE, np.random.default_rng(0))
    assert isinstance(policy, RandomStart)
    assert repr(policy) == "RandomStart()"
    assert repr(make_policy({"name": "double_hash", "table_size": 4}, SPACE, np.random.default_rng(0))) == (
        "DoubleHash(table_size=4)"
    )
    with pytest.raises(ValueError, match="unknown policy 'nope'"):
        make_policy("nope", SPACE, np.random.default_rng(0))


@pytest.mark.parametrize(
    ("busy", "start", "expected"),
    [
        ("00000000", 3, (3, 1)),
        ("00011100", 3, (6, 4)),
        ("01111111", 3, (0, 6)),  # wraps: examined 3,4,5,6,7,0
        ("11111111", 3, (-1, 8)),
        ("11111110", 7, (7, 1)),
    ],
)
def test_scan_from_counts_every_examined_port(busy: str, start: int, expected: tuple[int, int]) -> None:
    assert scan_from(pool(busy), start) == expected


def test_sequential_hands_out_the_next_port_and_wraps() -> None:
    policy = Sequential(SPACE, np.random.default_rng(0))
    busy = pool("00000000")
    got = []
    for _ in range(3):
        offset, probes = policy.connect(busy, 0, 0, 0.0)
        got.append((offset, probes))
        busy[offset] = 1
    assert got == [(0, 1), (1, 1), (2, 1)]
    busy = pool("11111011")
    assert policy.connect(busy, 0, 0, 0.0) == (5, 3)  # after 2: examines 3, 4, 5
    busy = pool("01111111")
    assert policy.connect(busy, 0, 0, 0.0) == (0, 3)  # after 5: examines 6, 7, 0


def test_random_start_is_a_uniform_start_then_a_scan() -> None:
    rng_policy = RandomStart(SPACE, np.random.default_rng(42))
    starts = np.random.default_rng(42).integers(0, SPACE.size, 4096).tolist()
    busy = pool("00110000")
    for start in starts[:50]:
        offset, probes = rng_policy.connect(busy, 0, 0, 0.0)
        assert (offset, probes) == scan_from(busy, start)


def test_random_pick_tries_fresh_random_ports() -> None:
    rng = np.random.default_rng(7)
    policy = RandomPick(SPACE, rng)
    expected = np.random.default_rng(7).integers(0, SPACE.size, 4096).tolist()
    busy = pool("00000000")
    assert policy.connect(busy, 0, 0, 0.0) == (expected[0], 1)
    busy = pool("11111111")
    busy[expected[2]] = 0
    offset, probes = policy.connect(busy, 0, 0, 0.0)
    assert (offset, probes) == (expected[2], 1)


def test_random_pick_gives_up_after_range_size_tries() -> None:
    policy = RandomPick(PortSpace(1, 1000), np.random.default_rng(1))
    busy = bytearray([1]) * 1000
    assert policy.connect(busy, 0, 0, 0.0) == (-1, 1000)


def test_random_pick_can_fail_with_free_ports_left() -> None:
    # One free port in 1000: each try finds it with p = 1/1000, so 1000 tries miss it with
    # probability (1 - 1/1000)^1000 = 0.368. Over 400 attempts, expect 147 +- 3 sd (sd = 9.6).
    policy = RandomPick(PortSpace(1, 1000), np.random.default_rng(3))
    busy = bytearray([1]) * 1000
    busy[500] = 0
    outcomes = [policy.connect(busy, 0, 0, 0.0) for _ in range(400)]
    failures = sum(1 for offset, _ in outcomes if offset < 0)
    p = (1 - 1 / 1000) ** 1000
    sd = (400 * p * (1 - p)) ** 0.5
    assert abs(failures - 400 * p) < 3.29 * sd  # 99.9% band
    assert all(offset in (-1, 500) for offset, _ in outcomes)
    assert all(probes <= 1000 for _, probes in outcomes)
    found = [probes for offset, probes in outcomes if offset == 500]
    # tries until success are geometric(1/1000) truncated at 1000: mean of those under 1000
    assert 300 < np.mean(found) < 700


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_policy_finds_the_only_free_port(name: str) -> None:
    policy = make_policy(name, SPACE, np.random.default_rng(0))
    for free in range(SPACE.size):
        busy = bytearray([1]) * SPACE.size
        busy[free] = 0
        offset, probes = policy.connect(busy, 0, 0, 0.0)
        if name not in ("random_pick", "random_increment"):  # these may give up with a port free
            assert offset == free
        assert offset in (free, -1)
        assert 1 <= probes <= SPACE.size
