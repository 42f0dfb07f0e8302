"""The ephemeral port pool of one host: which 4-tuples and which local ports are held.

Ports are stored as offsets ``0 .. size-1`` from the low end of the range, per source address.
For every (source address, sharing key) there is a ``bytearray`` with one byte per port; a zero
byte means "this port can carry a new connection for that key". The sharing key is the
destination when the OS lets connect() share a local port across destinations (a connection is
a 4-tuple, kernel.md facts 8 and 10), and a single shared key when it does not (macOS).

Each byte holds flags: ``ESTABLISHED`` or ``TIME_WAIT`` for the 4-tuple itself, ``BOUND`` when the
port is owned by a bind()-before-connect socket (exclusive: kernel.md fact 13), ``RESERVED`` for
ports that automatic selection skips (fact 11). A per-port reference count tracks how many
sockets sit on each local port, which is what bind(port=0) must avoid.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

ESTABLISHED = 1
TIME_WAIT = 2
BOUND = 4
RESERVED = 8
HELD = ESTABLISHED | TIME_WAIT

NEVER = -1.0
"""``released_at`` value of a 4-tuple that has never been released."""


class PortPool:
    """Ports held per source address and per 4-tuple, with O(1) take/release."""

    def __init__(
        self,
        size: int,
        n_sources: int = 1,
        n_destinations: int = 1,
        *,
        sharing: bool = True,
        reserved: Iterable[int] = (),
    ) -> None:
        if size < 1:
            raise ValueError("the port range must hold at least one port")
        self.size = size
        self.n_sources = n_sources
        self.n_destinations = n_destinations
        self.sharing = sharing
        self.reserved = frozenset(reserved)
        if any(not 0 <= o < size for o in self.reserved):
            raise ValueError("reserved offsets must lie within the range")
        template = bytearray(size)
        for o in self.reserved:
            template[o] = RESERVED
        n_keys = n_destinations if sharing else 1
        self._base = [bytearray(template) for _ in range(n_sources)]
        self.local = [bytearray(template) for _ in range(n_sources)]
        """Per source: nonzero where any socket sits on the port (or it is reserved)."""
        self.refs = [array("I", bytes(4 * size)) for _ in range(n_sources)]
        """Per source and port: number of sockets (4-tuples held) on that local port."""
        self._views: list[list[bytearray | None]] = [[None] * n_keys for _ in range(n_sources)]
        self._released: list[list[array[float] | None]] = [[None] * n_keys for _ in range(n_sources)]
        self.ports_in_use = 0
        """Distinct (source address, port) pairs carrying at least one socket."""

    @property
    def usable_per_source(self) -> int:
        """Ports automatic selection may hand out on one source address."""
        return self.size - len(self.reserved)

    def key(self, dst: int) -> int:
        """The sharing key of destination ``dst``."""
        return dst if self.sharing else 0

    def view(self, src: int, dst: int) -> bytearray:
        """Usability bytes for connect() from ``src`` to ``dst``: zero where the port may be taken."""
        k = dst if self.sharing else 0
        v = self._views[src][k]
        if v is None:
            v = self._views[src][k] = bytearray(self._base[src])
            self._released[src][k] = array("d", [NEVER]) * self.size
        return v

    def take(self, src: int, dst: int, o: int, bound: bool, now: float) -> float:
        """Hold port ``o`` for a new connection; return seconds since this 4-tuple's release, or -1."""
        k = dst if self.sharing else 0
        views = self._views[src]
        v = views[k]
        if v is None:
            v = self.view(src, dst)
        if v[o]:
            raise ValueError(f"4-tuple (source {src}, port offset {o}, key {k}) is not free")
        refs = self.refs[src]
        if bound:
            if refs[o]:
                raise ValueError(f"port offset {o} on source {src} is in use and cannot be bound")
            self._base[src][o] = BOUND
            for other in views:
                if other is not None:
                    other[o] = BOUND
            v[o] = ESTABLISHED | BOUND
        else:
            v[o] = ESTABLISHED
        refs[o] += 1
        if refs[o] == 1:
            self.local[src][o] = 1
            self.ports_in_use += 1
        released = self._released[src][k]
        assert released is not None
        last = released[o]
        return -1.0 if last == NEVER else now - last

    def enter_time_wait(self, src: int, dst: int, o: int) -> None:
        """The 4-tuple on port ``o`` moves from ESTABLISHED to TIME_WAIT (this side closed first)."""
        v = self._views[src][dst if self.sharing else 0]
        assert v is not None
        assert v[o] & ESTABLISHED
        v[o] = TIME_WAIT | (v[o] & BOUND)

    def release(self, src: int, dst: int, o: int, bound: bool, now: float) -> None:
        """Free the 4-tuple on port ``o`` (and the port itself if it was bound)."""
        k = dst if self.sharing else 0
        views = self._views[src]
        v = views[k]
        assert v is not None
        assert v[o] & HELD
        if bound:
            self._base[src][o] = 0
            for other in views:
                if other is not None:
                    other[o] = 0
        else:
            v[o] = 0
        refs = self.refs[src]
        refs[o] -= 1
        if refs[o] == 0:
            self.local[src][o] = 0
            self.ports_in_use -= 1
        released = self._released[src][k]
        assert released is not None
        released[o] = now

    def state(self, src: int, dst: int, o: int) -> int:
        """The flags of one 4-tuple (0 when free)."""
        v = self._views[src][dst if self.sharing else 0]
        return (v if v is not None else self._base[src])[o]

    def views(self, src: int) -> list[bytearray]:
        """The usability bytes created so far for source ``src``."""
        return [v for v in self._views[src] if v is not None]
