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

from ..core.hooks import Connection
from ..core.host import HostParts
from .translator import Translator

ConnectFn = Callable[[int, int, int, float], Connection | None]
"""connect(workload, source, destination, now) -> the connection, or None on failure."""


class NatLayer:
    """A translator in front of the fleet's hosts (one source index range per host)."""

    def __init__(
        self,
        translator: Translator,
        parts: HostParts,
        connect: ConnectFn,
        failed: Callable[[int, int, float], None],
        *,
        rst: Sequence[bool],
        bound: Sequence[bool],
        sources_per_host: int,
        advance: Callable[[float], None],
    ) -> None:
        """``connect``: the host's connect() without its own advance (this layer advances the layers below
        first, then its SYN releases and the translator's frees, all due before the host picks a port);
        ``failed(workload, destination, now)`` records a dropped attempt; ``rst``/``bound``: per workload,
        whether it closes by RST and binds; ``advance``: the layers below's."""
        self.translator = translator
        self.pool = parts.pool
        self.low = parts.host.low
        self._failed = failed
        self._connect = connect
        self._rst = list(rst)
        self._bound = list(bound)
        self._per_host = sources_per_host
        self._below = advance
        self._timeout = translator.kind.connect_timeout
        self._held: deque[tuple[float, Connection]] = deque()
        """Host ports held by a dropped SYN until connect() times out, (time, connection), in time order."""
        parts.lifecycle.on_close(self._closed)

    def _closed(self, conn: Connection, t: float, code: int) -> None:
        self.translator.closed(conn[4], t, self._rst[conn[3]])

    def advance(self, now: float) -> None:
        """Bring the layers below, the translator and the dropped SYNs up to ``now``."""
        self._below(now)
        self.translator.advance(now)
        held = self._held
        while held and held[0][0] <= now:
            t, c = held.popleft()
            self.pool.release(c[0], c[1], c[2], self._bound[c[3]], t)

    def sample(self, now: float) -> None:
        """Append the translator's time-series row at ``now`` (call once everything is advanced to ``now``)."""
        self.translator.sample(now, len(self._held))

    def connect(self, w: int, src: int, dst: int, now: float) -> Connection | None:
        """Workload ``w``'s connect() through the translator: the connection, or None on either's failure."""
        self.advance(now)
        conn = self._connect(w, src, dst, now)
        if conn is None:
            return None
        port = self.low + self.pool.offsets[conn[2]]
        if self.translator.map(conn[4], src // self._per_host, port, dst, now):
            return conn
        self._failed(w, dst, now)
        self._held.append((now + self._timeout, conn))
        return None
