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

The lifecycle also keeps the *levels*: how many connections are ESTABLISHED, in TIME_WAIT and in
FIN_WAIT2 (in all and per destination), their peaks, and the seconds spent in each state inside
the measured window (each interval adds its seconds when it ends; ``still_open`` gives the rest).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .pool import FIN_WAIT2, TIME_WAIT, PortPool

Close = Literal["client", "server", "reset", "half"]
Connection = tuple[int, int, int, int, int, float]
"""(source index, destination index, slot, workload index, connection id, time it opened)."""

INF = math.inf
CLIENT, HALF, AT_ONCE = 0, 1, 2
CLOSE_CODES = {"client": CLIENT, "half": HALF, "server": AT_ONCE, "reset": AT_ONCE}


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
    """Schedules connection ends and timer expiries, applies them to the pool, and counts the levels."""

    def __init__(
        self,
        pool: PortPool,
        timers: Timers,
        close: Sequence[Close],
        bound: Sequence[bool],
        reusable: Sequence[Sequence[bool]] = (),
    ) -> None:
        """``reusable[w][d]``: whether tcp_tw_reuse lets connections of workload w to destination d be taken over."""
        self.pool = pool
        self.timers = timers
        n_dest = pool.n_destinations
        self._close = [CLOSE_CODES[c] for c in close]
        self._bound = list(bound)
        self._reusable = [list(r) for r in reusable] if reusable else [[False] * n_dest for _ in close]
        self._ends: list[tuple[float, int, Connection]] = []
        self._time_waits: deque[tuple[float, Connection, float]] = deque()
        self._fin_waits: deque[tuple[float, Connection, float]] = deque()
        self._promotions: deque[tuple[float, Connection]] = deque()
        self._reusable_since: dict[int, float] = {}
        """TIME_WAITs that tcp_tw_reuse may take over, by connection id: when they entered TIME_WAIT."""
        self._recycled: set[int] = set()
        self._simple_time_wait = timers.time_wait > 0

        self.established = 0
        self.time_wait = 0
        self.fin_wait2 = 0
        self.peak_established = 0
        self.peak_time_wait = 0
        self.peak_fin_wait2 = 0
        self.dest_held = [0] * n_dest
        """Per destination: 4-tuples held (ESTABLISHED, TIME_WAIT or FIN_WAIT2)."""
        self.dest_time_wait = [0] * n_dest
        self.dest_peak_held = [0] * n_dest
        self.dest_peak_time_wait = [0] * n_dest
        self.dest_recycled = [0] * n_dest
        self.dest_overflow = [0] * n_dest
        self.window_start = 0.0
        self.seconds_established = 0.0
        self.seconds_time_wait = 0.0
        self.seconds_fin_wait2 = 0.0

    def set_reusable(self, w: int, dst: int, reusable: bool) -> None:
        """Whether tcp_tw_reuse may take over TIME_WAIT 4-tuples of workload ``w`` to destination ``dst``."""
        self._reusable[w][dst] = reusable

    # ----------------------------------------------------------------- events

    def open(self, end: float, connection: Connection) -> None:
        """Register a connection ESTABLISHED now (``connection[5]``) that closes at time ``end``."""
        heapq.heappush(self._ends, (end, connection[4], connection))
        n = self.established = self.established + 1  # as in start(), inline: this runs per connection
        if n > self.peak_established:
            self.peak_established = n
        dst = connection[1]
        held = self.dest_held[dst] = self.dest_held[dst] + 1
        if held > self.dest_peak_held[dst]:
            self.dest_peak_held[dst] = held

    def start(self, connection: Connection) -> None:
        """Count a connection ESTABLISHED from now, whose end is not scheduled (see ``close_now``)."""
        n = self.established = self.established + 1
        if n > self.peak_established:
            self.peak_established = n
        dst = connection[1]
        held = self.dest_held[dst] = self.dest_held[dst] + 1
        if held > self.dest_peak_held[dst]:
            self.dest_peak_held[dst] = held

    def close_now(self, now: float, connection: Connection) -> None:
        """Close a connection counted with ``start`` at ``now`` (after anything else due by then)."""
        self.advance(now)
        self._end(now, connection)
        self.advance(now)

    def recycled(self, connection_id: int, dst: int, now: float) -> None:
        """At ``now`` a new connection took over the TIME_WAIT 4-tuple of ``connection_id`` (tcp_tw_reuse)."""
        self._recycled.add(connection_id)
        self._time_wait_ended(dst, self._reusable_since.pop(connection_id), now)
        self.dest_recycled[dst] += 1

    def measured(self, start: float, end: float) -> float:
        """Seconds of [start, end] inside the measured window."""
        window = self.window_start
        return end - (start if start > window else window) if end > window else 0.0

    def advance(self, now: float) -> None:
        """Apply every close and expiry due at or before ``now``, in time order.

        At equal times a close goes before an expiry, and both before the caller's own event. A
        TIME_WAIT becomes takeable only when strictly older than the reuse delay.
        """
        if self._simple_time_wait and not self._fin_waits and not self._promotions and not self._recycled:
            self._advance_simple(now)
        else:
            self._advance_general(now)

    def _advance_general(self, now: float) -> None:
        """``advance`` under every rule: FIN_WAIT2 orphans, tw_reuse promotions, recycled TIME_WAITs."""
        ends = self._ends
        time_waits = self._time_waits
        fin_waits = self._fin_waits
        promotions = self._promotions
        pool = self.pool
        bound = self._bound
        while True:
            t_end = ends[0][0] if ends else INF
            t_tw = time_waits[0][0] if time_waits else INF
            t_fw = fin_waits[0][0] if fin_waits else INF
            t = t_end if t_end <= t_tw else t_tw
            if t_fw < t:
                t = t_fw
            if promotions:
                t_promote = promotions[0][0]
                if t_promote < now and t_promote < t:
                    self._promote(t_promote, promotions.popleft()[1])
                    continue
            if t > now:
                return
            if t == t_end:
                self._end(t, heapq.heappop(ends)[2])
            elif t == t_tw:
                _, conn, closed = time_waits.popleft()
                ident = conn[4]
                if ident in self._recycled:
                    self._recycled.discard(ident)
                    continue
                if self._reusable_since:
                    self._reusable_since.pop(ident, None)
                self._time_wait_ended(conn[1], closed, t)
                pool.release(conn[0], conn[1], conn[2], bound[conn[3]], t)
            else:
                _, conn, closed = fin_waits.popleft()
                self.fin_wait2 -= 1
                self.seconds_fin_wait2 += self.measured(closed, t)
                self.dest_held[conn[1]] -= 1
                pool.release(conn[0], conn[1], conn[2], bound[conn[3]], t)

    def _advance_simple(self, now: float) -> None:
        """``advance`` for the common case: closes and exact TIME_WAIT expiries, no reuse, no orphans.

        The same steps as the general loop, written out inline with the counters in local variables,
        because it runs for every connection.
        """
        ends = self._ends
        time_waits = self._time_waits
        pool = self.pool
        release, close_pool = pool.release, pool.close
        bound, codes, reusable = self._bound, self._close, self._reusable
        dest_held, dest_tw, dest_peak_tw = self.dest_held, self.dest_time_wait, self.dest_peak_time_wait
        timers = self.timers
        time_wait_length, grid = timers.time_wait, timers.granularity
        limit: float = INF if timers.max_tw_buckets is None else timers.max_tw_buckets
        window = self.window_start
        heappop = heapq.heappop
        established, time_wait, peak = self.established, self.time_wait, self.peak_time_wait
        seconds_established, seconds_time_wait = self.seconds_established, self.seconds_time_wait
        other = self.fin_wait2
        try:
            next_end = ends[0][0] if ends else INF
            while True:
                if time_waits and time_waits[0][0] < next_end:
                    t = time_waits[0][0]
                    if t > now:
                        return
                    _, conn, closed = time_waits.popleft()
                    dst = conn[1]
                    time_wait -= 1
                    if t > window:
                        seconds_time_wait += t - (closed if closed > window else window)
                    dest_tw[dst] -= 1
                    dest_held[dst] -= 1
                    release(conn[0], dst, conn[2], bound[conn[3]], t)
                elif next_end <= now:
                    t, _, conn = heappop(ends)
                    next_end = ends[0][0] if ends else INF
                    src, dst, slot, w, _, opened = conn
                    if codes[w] != CLIENT or reusable[w][dst] or time_wait + other >= limit:
                        # the general rules: hand over the counters, let _end update them, take them back
                        self.established, self.time_wait, self.peak_time_wait = established, time_wait, peak
                        self.seconds_established, self.seconds_time_wait = seconds_established, seconds_time_wait
                        self._end(t, conn)
                        if self._promotions or self._fin_waits:
                            self.advance(now)  # the general loop from here on
                        established, time_wait, peak = self.established, self.time_wait, self.peak_time_wait
                        seconds_established, seconds_time_wait = self.seconds_established, self.seconds_time_wait
                        other = self.fin_wait2
                        if self._promotions or self._fin_waits:
                            return
                        next_end = ends[0][0] if ends else INF
                        continue
                    established -= 1
                    if t > window:
                        seconds_established += t - (opened if opened > window else window)
                    close_pool(src, dst, slot, TIME_WAIT)
                    time_wait += 1
                    if time_wait > peak:
                        peak = time_wait
                    tw = dest_tw[dst] = dest_tw[dst] + 1
                    if tw > dest_peak_tw[dst]:
                        dest_peak_tw[dst] = tw
                    expires = timers.time_wait_end(t) if grid else t + time_wait_length
                    time_waits.append((expires, conn, t))
                else:
                    return
        finally:
            self.established, self.time_wait, self.peak_time_wait = established, time_wait, peak
            self.seconds_established, self.seconds_time_wait = seconds_established, seconds_time_wait

    def _end(self, t: float, conn: Connection) -> None:
        src, dst, slot, w, ident, opened = conn
        close = self._close[w]
        timers = self.timers
        self.established -= 1
        self.seconds_established += self.measured(opened, t)
        if close != AT_ONCE:
            limit = timers.max_tw_buckets
            if limit is not None and self.time_wait + self.fin_wait2 >= limit:
                self.dest_overflow[dst] += 1
            elif close == HALF:
                self.pool.close(src, dst, slot, FIN_WAIT2)
                n = self.fin_wait2 = self.fin_wait2 + 1
                if n > self.peak_fin_wait2:
                    self.peak_fin_wait2 = n
                self._fin_waits.append((t + timers.fin_timeout, conn, t))
                return
            elif timers.time_wait > 0:
                self.pool.close(src, dst, slot, TIME_WAIT)
                n = self.time_wait = self.time_wait + 1
                if n > self.peak_time_wait:
                    self.peak_time_wait = n
                tw = self.dest_time_wait[dst] = self.dest_time_wait[dst] + 1
                if tw > self.dest_peak_time_wait[dst]:
                    self.dest_peak_time_wait[dst] = tw
                self._time_waits.append((timers.time_wait_end(t), conn, t))
                if self._reusable[w][dst]:
                    self._promotions.append((t + timers.reuse_delay, conn))
                    self._reusable_since[ident] = t
                return
        self.dest_held[dst] -= 1
        self.pool.release(src, dst, slot, self._bound[w], t)

    def _time_wait_ended(self, dst: int, closed: float, now: float) -> None:
        self.time_wait -= 1
        self.seconds_time_wait += self.measured(closed, now)
        self.dest_time_wait[dst] -= 1
        self.dest_held[dst] -= 1

    def _promote(self, t: float, conn: Connection) -> None:
        if conn[4] in self._reusable_since:  # still in its TIME_WAIT
            self.pool.make_reusable(conn[0], conn[1], conn[2], conn[4], t)

    # ----------------------------------------------------------------- measuring

    def start_window(self, now: float) -> None:
        """Count seconds, peaks, recycled and overflowed TIME_WAITs from ``now`` on."""
        self.window_start = now
        self.seconds_established = self.seconds_time_wait = self.seconds_fin_wait2 = 0.0
        self.peak_established = self.established
        self.peak_time_wait = self.time_wait
        self.peak_fin_wait2 = self.fin_wait2
        self.dest_peak_held = list(self.dest_held)
        self.dest_peak_time_wait = list(self.dest_time_wait)
        self.dest_recycled = [0] * len(self.dest_recycled)
        self.dest_overflow = [0] * len(self.dest_overflow)

    def still_open(self, now: float) -> tuple[float, float, float]:
        """Measured seconds, up to ``now``, of the ESTABLISHED, TIME_WAIT and FIN_WAIT2 intervals not yet ended."""
        measured = self.measured
        established = sum(measured(conn[5], now) for _, _, conn in self._ends)
        time_wait = sum(measured(closed, now) for _, conn, closed in self._time_waits if conn[4] not in self._recycled)
        fin_wait2 = sum(measured(closed, now) for _, _, closed in self._fin_waits)
        return established, time_wait, fin_wait2

    def time_means(self, now: float) -> dict[str, float]:
        """Time-weighted mean of each level over the window ending at ``now`` (ports in use included)."""
        span = now - self.window_start
        if span <= 0:
            return {
                "established": float(self.established),
                "time_wait": float(self.time_wait),
                "fin_wait2": float(self.fin_wait2),
                "ports_in_use": float(self.pool.ports_in_use),
            }
        open_established, open_time_wait, open_fin_wait2 = self.still_open(now)
        return {
            "established": (self.seconds_established + open_established) / span,
            "time_wait": (self.seconds_time_wait + open_time_wait) / span,
            "fin_wait2": (self.seconds_fin_wait2 + open_fin_wait2) / span,
            "ports_in_use": self.pool.port_seconds(now) / span,
        }
