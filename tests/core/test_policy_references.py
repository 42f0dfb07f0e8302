"""Every policy against a reference transcribed from its source: RFC 6056 and kernel.md section 4.

Each reference is the plainest loop over port offsets that the pseudocode describes, fed the same
random numbers (drawn in the same order from a generator with the same seed). The policies work on
slots, bytearrays and vectorised scans; the references do not. Both must choose the same port and
count the same number of candidates examined, connect after connect, over occupancies that rise,
fall and reach exhaustion, for even and odd ranges down to one port.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from sim.core.policies import POLICIES, PortSpace, make_policy, offset_of, slot_of
from sim.core.policies.hashed import keyed_hash
from sim.core.streams import random_ints

DESTINATIONS = [("10.0.0.1", 80), ("10.0.0.2", 443), ("127.0.0.1", 80)]
Busy = Callable[[int], bool]
"""Whether the port at an offset from the low end is unusable."""


class Reference:
    """A policy as its pseudocode states it: connect(busy, src, dst, now) -> (offset or -1, examined)."""

    def connect(self, busy: Busy, src: int, dst: int, now: float) -> tuple[int, int]:
        raise NotImplementedError

    def bind(self, busy: Busy, src: int, now: float, reuseaddr: bool) -> tuple[int, int]:
        return self.connect(busy, src, -1, now)


def scan_up(busy: Busy, size: int, start: int) -> tuple[int, int]:
    for i in range(size):
        candidate = (start + i) % size
        if not busy(candidate):
            return candidate, i + 1
    return -1, size


class SequentialRef(Reference):
    def __init__(self, size: int, rng: np.random.Generator) -> None:
        self.size, self.last = size, size - 1

    def connect(self, busy: Busy, src: int, dst: int, now: float) -> tuple[int, int]:
        found, examined = scan_up(busy, self.size, (self.last + 1) % self.size)
        if found >= 0:
            self.last = found
        return found, examined


class SequentialDownRef(Reference):
    def __init__(self, size: int, rng: np.random.Generator) -> None:
        self.size, self.last = size, size

    def connect(self, busy: Busy, src: int, dst: int, now: float) -> tuple[int, int]:
        start = self.last - 1 if self.last > 0 else self.size - 1
        for i in range(self.size):
            candidate = (start - i) % self.size
            if not busy(candidate):
                self.last = candidate
                return candidate, i + 1
        return -1, self.size


class RandomStartRef(Reference):
    """RFC 6056 algorithm 1."""

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        self.size, self.starts = size, random_ints(rng, size)

    def connect(self, busy: Busy, src: int, dst: int, now: float) -> tuple[int, int]:
        return scan_up(busy, self.size, next(self.starts))


class HashRef(Reference):
    """RFC 6056 algorithm 3: offset = F(local, remote, secret); next_ephemeral advances by each try."""

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        self.size, self.secret = size, rng.bytes(16)
        self.next_ephemeral = int(rng.integers(0, 1 << 16))

    def f(self, src: int, dst: int, salt: int) -> int:
        address, port = DESTINATIONS[dst] if dst >= 0 else ("*", 0)
        return keyed_hash(self.secret, src, address, port, salt, 0)

    def connect(self, busy: Busy, src: int, dst: int, now: float) -> tuple[int, int]:
        found, examined = scan_up(busy, self.size, (self.next_ephemeral + self.f(src, dst, 0)) % self.size)
        self.next_ephemeral += examined
        return found, examined


class DoubleHashRef(HashRef):
    """RFC 6056 algorithm 4: table[G(local, remote, secret2)] replaces the single counter."""

    def __init__(self, size: int, rng: np.random.Generator, table_size: int = 10) -> None:
        self.size, self.secret = size, rng.bytes(16)
        self.table = [int(x) for x in rng.integers(0, 1 << 16, table_size)]

    def connect(self, busy: Busy, src: int, dst: int, now: float) -> tuple[int, int]:
        index = self.f(src, dst, 1) % len(self.table)
        found, examined = scan_up(busy, self.size, (self.f(src, dst, 0) + self.table[index]) % self.size)
        self.table[index] += examined
        return found, examined


class RandomIncrementRef(Reference):
    """RFC 6056 algorithm 5 with N = 1: next_ephemeral += 1 before every try, so a plain walk."""

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        self.size, self.next_ephemeral = size, int(rng.integers(0, 1 << 16))

    def connect(self, busy: Busy, src: int, dst: int, now: float) -> tuple[int, int]:
        for tries in range(1, self.size + 1):
            self.next_ephemeral += 1
            if not busy(self.next_ephemeral % self.size):
                return self.next_ephemeral % self.size, tries
        return -1, self.size


class LinuxRef(Reference):
    """kernel.md section 4: __inet_hash_connect and bind(0), line by line."""

    def __init__(self, size: int, rng: np.random.Generator, table_bits: int = 16, increment: bool = True) -> None:
        self.size, self.rng, self.secret = size, rng, rng.bytes(16)
        self.table = [int(x) for x in rng.integers(0, 1 << 32, 1 << table_bits, dtype=np.uint64)]
        self.mask, self.increment = (1 << table_bits) - 1, increment
        self.noise = random_ints(rng, 8)
        self.period = 10.0

    def connect(self, busy: Busy, src: int, dst: int, now: float) -> tuple[int, int]:
        address, port = DESTINATIONS[dst]
        h = keyed_hash(self.secret, src, address, port, 0, int(now // self.period))
        remaining = self.size & ~1 if self.size > 1 else self.size
        slot = h & self.mask
        offset = ((self.table[slot] + (h >> 32)) % remaining) & ~1
        examined = 0
        for start in (offset, offset + 1) if remaining > 1 else (offset,):  # the other parity
            for i in range(0, remaining, 2):
                candidate = start + i
                if candidate >= self.size:
                    candidate -= remaining
                examined += 1
                if not busy(candidate):
                    step = max(i, 2 * next(self.noise)) if self.increment else i
                    self.table[slot] = (self.table[slot] + step + 2) & 0xFFFFFFFF
                    return candidate, examined
        return -1, examined

    def bind(self, busy: Busy, src: int, now: float, reuseaddr: bool) -> tuple[int, int]:
        halves = [(0, self.size)]
        if reuseaddr and self.size >= 4:  # the lower half [low, low + 2 * floor(size / 4)) first
            halves = [(0, 2 * (self.size // 4)), (2 * (self.size // 4), self.size)]
        examined = 0
        for a, b in halves:
            remaining = (b - a) & ~1 if b - a > 1 else b - a
            offset = int(self.rng.integers(0, remaining)) | 1  # a random port of the other parity first
            for start in (offset, offset - 1):
                for i in range(0, remaining, 2):
                    candidate = a + start + i
                    if candidate >= b:
                        candidate -= remaining
                    examined += 1
                    if not busy(candidate):
                        return candidate, examined
        return -1, examined


REFERENCES: dict[str, tuple[dict[str, object], Callable[[int, np.random.Generator], Reference]]] = {
    "sequential": ({}, SequentialRef),
    "sequential_down": ({}, SequentialDownRef),
    "random_start": ({}, RandomStartRef),
    "hash": ({}, HashRef),
    "double_hash": ({"table_size": 3}, lambda size, rng: DoubleHashRef(size, rng, 3)),
    "random_increment": ({"trade_off": 1}, RandomIncrementRef),
    "linux": ({"resalt_period": 10.0}, LinuxRef),
    "linux-5.12": ({"table_bits": 8, "random_increment": False}, lambda s, r: LinuxRef(s, r, 8, increment=False)),
}


def occupancy_walk(seed: int, size: int, steps: int) -> Iterator[tuple[str, int, int, float, bool]]:
    """(call, src, dst, now, reuseaddr) with occupancy rising to exhaustion, then draining, then rising."""
    rng = np.random.default_rng(seed)
    for k in range(steps):
        phase = (k * 3) // steps  # fill, drain, fill
        call = "bind" if rng.random() < 0.2 else "connect"
        yield call, int(rng.integers(0, 2)), int(rng.integers(0, len(DESTINATIONS))), k * 0.37, phase == 1


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 16, 17, 64, 65])
@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_each_policy_matches_its_reference(name: str, size: int) -> None:
    params, make_reference = REFERENCES[name]
    policy_name = "linux" if name.startswith("linux") else name
    assert policy_name in POLICIES
    for seed in range(3):
        policy = make_policy(
            {"name": policy_name, **params},
            PortSpace(40000, 40000 + size - 1, 2, DESTINATIONS),
            np.random.default_rng(seed),
        )
        reference = make_reference(size, np.random.default_rng(seed))
        layout = policy.layout
        busy = [bytearray(size), bytearray(size)]  # per source address, by offset
        walk = np.random.default_rng(1000 + seed)
        for call, src, dst, now, draining in occupancy_walk(seed, size, 12 * size + 40):
            usable = bytearray(busy[src][offset_of(s, size, layout)] for s in range(size))
            if call == "bind":
                reuseaddr = bool(walk.random() < 0.5)
                got = policy.bind(usable, src, now, reuseaddr)
                want = reference.bind(busy[src].__getitem__, src, now, reuseaddr)
            else:
                got = policy.connect(usable, src, dst, now)
                want = reference.connect(busy[src].__getitem__, src, dst, now)
            slot, probes = got
            assert (offset_of(slot, size, layout) if slot >= 0 else -1, probes) == want, (call, size, seed)
            if slot >= 0 and not draining:
                busy[src][offset_of(slot, size, layout)] = 1
            if draining or walk.random() < 0.1:  # free a random port
                busy[src][int(walk.integers(0, size))] = 0
        assert slot_of(0, size, layout) in range(size)


def test_random_increment_counts_every_try_and_advances_by_each_step() -> None:
    """N > 1: each try advances the counter by 1..N, so after p tries it moved by p..N*p."""
    size, n = 64, 500
    policy = make_policy(
        {"name": "random_increment", "trade_off": n}, PortSpace(40000, 40063), np.random.default_rng(4)
    )
    rng = np.random.default_rng(5)
    for fill in (0.0, 0.5, 0.9, 0.99, 1.0):
        usable = bytearray(1 if rng.random() < fill else 0 for _ in range(size))
        before = policy.counter  # type: ignore[attr-defined]
        slot, probes = policy.connect(usable, 0, 0, 0.0)
        moved = policy.counter - before  # type: ignore[attr-defined]
        if slot >= 0:
            assert usable[slot] == 0
            assert slot == policy.counter % size  # type: ignore[attr-defined]
            assert probes <= moved <= n * probes
        else:
            assert probes == size
            assert size <= moved <= n * size
    assert math.isfinite(moved)


def test_linux_resalts_at_every_epoch_boundary_even_below_a_second() -> None:
    """resalt_period 0.5 s: every connect() hashes the epoch ``now // 0.5``, at the boundaries themselves too
    (jiffies / (period * HZ) in secure_seq.c), whatever was cached in the epoch before."""
    size = 64
    space = PortSpace(40000, 40000 + size - 1, 2, DESTINATIONS)
    for seed, (src, dst) in enumerate([(0, 0), (1, 2), (0, 1)]):  # one destination each: its hash stays cached
        policy = make_policy({"name": "linux", "resalt_period": 0.5}, space, np.random.default_rng(seed))
        reference = LinuxRef(size, np.random.default_rng(seed))
        reference.period = 0.5
        for now in (0.2, 0.5, 0.7, 1.0, 1.2, 1.5, 1.7, 2.0, 2.5, 2.6, 4.0):
            slot, probes = policy.connect(bytearray(size), src, dst, now)  # every port free
            want = reference.connect(lambda offset: False, src, dst, now)
            assert (offset_of(slot, size, "parity"), probes) == want, (seed, now)
