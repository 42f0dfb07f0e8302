"""How a translator attaches to the model: after the host's connect(), through the lifecycle's close hook.

``NatLayer.connect`` wraps the host's connect(): a connection that got its local port asks the translator
for a mapping. Without one the translator drops its SYN: the attempt fails with the translator's error
(counted apart from the host's EADDRNOTAVAIL) and the host port stays held, in SYN_SENT, for the kind's
``connect_timeout``. The kernel retransmits the SYN meanwhile and each retransmit tries the translator
again (docs/nat-kernel.md), so a real client may see a delay where portsim counts the first drop as the
failure. Closes reach the translator through ``Lifecycle.on_close``; nothing is added to the host's path.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from ..core.hooks import Connection, Driven
from ..core.host import HostParts
from .translator import Translator

ConnectFn = Callable[[int, int, int, float], Connection | None]
"""connect(workload, source, destination, now) -> the connection, or None on failure."""


class NatLayer:
    """A translator in front of the fleet's hosts."""

    def __init__(
        self,
        translator: Translator,
        lifecycle: Driven,
        parts: Sequence[HostParts],
        connect: ConnectFn,
        failed: Callable[[int, int, float], None],
        *,
        rst: Sequence[bool],
        bound: Sequence[bool],
        host_of_source: Sequence[int],
    ) -> None:
        """``lifecycle``: the hosts' (this layer advances it, then its SYN releases and the translator's frees,
        all due before a host picks a port); ``parts``: per workload, the parts of the hosts running it;
        ``connect``: the host's connect() without its own advance; ``failed(workload, destination, now)`` records
        a dropped attempt; ``rst``/``bound``: per workload, whether it closes by RST and binds;
        ``host_of_source``: per source index, its host."""
        self.translator = translator
        self._pools = [p.pool for p in parts]
        self._lows = [p.host.low for p in parts]
        self._failed = failed
        self._connect = connect
        self._rst = list(rst)
        self._bound = list(bound)
        self._host_of = list(host_of_source)
        self._below = lifecycle.advance
        self._timeout = translator.kind.connect_timeout
        self._held: deque[tuple[float, Connection]] = deque()
        """Host ports held by a dropped SYN until connect() times out, (time, connection), in time order."""
        lifecycle.on_close(self._closed)

    def _closed(self, conn: Connection, t: float, code: int) -> None:
        self.translator.closed(conn[4], t, self._rst[conn[3]])

    def advance(self, now: float) -> None:
        """Bring the layers below, the translator and the dropped SYNs up to ``now``."""
        self._below(now)
        self.translator.advance(now)
        held = self._held
        while held and held[0][0] <= now:
            t, c = held.popleft()
            w = c[3]
            self._pools[w].release(c[0], c[1], c[2], self._bound[w], t)

    def mapped(self, conn: Connection) -> bool:
        """Whether ``conn`` still has its mapping (as of the last ``advance``)."""
        return self.translator.mapped(conn[4])

    def touch(self, conn: Connection, now: float) -> None:
        """A client pool's request on ``conn`` at ``now``: traffic, which restarts its mapping's idle timer."""
        self.translator.touch(conn[4], now)

    def sample(self, now: float) -> None:
        """Append the translator's time-series row at ``now`` (call once everything is advanced to ``now``)."""
        self.translator.sample(now, len(self._held))

    def connect(self, w: int, src: int, dst: int, now: float) -> Connection | None:
        """Workload ``w``'s connect() through the translator: the connection, or None on either's failure."""
        self.advance(now)
        conn = self._connect(w, src, dst, now)
        if conn is None:
            return None
        port = self._lows[w] + self._pools[w].offsets[conn[2]]
        if self.translator.map(conn[4], self._host_of[src], port, dst, now):
            return conn
        self._failed(w, dst, now)
        self._held.append((now + self._timeout, conn))
        return None
