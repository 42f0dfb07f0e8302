"""Port allocation policies: how a host picks the ephemeral port for a new connection.

A policy sees the port range through *slots*. With the ``natural`` layout slot = offset from the low
end of the range (port = low + offset); with the ``parity`` layout the ports whose offset is even come
first and the odd ones after, so that a scan in steps of two (Linux) is a contiguous scan. For each
request the policy gets a ``bytearray`` with one byte per slot, zero where the port may be taken, and
answers with the chosen slot (-1 when it gives up) and the number of candidate ports it examined:
the simulator's measure of what a connect() costs.

Policies are small classes registered by name; adding one is a new class with ``@register``.
Parameters, when a policy has any, are a ``Params`` model and are given in the scenario as
``policy: {name: double_hash, table_size: 16}``.
"""

from __future__ import annotations

import hashlib
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import numpy as np
from pydantic import Field, ValidationError

from .workload import BATCH, Spec

Layout = Literal["natural", "parity"]


@dataclass(frozen=True)
class PortSpace:
    """What a policy may know about the host: the range, its source addresses and destinations."""

    low: int
    high: int
    n_sources: int = 1
    destinations: Sequence[tuple[str, int]] = ()

    @property
    def size(self) -> int:
        """Number of ports in the range."""
        return self.high - self.low + 1


def slot_of(offset: int, size: int, layout: Layout) -> int:
    """The slot holding the port at ``offset`` from the low end."""
    if layout == "natural":
        return offset
    return offset >> 1 if not offset & 1 else (size + 1) // 2 + (offset >> 1)


def offset_of(slot: int, size: int, layout: Layout) -> int:
    """The offset from the low end of the port in ``slot``."""
    if layout == "natural":
        return slot
    half = (size + 1) // 2
    return slot << 1 if slot < half else ((slot - half) << 1) | 1


class NoParams(Spec):
    """A policy without parameters."""


class Policy(ABC):
    """Base class: a stateful port chooser with its own random stream."""

    name: ClassVar[str]
    description: ClassVar[str]
    layout: ClassVar[Layout] = "natural"
    Params: ClassVar[type[Spec]] = NoParams

    def __init__(self, space: PortSpace, rng: np.random.Generator, params: Spec | None = None) -> None:
        self.space = space
        self.size = space.size
        self.rng = rng
        self.params = params if params is not None else self.Params()

    @abstractmethod
    def connect(self, usable: bytearray, src: int, dst: int, now: float) -> tuple[int, int]:
        """Choose a port for connect() from ``src`` to destination ``dst``: (slot or -1, probes)."""

    def bind(self, usable: bytearray, src: int, now: float, reuseaddr: bool = False) -> tuple[int, int]:
        """Choose a port for bind(port=0) on ``src``; by default the same search as connect()."""
        return self.connect(usable, src, -1, now)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.params.__dict__.items())
        return f"{type(self).__name__}({fields})"


POLICIES: dict[str, type[Policy]] = {}
P = TypeVar("P", bound=type[Policy])


def register(cls: P) -> P:
    """Class decorator: make a policy available to scenarios under ``cls.name``."""
    POLICIES[cls.name] = cls
    return cls


def split_policy(value: str | Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, parameters) from ``"name"`` or ``{name: ..., parameter: value, ...}``."""
    if isinstance(value, str):
        return value, {}
    params = dict(value)
    name = params.pop("name", None)
    if not isinstance(name, str):
        raise ValueError("a policy with parameters needs a 'name' key, e.g. {name: double_hash, table_size: 16}")
    return name, params


def policy_params(value: str | Mapping[str, Any]) -> tuple[type[Policy], Spec]:
    """The policy class and its validated parameters; ValueError with a readable message otherwise."""
    name, given = split_policy(value)
    try:
        cls = POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r} (known: {', '.join(sorted(POLICIES))})") from None
    try:
        return cls, cls.Params.model_validate(given)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        allowed = ", ".join(cls.Params.model_fields) or "none"
        if error["type"] == "extra_forbidden":
            raise ValueError(f"policy {name!r} has no parameter {where!r} (parameters: {allowed})") from None
        raise ValueError(f"policy {name!r} parameter {where!r}: {error['msg']}") from None


def make_policy(value: str | Mapping[str, Any], space: PortSpace, rng: np.random.Generator) -> Policy:
    """Instantiate a policy from its scenario form (a name, or a mapping with ``name`` and parameters)."""
    cls, params = policy_params(value)
    return cls(space, rng, params)


def random_ints(rng: np.random.Generator, high: int) -> Iterator[int]:
    """Endless uniform integers in ``[0, high)``, drawn in batches."""
    while True:
        yield from rng.integers(0, high, BATCH).tolist()


def scan_from(usable: bytearray, start: int) -> tuple[int, int]:
    """Linear scan upward from ``start``, wrapping once: (slot or -1, ports examined)."""
    size = len(usable)
    found = usable.find(0, start)
    if found >= 0:
        return found, found - start + 1
    found = usable.find(0, 0, start)
    if found >= 0:
        return found, size - start + found + 1
    return -1, size


def scan_down_from(usable: bytearray, start: int) -> tuple[int, int]:
    """Linear scan downward from ``start``, wrapping once: (slot or -1, ports examined)."""
    size = len(usable)
    found = usable.rfind(0, 0, start + 1)
    if found >= 0:
        return found, start - found + 1
    found = usable.rfind(0, start + 1)
    if found >= 0:
        return found, start + 1 + size - found
    return -1, size


def keyed_hash(secret: bytes, *parts: object) -> int:
    """A 64-bit keyed hash of ``parts`` (stands in for the kernel's SipHash with a boot-time secret)."""
    data = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8, key=secret).digest(), "little")


