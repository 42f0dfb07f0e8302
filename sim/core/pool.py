"""The ephemeral port pool of one host: which 4-tuples and which local ports are held.

Ports live in *slots* (see ``policies.slot_of``: the allocation policy decides the layout), per
source address. For every (source address, sharing key) there is a ``bytearray`` with one byte per
slot; a zero byte means "this port can carry a new connection for that key". The sharing key is the
destination when the OS lets connect() share a local port across destinations (a connection is a
4-tuple, kernel.md facts 8 and 10), and a single shared key when it does not (macOS).

Each byte holds flags: ``ESTABLISHED``, ``TIME_WAIT`` or ``FIN_WAIT2`` for the 4-tuple itself,
``BOUND`` when the port is owned by a bind()-before-connect socket (exclusive: fact 13), and
``RESERVED`` for ports that automatic selection skips (fact 11). A per-port reference count tracks
how many sockets sit on each local port, which is what bind(port=0) must avoid.

With ``tcp_tw_reuse`` a TIME_WAIT 4-tuple old enough to be taken over is *promoted*: its byte becomes
zero, so scans treat it like a free port, and the next connection that takes it recycles the
TIME_WAIT socket (fact 17).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

from .hooks import Connection
from .policies import Layout, offset_of, slot_of

ESTABLISHED = 1
TIME_WAIT = 2
BOUND = 4
RESERVED = 8
FIN_WAIT2 = 16

NEVER = -1.0
"""``released_at`` value of a 4-tuple that has never been released."""


class PortPool:
    """Ports held per source address and per 4-tuple, with O(1) take and release."""

    def __init__(
        self,
        size: int,
        n_sources: int = 1,
        n_destinations: int = 1,
        *,
        sharing: bool = True,
        reserved: Iterable[int] = (),
        layout: Layout = "natural",
        sources: range | None = None,
    ) -> None:
        """``sources``: the source indices this pool holds ports for (all by default); a fleet's host group
        holds its own hosts' (another pool holds the others), so the indices are the fleet's."""
        if size < 1:
            raise ValueError("the port range must hold at least one port")
        self.size = size
        self.n_sources = n_sources
        self.n_destinations = n_destinations
        self.sharing = sharing
        self.layout = layout
        reserved_offsets = frozenset(reserved)
        if any(not 0 <= o < size for o in reserved_offsets):
            raise ValueError("reserved offsets must lie within the range")
        self.reserved = frozenset(slot_of(o, size, layout) for o in reserved_offsets)
        """Reserved ports, as slots."""
        template = bytearray(size)
        for s in self.reserved:
            template[s] = RESERVED
        n_keys = n_destinations if sharing else 1
        own = range(n_sources) if sources is None else sources
        width = [size if s in own else 0 for s in range(n_sources)]  # another pool's sources: empty arrays
        self._base = [bytearray(template[:w]) for w in width]
        self._bound = [0] * n_sources
        self.local = [bytearray(template[:w]) for w in width]
        """Per source: nonzero where any socket sits on the port (or it is reserved)."""
        self.refs = [array("I", bytes(4 * w)) for w in width]
        """Per source and slot: number of sockets (4-tuples held) on that local port."""
        self.in_use = array("q", bytes(8 * n_sources))
        """Per source: local ports carrying at least one socket (a typed array the compiled path shares)."""
        self._views: list[list[bytearray | None]] = [[None] * n_keys for _ in range(n_sources)]
        self._n_keys = n_keys
        self._busy = array("q", bytes(8 * n_sources * n_keys))
        """Per (source, key), at ``src * n_keys + key``: 4-tuples its view does not offer (shared like ``in_use``)."""
        self._released: list[list[array[float] | None]] = [[None] * n_keys for _ in range(n_sources)]
        self._recyclable: dict[tuple[int, int, int], Connection] = {}
        self.ports_in_use = 0
        """Distinct (source address, port) pairs carrying at least one socket."""
        self.window_start = 0.0
        self._port_moment = 0.0
        """Port-busy seconds so far, less ``ports_in_use * now``: each port taken subtracts its time, each one
        freed adds it (a sum over ports, not a start time per port: one array fewer on the hot path)."""
        self._usable = size - len(self.reserved)
        self.offsets = [offset_of(slot, size, layout) for slot in range(size)]
        """Offset from the low end of the range of the port in each slot."""

    @property
    def usable_per_source(self) -> int:
        """Ports automatic selection may hand out on one source address."""
        return self.size - len(self.reserved)

    def port_offset(self, slot: int) -> int:
        """Offset from the low end of the range of the port in ``slot``."""
        return self.offsets[slot]

    def view(self, src: int, dst: int) -> bytearray:
        """Usability bytes for connect() from ``src`` to ``dst``: zero where the port may be taken."""
        k = dst if self.sharing else 0
        v = self._views[src][k]
        if v is None:
            v = self._views[src][k] = bytearray(self._base[src])
            self._busy[src * self._n_keys + k] = self._bound[src]
            self._released[src][k] = array("d", [NEVER]) * self.size
        return v

    def request(self, src: int, dst: int) -> tuple[bytearray, float]:
        """The usability bytes for connect() from ``src`` to ``dst``, and the fraction of usable ports taken."""
        k = dst if self.sharing else 0
        v = self._views[src][k]
        if v is None:
            v = self.view(src, dst)
        return v, self._busy[src * self._n_keys + k] / self._usable

    def local_occupancy(self, src: int) -> float:
        """Fraction of usable ports on ``src`` carrying any socket: what bind(port=0) cannot take."""
        return self.in_use[src] / self.usable_per_source

    def take(self, src: int, dst: int, slot: int, bound: bool, now: float) -> tuple[float, Connection | None]:
        """Hold ``slot`` for a new connection.

        Returns (seconds since this 4-tuple was last released or -1, the TIME_WAIT connection it
        recycled or None).
        """
        k = dst if self.sharing else 0
        views = self._views[src]
        v = views[k]
        if v is None:
            v = self.view(src, dst)
        if v[slot]:
            raise ValueError(f"4-tuple (source {src}, slot {slot}, key {k}) is not free")
        refs = self.refs[src]
        busy, row = self._busy, src * self._n_keys
        recycled = self._recyclable.pop((src, k, slot), None) if self._recyclable else None
        if bound:
            if refs[slot]:
                raise ValueError(f"port slot {slot} on source {src} is in use and cannot be bound")
            self._base[src][slot] = BOUND
            self._bound[src] += 1
            for j, other in enumerate(views):
                if other is not None:
                    other[slot] = BOUND
                    busy[row + j] += 1
            v[slot] = ESTABLISHED | BOUND
        else:
            v[slot] = ESTABLISHED
            busy[row + k] += 1
        if recycled is None:
            refs[slot] += 1
            if refs[slot] == 1:
                self.local[src][slot] = 1
                self.in_use[src] += 1
                self.ports_in_use += 1
                self._port_moment -= now
        last = self._released[src][k][slot]  # type: ignore[index]
        return (-1.0 if last == NEVER else now - last), recycled

    def close(self, src: int, dst: int, slot: int, state: int) -> None:
        """The ESTABLISHED 4-tuple on ``slot`` moves to ``TIME_WAIT`` or ``FIN_WAIT2`` (this side closed first)."""
        v = self._views[src][dst if self.sharing else 0]
        v[slot] = state | (v[slot] & BOUND)  # type: ignore[index]

    def make_reusable(self, src: int, dst: int, slot: int, connection: Connection, now: float) -> bool:
        """Let new connections take over the TIME_WAIT 4-tuple on ``slot`` (tcp_tw_reuse); False if not in TIME_WAIT."""
        k = dst if self.sharing else 0
        v = self._views[src][k]
        if v is None or v[slot] != TIME_WAIT:
            return False
        v[slot] = 0
        self._busy[src * self._n_keys + k] -= 1
        self._recyclable[(src, k, slot)] = connection
        released = self._released[src][k]
        assert released is not None
        released[slot] = now
        return True

    def release(self, src: int, dst: int, slot: int, bound: bool, now: float) -> None:
        """Free the 4-tuple on ``slot`` (and the port itself if it was bound)."""
        k = dst if self.sharing else 0
        views = self._views[src]
        v = views[k]
        busy, row = self._busy, src * self._n_keys
        if self._recyclable and self._recyclable.pop((src, k, slot), None) is not None:
            pass  # a promoted TIME_WAIT expiring untouched: its byte is already zero
        else:
            if bound:
                self._base[src][slot] = 0
                self._bound[src] -= 1
                for j, other in enumerate(views):
                    if other is not None:
                        other[slot] = 0
                        busy[row + j] -= 1
            else:
                v[slot] = 0  # type: ignore[index]
                busy[row + k] -= 1
            self._released[src][k][slot] = now  # type: ignore[index]
        refs = self.refs[src]
        refs[slot] -= 1
        if refs[slot] == 0:
            self.local[src][slot] = 0
            self.in_use[src] -= 1
            self.ports_in_use -= 1
            self._port_moment += now

    def start_window(self, now: float) -> None:
        """Count port-busy seconds from ``now`` on."""
        self.window_start = now
        self._port_moment = -self.ports_in_use * now

    def port_seconds(self, now: float) -> float:
        """Seconds local ports were in use between the window start and ``now``, summed over ports."""
        return self._port_moment + self.ports_in_use * now

    def flags(self, src: int, dst: int) -> bytearray:
        """The flags of every slot for connect() from ``src`` to ``dst``, to read only (no view is created)."""
        v = self._views[src][dst if self.sharing else 0]
        return v if v is not None else self._base[src]

    def state(self, src: int, dst: int, slot: int) -> int:
        """The flags of one 4-tuple (0 when free or takeable)."""
        v = self._views[src][dst if self.sharing else 0]
        return (v if v is not None else self._base[src])[slot]
