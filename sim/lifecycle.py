"""Connection lifecycle: ESTABLISHED for the drawn duration, then close; who closes first decides the rest.

- ``client``: this host closes first and keeps the 4-tuple in TIME_WAIT for the host's time_wait
  (kernel.md fact 16), rounded up to the timer granularity, then frees it. Past ``max_tw_buckets``
  TIME_WAIT (and FIN_WAIT2) sockets, a closing connection skips TIME_WAIT.
- ``server``: the peer closes first and holds TIME_WAIT; this host frees the 4-tuple at once (fact 20).
- ``reset``: SO_LINGER {1, 0}; an RST frees the 4-tuple at once on both sides (fact 21).
- ``half``: this host closes but the peer never does: the orphan sits in FIN_WAIT2 for
  ``fin_timeout``, and is never taken over by tcp_tw_reuse (fact 18).

With tcp_tw_reuse, a TIME_WAIT 4-tuple toward an eligible destination becomes takeable once it is
older than ``tw_reuse_delay`` (fact 17); a new connection that takes it ends the TIME_WAIT.

Connection ends and timer expiries are kept in a calendar of their own (a heap for ends, FIFO queues
for the fixed-length timers) and applied in time order whenever the simulation clock is about to be
read: before each connect() attempt and each time-series sample. This gives the same trajectory as
one SimPy event per end, at a fraction of the cost.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .pool import FIN_WAIT2, TIME_WAIT, PortPool
from .stats import Recorder

Close = Literal["client", "server", "reset", "half"]
Connection = tuple[int, int, int, int, int]
"""(source index, destination index, slot, workload index, connection id)."""

INF = math.inf


@dataclass(frozen=True)
class Timers:
    """The host's TCP timers and reuse rules (seconds)."""

    time_wait: float
    fin_timeout: float = 60.0
    granularity: float = 0.0
    max_tw_buckets: int | None = None
    reuse_delay: float = 1.0

    def time_wait_end(self, closed_at: float) -> float:
        """When a TIME_WAIT entered at ``closed_at`` expires: on the timer grid when there is one."""
        end = closed_at + self.time_wait
        if self.granularity > 0:
            end = math.ceil(end / self.granularity - 1e-12) * self.granularity
        return end


class Lifecycle:
    """Schedules connection ends and timer expiries and applies them to the pool and recorder."""

    def __init__(
        self,
        pool: PortPool,
        recorder: Recorder,
        timers: Timers,
        close: Sequence[Close],
        bound: Sequence[bool],
        reusable: Sequence[Sequence[bool]] = (),
    ) -> None:
        """``reusable[w][d]``: whether tcp_tw_reuse lets connections of workload w to destination d be taken over."""
        self.pool = pool
        self.recorder = recorder
        self.timers = timers
        self._close = list(close)
        self._bound = list(bound)
        self._reusable = [list(r) for r in reusable] if reusable else [[False] * pool.n_destinations for _ in close]
        self._ends: list[tuple[float, int, Connection]] = []
        self._time_waits: deque[tuple[float, Connection]] = deque()
        self._fin_waits: deque[tuple[float, Connection]] = deque()
        self._promotions: deque[tuple[float, Connection]] = deque()
        self._waiting_promotion: set[int] = set()
        self._recycled: set[int] = set()

    def open(self, end: float, connection: Connection) -> None:
        """Register an ESTABLISHED connection that closes at time ``end``."""
        heapq.heappush(self._ends, (end, connection[4], connection))

    def set_reusable(self, w: int, dst: int, reusable: bool) -> None:
        """Whether tcp_tw_reuse may take over TIME_WAIT 4-tuples of workload ``w`` to destination ``dst``."""
        self._reusable[w][dst] = reusable

    def recycled(self, connection_id: int, dst: int) -> None:
        """A new connection took over the TIME_WAIT 4-tuple of ``connection_id`` (tcp_tw_reuse)."""
        self._recycled.add(connection_id)
        self._waiting_promotion.discard(connection_id)
        self.recorder.time_wait_recycled(dst)

    @property
    def pending(self) -> int:
        """Connections not yet fully released."""
        return len(self._ends) + len(self._time_waits) + len(self._fin_waits) - len(self._recycled)

    def advance(self, now: float) -> None:
        """Apply every close and expiry due at or before ``now``, in time order.

        At equal times a close goes before an expiry, and both before the caller's own event. A
        TIME_WAIT becomes takeable only when strictly older than the reuse delay.
        """
        ends = self._ends
        time_waits = self._time_waits
        fin_waits = self._fin_waits
        promotions = self._promotions
        while True:
            t_end = ends[0][0] if ends else INF
            t_tw = time_waits[0][0] if time_waits else INF
            t_fw = fin_waits[0][0] if fin_waits else INF
            t = min(t_end, t_tw, t_fw)
            if promotions:
                t_promote = promotions[0][0]
                if t_promote < now and t_promote < t:
                    _, conn = promotions.popleft()
                    self._promote(t_promote, conn)
                    continue
            if t > now:
                return
            if t == t_end:
                self._end(t, heapq.heappop(ends)[2])
            elif t == t_tw:
                conn = time_waits.popleft()[1]
                if conn[4] in self._recycled:
                    self._recycled.discard(conn[4])
                    continue
                self._waiting_promotion.discard(conn[4])
                self.recorder.tick(t)
                self.recorder.time_wait_expired(conn[1])
                self.pool.release(conn[0], conn[1], conn[2], self._bound[conn[3]], t)
            else:
                conn = fin_waits.popleft()[1]
                self.recorder.tick(t)
                self.recorder.fin_wait2_expired(conn[1])
                self.pool.release(conn[0], conn[1], conn[2], self._bound[conn[3]], t)

    def _end(self, t: float, conn: Connection) -> None:
        src, dst, slot, w, ident = conn
        recorder = self.recorder
        recorder.tick(t)
        close = self._close[w]
        timers = self.timers
        if close in ("client", "half"):
            limit = timers.max_tw_buckets
            if limit is not None and recorder.n_time_wait + recorder.n_fin_wait2 >= limit:
                recorder.time_wait_overflow(dst)
                self.pool.release(src, dst, slot, self._bound[w], t)
            elif close == "half":
                self.pool.close(src, dst, slot, FIN_WAIT2)
                recorder.close_to_fin_wait2(dst)
                self._fin_waits.append((t + timers.fin_timeout, conn))
            elif timers.time_wait > 0:
                self.pool.close(src, dst, slot, TIME_WAIT)
                recorder.close_to_time_wait(dst)
                self._time_waits.append((timers.time_wait_end(t), conn))
                if self._reusable[w][dst]:
                    self._promotions.append((t + timers.reuse_delay, conn))
                    self._waiting_promotion.add(ident)
            else:
                recorder.close_released(dst)
                self.pool.release(src, dst, slot, self._bound[w], t)
        else:
            recorder.close_released(dst)
            self.pool.release(src, dst, slot, self._bound[w], t)

    def _promote(self, t: float, conn: Connection) -> None:
        if conn[4] not in self._waiting_promotion:
            return  # its TIME_WAIT already ended
        self._waiting_promotion.discard(conn[4])
        self.pool.make_reusable(conn[0], conn[1], conn[2], conn[4], t)