# --------------------------------------------------------------------------- simple scans


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


def _probe_blocks(
    usable: bytearray, size: int, tried: int, candidates: Callable[[int], np.ndarray]
) -> tuple[int, int, int]:
    """Try ``candidates(n)`` in growing vectorised blocks until one is usable or ``size`` tries are spent.

    Returns (slot or -1, total tries, index of the hit in its block or -1).
    """
    view = np.frombuffer(usable, dtype=np.uint8)
    block = 256
    while tried < size:
        n = min(block, size - tried)
        drawn = candidates(n)
        hits = np.flatnonzero(view[drawn] == 0)
        if hits.size:
            return int(drawn[hits[0]]), tried + int(hits[0]) + 1, int(hits[0])
        tried += n
        block = min(block * 4, 1 << 16)
    return -1, size, -1


def _random_probe(
    usable: bytearray, draws: Iterator[int], block_draw: Callable[[int], np.ndarray], size: int, scalar_tries: int = 8
) -> tuple[int, int]:
    """Try candidates from ``draws`` one by one, then in vectorised blocks from ``block_draw(n)``.

    Gives up after ``size`` tries: (slot or -1, tries).
    """
    for tries in range(1, min(scalar_tries, size) + 1):
        candidate = next(draws)
        if not usable[candidate]:
            return candidate, tries
    found, tries, _ = _probe_blocks(usable, size, min(scalar_tries, size), block_draw)
    return found, tries


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
        return _random_probe(usable, self._picks, lambda n: self.rng.integers(0, self.size, n), self.size)


# --------------------------------------------------------------------------- hash-based (RFC 6056 alg. 3 and 4)


class _Hashed(Policy):
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
class Hash(_Hashed):
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
class DoubleHash(_Hashed):
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

        found, tries, hit = _probe_blocks(usable, size, min(8, size), steps)
        if hit >= 0:
            self.counter = int(walk[hit])
        return found, tries


# --------------------------------------------------------------------------- Linux


class LinuxParams(Spec):
    """Parameters of the Linux connect() algorithm; the defaults are Linux >= 5.18."""

    table_bits: Annotated[int, Field(ge=0, le=20, description="log2 of the perturbation table size")] = 16
    random_increment: bool = Field(True, description="advance the table entry by at least 2*U{0..7}+2 (5.18+)")
    resalt_period: Annotated[float, Field(ge=0, description="seconds between hash re-salts; 0 = never")] = 10.0


def parity_segments(size: int, a: int, b: int, start: int) -> list[tuple[int, int]]:
    """Slot segments that the kernel's step-2 scan visits, in order, in the parity layout.

    The kernel scans offsets ``a + start + i`` for ``i = 0, 2, 4, ... < remaining`` (``remaining`` is
    ``b - a`` rounded down to even), subtracting ``remaining`` from offsets at or past ``b``. With an
    odd-sized range this leaves one edge port of the first parity unvisited (kernel.md fact 9).
    """
    n = b - a
    remaining = n & ~1 if n > 1 else n
    if remaining <= 0:
        return []
    count = (remaining + 1) // 2
    first = a + start
    last = first + 2 * (count - 1)
    runs: list[tuple[int, int]] = []
    if last <= b - 1:
        runs.append((first, last))
    else:
        top = b - 1 if (b - 1 - first) % 2 == 0 else b - 2
        if top >= first:
            runs.append((first, top))
        runs.append((top + 2 - remaining, last - remaining))
    return [(slot_of(x, size, "parity"), slot_of(y, size, "parity") + 1) for x, y in runs]


def scan_segments(usable: bytearray, segments: list[tuple[int, int]]) -> tuple[int, int, int]:
    """Scan slot segments in order: (slot or -1, ports examined, candidates before the one found)."""
    examined = 0
    for lo, hi in segments:
        found = usable.find(0, lo, hi)
        if found >= 0:
            before = examined + found - lo
            return found, before + 1, before
        examined += hi - lo
    return -1, examined, examined


@register
class Linux(_Hashed):
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
        self._even = size % 2 == 0
        self._half = (size + 1) // 2
        self._random_increment = self.params.random_increment

    def destination_hash(self, src: int, dst: int, now: float) -> int:
        """The 64-bit hash of the destination in the re-salt epoch of ``now``."""
        if now >= self._epoch_end or now < self._epoch_end - self._period:
            self._epoch = int(now // self._period) if self._period < math.inf else 0
            self._epoch_end = (self._epoch + 1) * self._period
            self._hashes.clear()
        h = self._hashes.get((src, dst))
        if h is None:
            address, port = self.space.destinations[dst]
            h = self._hashes[(src, dst)] = keyed_hash(self._secret, src, address, port, 0, self._epoch)
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
