"""Allocation policies: exact choices and probe counts on scripted pools."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.core.policies import POLICIES, PortSpace, make_policy, scan_from
from sim.core.policies.hashed import KeyedPrefix, keyed_hash
from sim.core.policies.simple import RandomPick, RandomStart, Sequential
from tests.theory import binomial_agrees

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


WIDE = PortSpace(low=40000, high=40999, destinations=(("10.0.0.1", 80), ("10.0.0.2", 80), ("10.0.0.3", 80)))


def run_sequence(policy_name: str | dict[str, object], destinations: list[int], seed: int = 1) -> list[int]:
    policy = make_policy(policy_name, WIDE, np.random.default_rng(seed))
    usable = {d: bytearray(WIDE.size) for d in set(destinations)}  # nothing held: every port free
    return [policy.connect(usable[d], 0, d, 0.0)[0] for d in destinations]


def test_hash_gives_consecutive_ports_and_leaks_other_connections() -> None:
    """RFC 6056 alg. 3: one destination gets consecutive ports; a connection elsewhere shifts them."""
    alone = run_sequence("hash", [0, 0, 0, 0])
    assert np.diff(alone).tolist() == [1, 1, 1]
    mixed = run_sequence("hash", [0, 1, 0, 2, 0])
    steps_to_0 = [(mixed[2] - mixed[0]) % WIDE.size, (mixed[4] - mixed[2]) % WIDE.size]
    assert steps_to_0 == [2, 2]  # the global counter moved for the other destinations too


def test_double_hash_keeps_destinations_apart() -> None:
    """RFC 6056 alg. 4: with counters per table slot, other destinations do not move this one's counter."""
    policy = {"name": "double_hash", "table_size": 4096}
    seq = run_sequence(policy, [0, 1, 0, 2, 0, 1, 0])
    ports_0 = [seq[i] for i in (0, 2, 4, 6)]
    assert np.diff(ports_0).tolist() == [1, 1, 1]


def test_random_increment_steps_are_uniform_up_to_n() -> None:
    policy = {"name": "random_increment", "trade_off": 50}
    seq = run_sequence(policy, [0] * 2001)
    steps = np.diff(seq) % WIDE.size
    assert steps.min() >= 1
    assert steps.max() <= 50
    assert abs(steps.mean() - 25.5) < 3.29 * math.sqrt((50**2 - 1) / 12 / steps.size)


