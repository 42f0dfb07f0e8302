"""The transition rules: what happens when a connection closes and when its timers expire.

Who closes first decides the rest:

- ``client``: this host closes first and keeps the 4-tuple in TIME_WAIT for the host's time_wait
  (kernel.md fact 16), rounded up to the timer grid, then frees it. Past ``max_tw_buckets`` TIME_WAIT
  (and FIN_WAIT2) sockets, a closing connection skips TIME_WAIT.
- ``server``: the peer closes first and holds TIME_WAIT; this host frees the 4-tuple at once (fact 20).
- ``reset``: SO_LINGER {1, 0}; an RST frees the 4-tuple at once on both sides (fact 21).
- ``half``: this host closes but the peer never does: the orphan sits in FIN_WAIT2 for
  ``fin_timeout``, and is never taken over by tcp_tw_reuse (fact 18).

With tcp_tw_reuse, a TIME_WAIT 4-tuple toward an eligible destination becomes takeable once it is
older than ``tw_reuse_delay`` (fact 17); a new connection that takes it ends the TIME_WAIT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from .accounting import Accounting
from .calendar import Calendar
from .hooks import Connection, Hooks
from .pool import FIN_WAIT2, TIME_WAIT, PortPool
from .timers import Timers

Close = Literal["client", "server", "reset", "half"]
CLOSES: tuple[Close, ...] = ("client", "server", "reset", "half")
CLIENT, HALF, AT_ONCE = 0, 1, 2
CLOSE_CODES: dict[Close, int] = {"client": CLIENT, "half": HALF, "server": AT_ONCE, "reset": AT_ONCE}
PER_CONNECTION = 3
"""The close code of a class whose connections each have their own (``Transitions.sides``): replayed traces."""


class Transitions:
    """Applies closes and expiries to the pool, the calendar and the accounting, and tells the hooks."""

    def __init__(
        self,
        pool: PortPool,
        timers: Timers,
        calendar: Calendar,
        levels: Accounting,
        hooks: Hooks,
        close: Sequence[Close],
        bound: Sequence[bool],
        reusable: Sequence[Sequence[bool]],
    ) -> None:
        """Per connection class c: ``close[c]``, ``bound[c]`` and ``reusable[c][destination]``."""
        self.pool = pool
        self.timers = timers
        self.calendar = calendar
        self.levels = levels
        self.hooks = hooks
        self.close_codes = [CLOSE_CODES[c] for c in close]
        self.bound = list(bound)
        self.reusable = [list(r) for r in reusable]
        self.reusable_since: dict[int, float] = {}
        """TIME_WAITs that tcp_tw_reuse may take over, by connection id: when they entered TIME_WAIT."""
        self.recycled_ids: set[int] = set()
        """TIME_WAITs taken over by tcp_tw_reuse whose expiry is still in the calendar."""
        self.sides: dict[int, int] = {}
        """Close codes of open connections of PER_CONNECTION classes, by connection id."""

    def end(self, t: float, conn: Connection, code: int | None = None) -> None:
        """The ESTABLISHED connection closes at ``t`` (``code``: the close side, else its class's)."""
        src, dst, slot, c, ident, opened = conn
        if code is None:
            code = self.close_codes[c]
            if code == PER_CONNECTION:
                code = self.sides.pop(ident)
        levels = self.levels
        levels.closed(opened, t)
        for hook in self.hooks.closed:
            hook(conn, t, code)
        if code != AT_ONCE:
            timers = self.timers
            limit = timers.max_tw_buckets
            if limit is not None and self.waiting() >= limit:
                levels.dest_overflow[dst] += 1
            elif code == HALF:
                self.pool.close(src, dst, slot, FIN_WAIT2)
                levels.entered_fin_wait2()
                self.calendar.fin_waits.append((t + timers.fin_timeout, conn, t))
                return
            elif timers.time_wait > 0:
                self.pool.close(src, dst, slot, TIME_WAIT)
                levels.entered_time_wait(src, dst)
                self.calendar.time_waits.append((timers.time_wait_end(t), conn, t))
                if self.reusable[c][dst]:
                    self.calendar.promotions.append((t + timers.reuse_delay, conn))
                    self.reusable_since[ident] = t
                return
        levels.released(dst)
        self.release(t, conn)

    def waiting(self) -> int:
        """The TIME_WAIT and FIN_WAIT2 sockets ``max_tw_buckets`` counts."""
        return self.levels.time_wait + self.levels.fin_wait2

    def release(self, t: float, conn: Connection) -> None:
        """Free the connection's 4-tuple in the pool (and its port when it was bound)."""
        self.pool.release(conn[0], conn[1], conn[2], self.bound[conn[3]], t)
        for hook in self.hooks.released:
            hook(conn, t)

    def expire_time_wait(self, t: float, conn: Connection, since: float) -> None:
        """A TIME_WAIT entered at ``since`` reaches its expiry at ``t`` (nothing when tw_reuse took it over)."""
        ident = conn[4]
        if ident in self.recycled_ids:
            self.recycled_ids.discard(ident)
            return
        if self.reusable_since:
            self.reusable_since.pop(ident, None)
        self.levels.left_time_wait(conn[0], conn[1], since, t)
        self.release(t, conn)

    def expire_fin_wait2(self, t: float, conn: Connection, since: float) -> None:
        """A FIN_WAIT2 orphan entered at ``since`` expires at ``t``."""
        self.levels.left_fin_wait2(conn[1], since, t)
        self.release(t, conn)

    def promote(self, t: float, conn: Connection) -> None:
        """The connection's TIME_WAIT is older than the tw_reuse delay: new connections may take it over."""
        if conn[4] in self.reusable_since:  # still in its TIME_WAIT
            self.pool.make_reusable(conn[0], conn[1], conn[2], conn, t)

    def recycle(self, conn: Connection, now: float) -> None:
        """At ``now`` a new connection took over the TIME_WAIT 4-tuple of ``conn`` (tcp_tw_reuse)."""
        ident, dst = conn[4], conn[1]
        self.recycled_ids.add(ident)
        self.levels.left_time_wait(conn[0], dst, self.reusable_since.pop(ident), now)
        self.levels.dest_recycled[dst] += 1
        for hook in self.hooks.released:
            hook(conn, now)


class GroupTransitions(Transitions):
    """The rules of one host group of a fleet whose levels are counted together: ``max_tw_buckets`` against the
    group's own TIME_WAIT and FIN_WAIT2 sockets (the fleet's shared counts change by this group's own steps
    during each of its calls, so the difference is the group's)."""

    own = 0
    """This group's TIME_WAIT and FIN_WAIT2 sockets."""

    def waiting(self) -> int:
        """This group's TIME_WAIT and FIN_WAIT2 sockets."""
        return self.own

    def end(self, t: float, conn: Connection, code: int | None = None) -> None:
        """``Transitions.end``, counting the group's own."""
        before = super().waiting()
        super().end(t, conn, code)
        self.own += super().waiting() - before

    def expire_time_wait(self, t: float, conn: Connection, since: float) -> None:
        """``Transitions.expire_time_wait``, counting the group's own."""
        before = super().waiting()
        super().expire_time_wait(t, conn, since)
        self.own += super().waiting() - before

    def expire_fin_wait2(self, t: float, conn: Connection, since: float) -> None:
        """``Transitions.expire_fin_wait2``, counting the group's own."""
        self.own -= 1
        super().expire_fin_wait2(t, conn, since)

    def recycle(self, conn: Connection, now: float) -> None:
        """``Transitions.recycle``, counting the group's own."""
        self.own -= 1
        super().recycle(conn, now)
