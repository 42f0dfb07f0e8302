"""Connection lifecycle: ESTABLISHED for the drawn duration, then close; who closes first decides the rest.

- ``client``: this host closes first and keeps the 4-tuple in TIME_WAIT for the host's time_wait,
  then frees it (kernel.md fact 16).
- ``server``: the peer closes first and holds TIME_WAIT; this host frees the 4-tuple at once (fact 20).
- ``reset``: SO_LINGER {1, 0}; an RST frees the 4-tuple at once on both sides (fact 21).

Connection ends and TIME_WAIT expiries are kept in a calendar of their own (a heap and a FIFO) and
applied in time order whenever the simulation clock is about to be read: before each connect()
attempt and each time-series sample. This gives the same trajectory as one SimPy event per end,
at a fraction of the cost.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Sequence
from typing import Literal

from .pool import PortPool
from .stats import Recorder

Close = Literal["client", "server", "reset"]
Connection = tuple[int, int, int, int]
"""(source index, destination index, port offset, workload index)."""


class Lifecycle:
    """Schedules connection ends and TIME_WAIT expiries and applies them to the pool and recorder."""

    def __init__(
        self,
        pool: PortPool,
        recorder: Recorder,
        time_wait: float,
        close: Sequence[Close],
        bound: Sequence[bool],
    ) -> None:
        self.pool = pool
        self.recorder = recorder
        self.time_wait = time_wait
        self._client_closes = [c == "client" for c in close]
        self._bound = list(bound)
        self._ends: list[tuple[float, int, Connection]] = []
        self._expiries: deque[tuple[float, Connection]] = deque()
        self._sequence = itertools.count()

    def open(self, end: float, connection: Connection) -> None:
        """Register an ESTABLISHED connection that closes at time ``end``."""
        heapq.heappush(self._ends, (end, next(self._sequence), connection))

    @property
    def pending(self) -> int:
        """Connections not yet fully released (ESTABLISHED or TIME_WAIT)."""
        return len(self._ends) + len(self._expiries)

    def advance(self, now: float) -> None:
        """Apply every close and TIME_WAIT expiry due at or before ``now``, in time order.

        At equal times a close goes before an expiry, and both before the caller's own event.
        """
        ends = self._ends
        expiries = self._expiries
        pool = self.pool
        recorder = self.recorder
        while True:
            t_end = ends[0][0] if ends else float("inf")
            t_exp = expiries[0][0] if expiries else float("inf")
            if t_end <= t_exp:
                if t_end > now:
                    return
                _, _, conn = heapq.heappop(ends)
                src, dst, o, w = conn
                recorder.tick(t_end)
                if self._client_closes[w] and self.time_wait > 0:
                    pool.enter_time_wait(src, dst, o)
                    recorder.close_to_time_wait(dst)
                    expiries.append((t_end + self.time_wait, conn))
                else:
                    recorder.close_released(dst)
                    pool.release(src, dst, o, self._bound[w], t_end)
            else:
                if t_exp > now:
                    return
                _, conn = expiries.popleft()
                src, dst, o, w = conn
                recorder.tick(t_exp)
                recorder.time_wait_expired(dst)
                pool.release(src, dst, o, self._bound[w], t_exp)