def test_sequential_down_counts_down_and_wraps() -> None:
    policy = make_policy("sequential_down", SPACE, np.random.default_rng(0))
    free = bytearray(SPACE.size)
    got = [policy.connect(free, 0, 0, 0.0) for _ in range(3)]
    assert got == [(7, 1), (6, 1), (5, 1)]
    assert policy.connect(pool("00011111"), 0, 0, 0.0) == (2, 3)  # examines 4, 3, 2
    assert policy.connect(pool("11111110"), 0, 0, 0.0) == (7, 3)  # examines 1, 0, then wraps to 7


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"name": "double_hash", "table_size": 0}, "parameter 'table_size'"),
        ({"name": "linux", "tabel_bits": 8}, "has no parameter 'tabel_bits' .*table_bits"),
        ({"table_size": 3}, "needs a 'name' key"),
        ("linux-ish", "unknown policy 'linux-ish'"),
        ("nope", r"unknown policy 'nope' \(known: double_hash, hash, linux, random_increment, "),
        (
            {"name": "linux", "table_bit": 8},
            r"has no parameter 'table_bit' \(parameters: table_bits, random_increment, resalt_period\)$",
        ),
        ({"name": "sequential", "table_size": 3}, r"'sequential' has no parameter 'table_size' \(parameters: none\)$"),
    ],
)
def test_policy_parameters_are_checked(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_policy(value, SPACE, np.random.default_rng(0))  # type: ignore[arg-type]


def test_parity_segments_follow_the_kernel_wrap() -> None:
    """Odd range of 65 ports: from offset 0 the scan never reaches offset 64; from 2 never offset 0."""
    from sim.core.policies import offset_of, parity_segments

    def offsets(start: int) -> list[int]:
        return [offset_of(s, 65, "parity") for lo, hi in parity_segments(65, 0, 65, start) for s in range(lo, hi)]

    assert offsets(0) == list(range(0, 63, 2))
    assert offsets(2) == list(range(2, 65, 2))
    assert offsets(4) == [*range(4, 65, 2), 2]
    assert offsets(5) == [*range(5, 64, 2), 1, 3]


def test_repr_lists_every_parameter() -> None:
    assert repr(make_policy("linux", SPACE, np.random.default_rng(0))) == (
        "Linux(table_bits=16, random_increment=True, resalt_period=10.0)"
    )


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_a_policy_built_without_parameters_uses_its_defaults(name: str) -> None:
    """``cls(space, rng)`` is the same policy as the scenario form with no parameters given."""
    cls = POLICIES[name]
    direct = cls(SPACE, np.random.default_rng(5))
    configured = make_policy(name, SPACE, np.random.default_rng(5))
    assert direct.params == cls.Params()
    assert repr(direct) == repr(configured)
    busy = pool("01100100")
    assert [direct.connect(busy, 0, 0, float(t)) for t in range(20)] == [
        configured.connect(busy, 0, 0, float(t)) for t in range(20)
    ]


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_policy_gives_up_on_a_full_range_after_examining_every_port(name: str) -> None:
    """Eight ports, all taken: connect() and bind() answer -1 (the kernel's failure), having examined all 8."""
    policy = make_policy(name, SPACE, np.random.default_rng(0))
    full = bytearray([1]) * SPACE.size
    assert policy.connect(full, 0, 0, 1.0) == (-1, 8)
    assert policy.bind(full, 0, 1.0) == (-1, 8)
    assert policy.bind(full, 0, 1.0, reuseaddr=True) == (-1, 8)


def test_random_pick_on_two_ports_with_one_free() -> None:
    """Each try finds the free port with p = 1/2: found at the first try w.p. 1/2, at the second 1/4,
    and after two misses (range-size tries) the attempt fails, w.p. 1/4."""
    policy = RandomPick(PortSpace(1, 2), np.random.default_rng(11))
    busy = bytearray([1, 0])
    outcomes = [policy.connect(busy, 0, 0, 0.0) for _ in range(400)]
    assert {probes for _, probes in outcomes} <= {1, 2}
    assert all(offset in (-1, 1) for offset, _ in outcomes)
    assert binomial_agrees(sum(1 for offset, _ in outcomes if offset < 0), 400, 0.25)
    assert binomial_agrees(sum(1 for offset, probes in outcomes if offset == 1 and probes == 1), 400, 0.5)


def test_random_pick_tries_every_port_after_the_first_eight() -> None:
    """16 ports, only the first free: 16 uniform tries find it w.p. 1 - (15/16)^16, tries 9 to 16 included."""
    policy = RandomPick(PortSpace(1, 16), np.random.default_rng(12))
    busy = bytearray([1]) * 16
    busy[0] = 0
    outcomes = [policy.connect(busy, 0, 0, 0.0) for _ in range(400)]
    assert all(offset in (-1, 0) for offset, _ in outcomes)
    assert binomial_agrees(sum(1 for offset, _ in outcomes if offset == 0), 400, 1 - (15 / 16) ** 16)


def test_the_destination_hash_is_keyed_by_the_secret() -> None:
    """RFC 6056's F(local, remote, secret): the same inputs give the same value under one secret, another
    value under another secret (each run draws its own)."""
    parts = (0, "10.0.0.1", 80, 0, 0)
    assert keyed_hash(bytes(16), *parts) == keyed_hash(bytes(16), *parts)
    assert keyed_hash(bytes(16), *parts) != keyed_hash(bytes(range(16)), *parts)


@given(
    secret=st.binary(min_size=16, max_size=16),
    src=st.integers(0, 10_000),
    address=st.text(max_size=20),
    port=st.integers(0, 65_535),
    epochs=st.lists(st.integers(0, 10**9), min_size=1, max_size=4),
)
def test_a_kept_prefix_hashes_as_the_whole_parts_do(
    secret: bytes, src: int, address: str, port: int, epochs: list[int]
) -> None:
    """The Linux policy's re-salt copies the hash state after (source, address, port, 0): the same value as
    hashing every part afresh, for each epoch asked in turn."""
    prefix = KeyedPrefix(secret, src, address, port, 0)
    assert [prefix(e) for e in epochs] == [keyed_hash(secret, src, address, port, 0, e) for e in epochs]
