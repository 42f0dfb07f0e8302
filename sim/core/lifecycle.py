"""The connection lifecycle: the calendar, the transition rules and the accounting, driven in time order.

A connection is allocated a port, stays ESTABLISHED until its close, then goes through TIME_WAIT or
FIN_WAIT2 or frees its 4-tuple at once (``transitions``). The lifecycle applies every close and expiry
due (``calendar``) in time order whenever the simulation clock is about to be read: before each
connect() attempt and each time-series sample. This gives the same trajectory as one SimPy event per
close, at a fraction of the cost. ``accounting`` keeps the levels.

Other layers attach through ``on_close`` and ``on_release`` (``hooks``), and drive connections they
manage themselves with ``start``, ``close_at`` and ``close_now``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence

from .accounting import Accounting
from .calendar import Calendar
from .hooks import CloseHook, Connection, Hooks, ReleaseHook
from .pool import TIME_WAIT, PortPool
from .timers import Timers
from .transitions import CLIENT, CLOSE_CODES, PER_CONNECTION, Close, Transitions

INF = math.inf


class Levels:
    """The levels now, read from ``levels`` (one host's counts, or a fleet's)."""

    levels: Accounting

    @property
    def established(self) -> int:
        """Connections ESTABLISHED now."""
        return self.levels.established

    @property
    def time_wait(self) -> int:
        """4-tuples in TIME_WAIT now."""
        return self.levels.time_wait

    @property
    def fin_wait2(self) -> int:
        """4-tuples in FIN_WAIT2 now."""
        return self.levels.fin_wait2

    def start_window(self, now: float) -> None:
        """Count seconds, peaks, recycled and overflowed TIME_WAITs from ``now`` on."""
        self.levels.start_window(now)


class Lifecycle(Levels):
    """Schedules connection closes and timer expiries, applies them to the pool, and counts the levels."""

    def __init__(
        self,
        pool: PortPool,
        timers: Timers,
        close: Sequence[Close],
        bound: Sequence[bool],
        reusable: Sequence[Sequence[bool]] = (),
        *,
        fast: bool = True,
        levels: Accounting | None = None,
        rules: type[Transitions] = Transitions,
    ) -> None:
        """Per connection class c (a workload): ``close[c]``, ``bound[c]``, ``reusable[c][destination]``.

        ``fast=False`` always takes the general path (the reference the fast path is tested against);
        ``levels``: counts shared with other lifecycles (a fleet's host groups), else its own; ``rules``: the
        transition rules' class (a fleet's groups count their own sockets against ``max_tw_buckets``).
        """
        self.pool = pool
        self.timers = timers
        n_dest = pool.n_destinations
        self.calendar = Calendar()
        self.levels = Accounting(n_dest, pool.n_sources) if levels is None else levels
        self.hooks = Hooks()
        reusable = [list(r) for r in reusable] if reusable else [[False] * n_dest for _ in close]
        self.rules = rules(pool, timers, self.calendar, self.levels, self.hooks, close, bound, reusable)
        self._fast = fast and timers.time_wait > 0
        # the calendar's queues, held directly: advance() reads them on every attempt
        self._ends = self.calendar.ends
        self._fin_waits = self.calendar.fin_waits
        self._promotions = self.calendar.promotions
        self._recycled = self.rules.recycled_ids
        # connections counted with start() whose close is not scheduled yet, by id: measured while open
        self._unscheduled: dict[int, Connection] = {}

    # ----------------------------------------------------------------- layers

    def on_close(self, hook: CloseHook) -> None:
        """Call ``hook(connection, time, close code)`` whenever a connection leaves ESTABLISHED (the fast path
        calls it too)."""
        self.hooks.closed.append(hook)

    def on_release(self, hook: ReleaseHook) -> None:
        """Call ``hook(connection, time)`` whenever a connection stops holding its 4-tuple."""
        self.hooks.released.append(hook)
        self._fast = False

    def close_per_connection(self, c: int) -> dict[int, int]:
        """Let each connection of class ``c`` close on a side of its own (a replayed trace's rows).

        Returns the mapping to fill, connection id to close code (``CLOSE_CODES``), before each such
        connection closes. Those connections take the general rules.
        """
        self.rules.close_codes[c] = PER_CONNECTION
        return self.rules.sides

    def set_reusable(self, c: int, dst: int, reusable: bool) -> None:
        """Whether tcp_tw_reuse may take over TIME_WAIT 4-tuples of connection class ``c`` to ``dst``."""
        self.rules.reusable[c][dst] = reusable

    # ----------------------------------------------------------------- events

    def open(self, end: float, connection: Connection) -> None:
        """Register a connection ESTABLISHED now (``connection[5]``) that closes at time ``end``."""
        heapq.heappush(self._ends, (end, connection[4], connection))
        self.levels.opened(connection[1])

    def start(self, connection: Connection) -> None:
        """Count a connection ESTABLISHED from now whose close is not scheduled (see ``close_at``, ``close_now``)."""
        self.levels.opened(connection[1])
        self._unscheduled[connection[4]] = connection

    def close_at(self, t: float, connection: Connection) -> None:
        """Schedule the close of a connection counted with ``start``."""
        self._unscheduled.pop(connection[4], None)
        self.calendar.schedule_end(t, connection)

    def close_now(self, now: float, connection: Connection, close: Close | None = None) -> None:
        """Close a connection counted with ``start`` at ``now``, after anything else due by then.

        ``close``: the side that closes first, if not the connection class's.
        """
        self.advance(now)
        self._unscheduled.pop(connection[4], None)
        self.rules.end(now, connection, None if close is None else CLOSE_CODES[close])
        self.advance(now)

    def recycled(self, connection: Connection, now: float) -> None:
        """At ``now`` a new connection took over the TIME_WAIT 4-tuple of ``connection`` (tcp_tw_reuse)."""
        self.rules.recycle(connection, now)

    def next_due(self) -> float:
        """The time of the next close or expiry in the calendar (inf when none); tw_reuse promotions aside."""
        ends, cal = self._ends, self.calendar
        t = ends[0][0] if ends else INF
        if cal.time_waits and cal.time_waits[0][0] < t:
            t = cal.time_waits[0][0]
        if cal.fin_waits and cal.fin_waits[0][0] < t:
            t = cal.fin_waits[0][0]
        return t

    def advance(self, now: float) -> None:
        """Apply every close and expiry due at or before ``now``, in time order.

        At equal times a close goes before an expiry, and both before the caller's own event. A
        TIME_WAIT becomes takeable only when strictly older than the reuse delay.
        """
        if self._fast and not self._fin_waits and not self._promotions and not self._recycled:
            self._advance_simple(now)
        else:
            self._advance_general(now)

    def _advance_general(self, now: float) -> None:
        """``advance`` under every rule: FIN_WAIT2 orphans, tw_reuse promotions, recycled TIME_WAITs, hooks."""
        ends = self._ends
        cal = self.calendar
        time_waits = cal.time_waits
        fin_waits = cal.fin_waits
        promotions = cal.promotions
        rules = self.rules
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
                    rules.promote(t_promote, promotions.popleft()[1])
                    continue
            if t > now:
                return
            if t == t_end:
                rules.end(t, heapq.heappop(ends)[2])
            elif t == t_tw:
                _, conn, since = time_waits.popleft()
                rules.expire_time_wait(t, conn, since)
            else:
                _, conn, since = fin_waits.popleft()
                rules.expire_fin_wait2(t, conn, since)

    def _advance_simple(self, now: float) -> None:
        """``advance`` for the common case: closes and TIME_WAIT expiries, no reuse, no orphans, no release hooks.

        The same steps as ``_advance_general`` with ``Transitions`` and ``Accounting`` written out
        inline and the counters in local variables, because it runs for every connection. A close the
        inline rules do not cover is handed to ``Transitions.end``.
        """
        ends = self._ends
        time_waits = self.calendar.time_waits
        pool = self.pool
        release, close_pool = pool.release, pool.close
        rules = self.rules
        bound, codes, reusable = rules.bound, rules.close_codes, rules.reusable
        levels = self.levels
        dest_held, dest_tw, dest_peak_tw = levels.dest_held, levels.dest_time_wait, levels.dest_peak_time_wait
        source_tw = levels.source_time_wait
        timers = self.timers
        time_wait_length, grid = timers.time_wait, timers.granularity
        limit: float = INF if timers.max_tw_buckets is None else timers.max_tw_buckets
        window = levels.window_start
        heappop = heapq.heappop
        established, time_wait, peak = levels.established, levels.time_wait, levels.peak_time_wait
        seconds_established, seconds_time_wait = levels.seconds_established, levels.seconds_time_wait
        other = levels.fin_wait2
        closed_hooks = self.hooks.closed
        try:
            next_end = ends[0][0] if ends else INF
            while True:
                if time_waits and time_waits[0][0] < next_end:
                    t = time_waits[0][0]
                    if t > now:
                        return
                    _, conn, closed = time_waits.popleft()
                    dst = conn[1]
                    source_tw[conn[0]] -= 1
                    time_wait -= 1
                    if t > window:
                        seconds_time_wait += t - (closed if closed > window else window)
                    dest_tw[dst] -= 1
                    dest_held[dst] -= 1
                    release(conn[0], dst, conn[2], bound[conn[3]], t)
                elif next_end <= now:
                    t, _, conn = heappop(ends)
                    next_end = ends[0][0] if ends else INF
                    src, dst, slot, c, _, opened = conn
                    if codes[c] != CLIENT or reusable[c][dst] or time_wait + other >= limit:
                        # the general rules: hand over the counters, let them update, take them back
                        levels.established, levels.time_wait, levels.peak_time_wait = established, time_wait, peak
                        levels.seconds_established, levels.seconds_time_wait = seconds_established, seconds_time_wait
                        rules.end(t, conn)
                        established, time_wait, peak = levels.established, levels.time_wait, levels.peak_time_wait
                        seconds_established, seconds_time_wait = levels.seconds_established, levels.seconds_time_wait
                        other = levels.fin_wait2
                        if self._promotions or self._fin_waits:
                            self._store(established, time_wait, peak, seconds_established, seconds_time_wait)
                            self._advance_general(now)  # the general loop from here on
                            established, time_wait, peak = levels.established, levels.time_wait, levels.peak_time_wait
                            seconds_established = levels.seconds_established
                            seconds_time_wait = levels.seconds_time_wait
                            return
                        continue
                    for hook in closed_hooks:
                        hook(conn, t, CLIENT)
                    established -= 1
                    if t > window:
                        seconds_established += t - (opened if opened > window else window)
                    close_pool(src, dst, slot, TIME_WAIT)
                    source_tw[src] += 1
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
            self._store(established, time_wait, peak, seconds_established, seconds_time_wait)

    def _store(self, established: int, time_wait: int, peak: int, seconds_est: float, seconds_tw: float) -> None:
        levels = self.levels
        levels.established, levels.time_wait, levels.peak_time_wait = established, time_wait, peak
        levels.seconds_established, levels.seconds_time_wait = seconds_est, seconds_tw

    # ----------------------------------------------------------------- measuring

    @property
    def ports_in_use(self) -> int:
        """(source address, port) pairs carrying a socket."""
        return self.pool.ports_in_use

    def still_open(self, now: float) -> tuple[float, float, float]:
        """Measured seconds, up to ``now``, of the ESTABLISHED, TIME_WAIT and FIN_WAIT2 intervals not yet ended."""
        w = self.levels.window_start
        if now <= w:
            return 0.0, 0.0, 0.0
        cal = self.calendar
        recycled = self._recycled
        # ``Accounting.measured`` written out: an end-of-run fleet holds hundreds of thousands of TIME_WAITs
        established = sum(now - (c[5] if c[5] > w else w) for _, _, c in cal.ends)
        established += sum(now - (c[5] if c[5] > w else w) for c in self._unscheduled.values())
        if recycled:
            time_wait = sum(now - (s if s > w else w) for _, c, s in cal.time_waits if c[4] not in recycled)
        else:
            time_wait = sum(now - (s if s > w else w) for _, _, s in cal.time_waits)
        fin_wait2 = sum(now - (s if s > w else w) for _, _, s in cal.fin_waits)
        return established, time_wait, fin_wait2

    def time_means(
        self, now: float, still_open: Callable[[float], tuple[float, float, float]] | None = None
    ) -> dict[str, float]:
        """Time-weighted mean of each level over the window ending at ``now`` (ports in use included); ``still_open``
        gives the intervals not yet ended where another calendar holds them (the compiled path's), else its own."""
        pool = self.pool
        opened = self.still_open if still_open is None else still_open
        return level_means(self.levels, now, lambda: opened(now), lambda: pool.port_seconds(now), pool.ports_in_use)


def level_means(
    levels: Accounting,
    now: float,
    still_open: Callable[[], tuple[float, float, float]],
    port_seconds: Callable[[], float],
    ports_in_use: int,
) -> dict[str, float]:
    """Time-weighted means over the window ending at ``now``: ``still_open()`` gives the measured seconds of the
    intervals not yet ended, ``port_seconds()`` the port-busy seconds (the levels now when the window is empty)."""
    span = now - levels.window_start
    if span <= 0:
        return {
            "established": float(levels.established),
            "time_wait": float(levels.time_wait),
            "fin_wait2": float(levels.fin_wait2),
            "ports_in_use": float(ports_in_use),
        }
    open_established, open_time_wait, open_fin_wait2 = still_open()
    return {
        "established": (levels.seconds_established + open_established) / span,
        "time_wait": (levels.seconds_time_wait + open_time_wait) / span,
        "fin_wait2": (levels.seconds_fin_wait2 + open_fin_wait2) / span,
        "ports_in_use": port_seconds() / span,
    }
