"""Policies without a per-destination hash: sequential scans and RFC 6056 algorithms 1, 2 and 5."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from ..spec import Spec
from ..streams import random_ints
from .base import Policy, PortSpace, register
from .scans import probe_blocks, random_probe, scan_down_from, scan_from


@register
class Sequential(Policy):
    """The port after the last one handed out, wrapping at the top of the range (BSD, macOS)."""

    name = "sequential"
    description = "next port after the last one handed out, wrapping (macOS, FreeBSD randomized=0)"

    def __init__(self, space: PortSpace, rng: np.random.Generator, params: Spec | None = None) -> None:
        super().__init__(space, rng, params)
        self.last = self.size - 1

    def connect(self, usable: bytearray, src: int, dst: int, now: float) -> tuple[int, int]:
        start = self.last + 1
        if start == self.size:
            start = 0
        found, probes = scan_from(usable, start)
        if found >= 0:
            self.last = found
        return found, probes


@register
class SequentialDown(Policy):
    """The port below the last one handed out, starting at the top and wrapping (NetBSD's ``bsd``)."""

    name = "sequential_down"
    description = "next port below the last one handed out, from the top, wrapping (NetBSD 'bsd')"

    def __init__(self, space: PortSpace, rng: np.random.Generator, params: Spec | None = None) -> None:
        super().__init__(space, rng, params)
        self.last = self.size

    def connect(self, usable: bytearray, src: int, dst: int, now: float) -> tuple[int, int]:
        start = self.last - 1
        if start < 0:
            start = self.size - 1
        found, probes = scan_down_from(usable, start)
        if found >= 0:
            self.last = found
        return found, probes


@register
class RandomStart(Policy):
    """RFC 6056 algorithm 1: a random starting port, then a linear scan upward with wraparound."""

    name = "random_start"
    description = "RFC 6056 alg. 1: random start, then linear scan (FreeBSD)"

    def __init__(self, space: PortSpace, rng: np.random.Generator, params: Spec | None = None) -> None:
        super().__init__(space, rng, params)
        self._starts = random_ints(rng, self.size)

    def connect(self, usable: bytearray, src: int, dst: int, now: float) -> tuple[int, int]:
        return scan_from(usable, next(self._starts))


@register
class RandomPick(Policy):
    """RFC 6056 algorithm 2: a fresh random port on every try, giving up after range-size tries.

    Because it never remembers which ports it tried, it can fail while free ports remain.
    """

    name = "random_pick"
    description = "RFC 6056 alg. 2: fresh random port per try, gives up after range-size tries"

    def __init__(self, space: PortSpace, rng: np.random.Generator, params: Spec | None = None) -> None:
        super().__init__(space, rng, params)
        self._picks = random_ints(rng, self.size)

    def connect(self, usable: bytearray, src: int, dst: int, now: float) -> tuple[int, int]:
        return random_probe(usable, self._picks, lambda n: self.rng.integers(0, self.size, n), self.size)


class RandomIncrementParams(Spec):
    """Parameters of RFC 6056 algorithm 5."""

    trade_off: Annotated[int, Field(ge=1, le=1 << 16, description="N: increments are uniform on 1..N")] = 500


@register
class RandomIncrement(Policy):
    """RFC 6056 algorithm 5: the global counter advances by a random 1..N before every try."""

    name = "random_increment"
    description = "RFC 6056 alg. 5: global counter + random increment 1..N per try (N = 500)"
    Params = RandomIncrementParams

    def __init__(self, space: PortSpace, rng: np.random.Generator, params: Spec | None = None) -> None:
        super().__init__(space, rng, params)
        assert isinstance(self.params, RandomIncrementParams)
        self.counter = int(rng.integers(0, 1 << 16))
        self._steps = (1 + s for s in random_ints(rng, self.params.trade_off))

    def connect(self, usable: bytearray, src: int, dst: int, now: float) -> tuple[int, int]:
        size = self.size
        for tries in range(1, min(8, size) + 1):
            self.counter += next(self._steps)
            candidate = self.counter % size
            if not usable[candidate]:
                return candidate, tries
        assert isinstance(self.params, RandomIncrementParams)
        n_max = self.params.trade_off
        walk = np.empty(0, dtype=np.int64)

        def steps(n: int) -> np.ndarray:
            nonlocal walk
            walk = self.counter + np.cumsum(self.rng.integers(1, n_max + 1, n))
            self.counter = int(walk[-1])
            return walk % size

        found, tries, hit = probe_blocks(usable, size, min(8, size), steps)
        if hit >= 0:
            self.counter = int(walk[hit])
        return found, tries
