"""RFC 6056 algorithms 3 and 4: a keyed hash of the destination plus counters."""

from __future__ import annotations

import hashlib
from typing import Annotated

import numpy as np
from pydantic import Field

from ..spec import Spec
from .base import Policy, PortSpace, register
from .scans import scan_from


def keyed_hash(secret: bytes, *parts: object) -> int:
    """A 64-bit keyed hash of ``parts`` (stands in for the kernel's SipHash with a boot-time secret)."""
    data = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8, key=secret).digest(), "little")


class KeyedPrefix:
    """``keyed_hash(secret, *parts, last)`` for one ``parts`` and many ``last``: the hash state after ``parts``
    is kept and copied (a fleet's Linux hosts re-salt every destination's hash every 10 s)."""

    def __init__(self, secret: bytes, *parts: object) -> None:
        data = "".join(f"{p}|" for p in parts).encode()
        self._state = hashlib.blake2b(data, digest_size=8, key=secret)

    def __call__(self, last: object) -> int:
        """The hash of the kept parts followed by ``last``."""
        h = self._state.copy()
        h.update(str(last).encode())
        return int.from_bytes(h.digest(), "little")


class Hashed(Policy):
    """Shared by the hash-based policies: a per-run secret and a cached per-destination hash."""

    def __init__(self, space: PortSpace, rng: np.random.Generator, params: Spec | None = None) -> None:
        super().__init__(space, rng, params)
        self._secret = rng.bytes(16)
        self._cache: dict[tuple[int, int, int], int] = {}

    def hash(self, src: int, dst: int, salt: int = 0) -> int:
        """Keyed 64-bit hash of (source, destination address and port, salt)."""
        key = (src, dst, salt)
        h = self._cache.get(key)
        if h is None:
            address, port = self.space.destinations[dst] if dst >= 0 else ("*", 0)
            h = self._cache[key] = keyed_hash(self._secret, src, address, port, salt, 0)
        return h


@register
class Hash(Hashed):
    """RFC 6056 algorithm 3: a keyed hash of the destination plus one global counter, then a scan.

    Consecutive connections to the same destination get consecutive ports, and the global counter
    advances by every port examined.
    """

    name = "hash"
    description = "RFC 6056 alg. 3: keyed hash of the destination + one global counter"

    def __init__(self, space: PortSpace, rng: np.random.Generator, params: Spec | None = None) -> None:
        super().__init__(space, rng, params)
        self.counter = int(rng.integers(0, 1 << 16))

    def connect(self, usable: bytearray, src: int, dst: int, now: float) -> tuple[int, int]:
        start = (self.counter + self.hash(src, dst)) % self.size
        found, probes = scan_from(usable, start)
        self.counter += probes
        return found, probes


class DoubleHashParams(Spec):
    """Parameters of RFC 6056 algorithm 4."""

    table_size: Annotated[int, Field(ge=1, le=1 << 20, description="counters in the table (RFC 6056: 10)")] = 10


@register
class DoubleHash(Hashed):
    """RFC 6056 algorithm 4: per-destination offset plus one of ``table_size`` counters, then a scan."""

    name = "double_hash"
    description = "RFC 6056 alg. 4: keyed hash + a table of counters indexed by a second hash"
    Params = DoubleHashParams

    def __init__(self, space: PortSpace, rng: np.random.Generator, params: Spec | None = None) -> None:
        super().__init__(space, rng, params)
        assert isinstance(self.params, DoubleHashParams)
        self.table = rng.integers(0, 1 << 16, self.params.table_size).tolist()

    def connect(self, usable: bytearray, src: int, dst: int, now: float) -> tuple[int, int]:
        index = self.hash(src, dst, salt=1) % len(self.table)
        start = (self.hash(src, dst) + self.table[index]) % self.size
        found, probes = scan_from(usable, start)
        self.table[index] += probes
        return found, probes
