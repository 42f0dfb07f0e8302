"""Linux's connect() and bind(0) port choice (``__inet_hash_connect``, kernel.md section 4)."""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
from pydantic import Field, field_validator

from ..spec import MAX_SECONDS, Spec
from ..streams import random_ints
from .base import PortSpace, register
from .hashed import Hashed, KeyedPrefix
from .scans import parity_segments, scan_segments

MIN_RESALT_PERIOD = 0.001
"""Shortest re-salt period: one jiffy at HZ 1000 (the kernel's is 10 s)."""


class LinuxParams(Spec):
    """Parameters of the Linux connect() algorithm; the defaults are Linux >= 5.18."""

    table_bits: Annotated[int, Field(ge=0, le=20, description="log2 of the perturbation table size")] = 16
    random_increment: bool = Field(True, description="advance the table entry by at least 2*U{0..7}+2 (5.18+)")
    resalt_period: Annotated[
        float,
        Field(
            ge=0,
            le=MAX_SECONDS,
            allow_inf_nan=False,
            description=f"seconds between hash re-salts (0 = never, else at least {MIN_RESALT_PERIOD:g})",
        ),
    ] = 10.0

    @field_validator("resalt_period")
    @classmethod
    def _not_too_short(cls, value: float) -> float:
        if 0 < value < MIN_RESALT_PERIOD:
            raise ValueError(f"must be 0 (never) or at least {MIN_RESALT_PERIOD:g} s (got {value:g})")
        return value


@register
class Linux(Hashed):
    """Linux's connect() port choice (``__inet_hash_connect``, kernel.md section 4).

    A keyed hash of (source address, destination address, destination port) picks an entry of a
    perturbation table (65,536 entries since 5.18) and an offset; the scan goes in steps of two from
    that offset, so the ports with the parity of the range's low end come first, then the other
    parity. On success the entry advances by max(i, 2*U{0..7}) + 2, i being the distance scanned.
    The hash is re-salted every ``resalt_period`` seconds. bind(port=0) picks a random port of the
    other parity first, and with SO_REUSEADDR tries the lower half of the range first.
    """

    name = "linux"
    description = "Linux >= 5.18 connect(): per-destination perturbation table, even ports first, step 2"
    layout = "parity"
    Params = LinuxParams

    def __init__(self, space: PortSpace, rng: np.random.Generator, params: Spec | None = None) -> None:
        super().__init__(space, rng, params)
        assert isinstance(self.params, LinuxParams)
        size = self.size
        self.remaining = size & ~1 if size > 1 else size
        self.table = rng.integers(0, 1 << 32, 1 << self.params.table_bits, dtype=np.uint64).tolist()
        self.mask = (1 << self.params.table_bits) - 1
        self._noise = random_ints(rng, 8)
        self._epoch = 0
        period = self.params.resalt_period
        self._period = period if period > 0 else math.inf
        self._epoch_end = self._period
        self._hashes: dict[tuple[int, int], int] = {}
        self._prefixes: dict[tuple[int, int], KeyedPrefix] = {}
        self._even = size % 2 == 0
        self._half = (size + 1) // 2
        self._random_increment = self.params.random_increment

    def destination_hash(self, src: int, dst: int, now: float) -> int:
        """The 64-bit hash of the destination in the re-salt epoch of ``now``."""
        if now >= self._epoch_end or now < self._epoch_end - self._period:
            self._epoch = int(now // self._period) if self._period < math.inf else 0
            self._epoch_end = (self._epoch + 1) * self._period
            self._hashes.clear()
        key = (src, dst)
        h = self._hashes.get(key)
        if h is None:
            prefix = self._prefixes.get(key)
            if prefix is None:
                address, port = self.space.destinations[dst]
                prefix = self._prefixes[key] = KeyedPrefix(self._secret, src, address, port, 0)
            h = self._hashes[key] = prefix(self._epoch)
        return h

    def connect(self, usable: bytearray, src: int, dst: int, now: float) -> tuple[int, int]:
        h = self._hashes.get((src, dst)) if now < self._epoch_end else None
        if h is None:
            h = self.destination_hash(src, dst, now)
        index = h & self.mask
        table = self.table
        offset = ((table[index] + (h >> 32)) % self.remaining) & ~1
        j0 = offset >> 1
        if not usable[j0]:  # the first candidate is free: the common case below half occupancy
            found, probes, before = j0, 1, 0
        elif self._even:
            found, probes, before = self._scan_even(usable, j0)
        else:
            size = self.size
            found, probes, before = scan_segments(usable, parity_segments(size, 0, size, offset))
            if found < 0 and self.remaining > 1:
                found, second, before = scan_segments(usable, parity_segments(size, 0, size, offset + 1))
                probes += second
        if found >= 0:
            i = 2 * before
            if self._random_increment:
                noise = 2 * next(self._noise)
                if noise > i:
                    i = noise
            table[index] = (table[index] + i + 2) & 0xFFFFFFFF
        return found, probes

    def _scan_even(self, usable: bytearray, j0: int) -> tuple[int, int, int]:
        """Both parity passes for an even-sized range, where each pass is a plain ring: as ``scan_segments``."""
        half = self._half
        found = usable.find(0, j0, half)
        if found >= 0:
            return found, found - j0 + 1, found - j0
        found = usable.find(0, 0, j0)
        if found >= 0:
            return found, half - j0 + found + 1, half - j0 + found
        start = half + j0
        size = self.size
        found = usable.find(0, start, size)
        if found >= 0:
            return found, half + found - start + 1, found - start
        found = usable.find(0, half, start)
        if found >= 0:
            return found, half + size - start + found - half + 1, size - start + found - half
        return -1, size, size

    def bind(self, usable: bytearray, src: int, now: float, reuseaddr: bool = False) -> tuple[int, int]:
        size = self.size
        halves = [(0, size)]
        if reuseaddr and size >= 4:
            middle = (size >> 2) << 1
            halves = [(0, middle), (middle, size)]
        probes = 0
        for a, b in halves:
            n = b - a
            remaining = n & ~1 if n > 1 else n
            offset = int(self.rng.integers(0, remaining)) | 1
            for start in (offset, offset - 1):
                found, examined, _ = scan_segments(usable, parity_segments(size, a, b, start))
                probes += examined
                if found >= 0:
                    return found, probes
        return -1, probes
