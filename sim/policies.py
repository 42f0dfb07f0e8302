"""Port allocation policies: how a host picks the ephemeral port for a new connection.

A policy sees the port range as offsets ``0 .. size-1`` (port = low + offset) and, for each request,
a ``bytearray`` of that length in which a zero byte marks a port usable for this request. It answers
with the chosen offset (-1 when it gives up) and the number of candidate ports it examined: the
simulator's measure of what a connect() costs. Policies are small classes registered by name;
adding one is a new class with ``@register``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar, TypeVar

import numpy as np

from .workload import BATCH


@dataclass(frozen=True)
class PortSpace:
    """What a policy may know about the host: the range, its source addresses and destinations."""

    low: int
    high: int
    n_sources: int = 1
    destinations: tuple[tuple[str, int], ...] = ()

    @property
    def size(self) -> int:
        """Number of ports in the range."""
        return self.high - self.low + 1


class Policy(ABC):
    """Base class: a stateful port chooser with its own random stream."""

    name: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, space: PortSpace, rng: np.random.Generator) -> None:
        self.space = space
        self.size = space.size
        self.rng = rng

    @abstractmethod
    def connect(self, usable: bytearray, src: int, dst: int) -> tuple[int, int]:
        """Choose a port for connect() from ``src`` to destination ``dst``: (offset or -1, probes)."""

    def bind(self, usable: bytearray, src: int) -> tuple[int, int]:
        """Choose a port for bind(port=0) on ``src``; by default the same search as connect()."""
        return self.connect(usable, src, -1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


POLICIES: dict[str, type[Policy]] = {}
P = TypeVar("P", bound=type[Policy])


def register(cls: P) -> P:
    """Class decorator: make a policy available to scenarios under ``cls.name``."""
    POLICIES[cls.name] = cls
    return cls


def make_policy(name: str, space: PortSpace, rng: np.random.Generator) -> Policy:
    """Instantiate the policy registered as ``name``."""
    try:
        cls = POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r} (known: {', '.join(sorted(POLICIES))})") from None
    return cls(space, rng)


def random_offsets(rng: np.random.Generator, size: int) -> Iterator[int]:
    """Endless uniform offsets in ``[0, size)``, drawn in batches."""
    draw: Callable[[int], np.ndarray] = lambda n: rng.integers(0, size, n)  # noqa: E731
    while True:
        yield from draw(BATCH).tolist()


def scan_from(usable: bytearray, start: int) -> tuple[int, int]:
    """Linear scan upward from ``start``, wrapping once: (offset or -1, ports examined)."""
    size = len(usable)
    found = usable.find(0, start)
    if found >= 0:
        return found, found - start + 1
    found = usable.find(0, 0, start)
    if found >= 0:
        return found, size - start + found + 1
    return -1, size


@register
class Sequential(Policy):
    """The port after the last one handed out, wrapping at the top of the range (BSD, macOS)."""

    name = "sequential"
    description = "next port after the last one handed out, wrapping (macOS, FreeBSD randomized=0)"

    def __init__(self, space: PortSpace, rng: np.random.Generator) -> None:
        super().__init__(space, rng)
        self.last = self.size - 1

    def connect(self, usable: bytearray, src: int, dst: int) -> tuple[int, int]:
        start = self.last + 1
        if start == self.size:
            start = 0
        found, probes = scan_from(usable, start)
        if found >= 0:
            self.last = found
        return found, probes


@register
class RandomStart(Policy):
    """RFC 6056 algorithm 1: a random starting port, then a linear scan upward with wraparound."""

    name = "random_start"
    description = "RFC 6056 alg. 1: random start, then linear scan (FreeBSD)"

    def __init__(self, space: PortSpace, rng: np.random.Generator) -> None:
        super().__init__(space, rng)
        self._starts = random_offsets(rng, self.size)

    def connect(self, usable: bytearray, src: int, dst: int) -> tuple[int, int]:
        return scan_from(usable, next(self._starts))


@register
class RandomPick(Policy):
    """RFC 6056 algorithm 2: a fresh random port on every try, giving up after range-size tries.

    Because it never remembers which ports it tried, it can fail while free ports remain.
    """

    name = "random_pick"
    description = "RFC 6056 alg. 2: fresh random port per try, gives up after range-size tries"
    SCALAR_TRIES: ClassVar[int] = 8

    def __init__(self, space: PortSpace, rng: np.random.Generator) -> None:
        super().__init__(space, rng)
        self._picks = random_offsets(rng, self.size)

    def connect(self, usable: bytearray, src: int, dst: int) -> tuple[int, int]:
        size = self.size
        for tries in range(1, min(self.SCALAR_TRIES, size) + 1):
            candidate = next(self._picks)
            if not usable[candidate]:
                return candidate, tries
        tried = min(self.SCALAR_TRIES, size)
        # A crowded pool: examine the remaining tries in vectorised blocks.
        view = np.frombuffer(usable, dtype=np.uint8)
        block = 256
        while tried < size:
            n = min(block, size - tried)
            candidates = self.rng.integers(0, size, n)
            hits = np.flatnonzero(view[candidates] == 0)
            if hits.size:
                return int(candidates[hits[0]]), tried + int(hits[0]) + 1
            tried += n
            block = min(block * 4, 1 << 16)
        return -1, size
