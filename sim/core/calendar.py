"""The calendar: when connections end and when their timers expire.

Connection ends have arbitrary times and live in a heap. The fixed-length timers (TIME_WAIT,
FIN_WAIT2, the tcp_tw_reuse delay) are entered in time order and expire in the same order, so each
lives in a FIFO queue. Nothing here decides what an event does: that is ``transitions``.
"""

from __future__ import annotations

import heapq
from collections import deque

from .hooks import Connection


class Calendar:
    """Pending connection ends and timer expiries."""

    def __init__(self) -> None:
        self.ends: list[tuple[float, int, Connection]] = []
        """Heap of (time, connection id, connection): the id breaks ties in opening order."""
        self.time_waits: deque[tuple[float, Connection, float]] = deque()
        """(expiry, connection, time it entered TIME_WAIT), in expiry order."""
        self.fin_waits: deque[tuple[float, Connection, float]] = deque()
        """(expiry, connection, time it entered FIN_WAIT2), in expiry order."""
        self.promotions: deque[tuple[float, Connection]] = deque()
        """(time the tw_reuse delay has passed, connection), in time order."""

    def schedule_end(self, t: float, connection: Connection) -> None:
        """The connection closes at ``t``."""
        heapq.heappush(self.ends, (t, connection[4], connection))
