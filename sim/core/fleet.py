"""A fleet whose host groups differ (presets, ranges, timers): one host's parts per group, run as one.

Each group gets its own parts from ``build_host`` (policy, pool over the group's own source indices,
lifecycle and calendar), all counting into one ``Accounting``. ``FleetLifecycle`` stands for their
lifecycles: it applies their closes and expiries in one time order, so fleet-wide peaks and the layers
in front (a translator's closes) see events as a single calendar would give them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .accounting import Accounting
from .hooks import CloseHook, Connection, ReleaseHook
from .host import HostParts, ResolvedHost, build_host
from .lifecycle import Levels, Lifecycle, level_means
from .transitions import Close, GroupTransitions

INF = math.inf


class FleetLifecycle(Levels):
    """The lifecycles of a fleet's host groups as one: events in global time order, levels counted once."""

    def __init__(self, members: Sequence[Lifecycle], group_of_class: Sequence[int]) -> None:
        """``members``: per group, sharing one ``Accounting``; ``group_of_class[c]``: the group of class c."""
        self.members = list(members)
        self._of = list(group_of_class)
        self.levels = self.members[0].levels

    def _member(self, connection: Connection) -> Lifecycle:
        return self.members[self._of[connection[3]]]

    # ----------------------------------------------------------------- layers

    def on_close(self, hook: CloseHook) -> None:
        """Call ``hook(connection, time, close code)`` whenever a connection of any group leaves ESTABLISHED."""
        for m in self.members:
            m.on_close(hook)

    def on_release(self, hook: ReleaseHook) -> None:
        """Call ``hook(connection, time)`` whenever a connection of any group stops holding its 4-tuple."""
        for m in self.members:
            m.on_release(hook)

    def close_per_connection(self, c: int) -> dict[int, int]:
        """``Lifecycle.close_per_connection`` on class ``c``'s group."""
        return self.members[self._of[c]].close_per_connection(c)

    # ----------------------------------------------------------------- events

    def open(self, end: float, connection: Connection) -> None:
        """``Lifecycle.open`` in the connection's group."""
        self._member(connection).open(end, connection)

    def start(self, connection: Connection) -> None:
        """``Lifecycle.start`` in the connection's group."""
        self._member(connection).start(connection)

    def close_at(self, t: float, connection: Connection) -> None:
        """``Lifecycle.close_at`` in the connection's group."""
        self._member(connection).close_at(t, connection)

    def close_now(self, now: float, connection: Connection, close: Close | None = None) -> None:
        """``Lifecycle.close_now`` in the connection's group, every group brought up to ``now`` first and after."""
        self.advance(now)
        self._member(connection).close_now(now, connection, close)
        self.advance(now)

    def recycled(self, connection: Connection, now: float) -> None:
        """``Lifecycle.recycled`` in the connection's group."""
        self._member(connection).recycled(connection, now)

    def advance(self, now: float) -> None:
        """Apply every group's closes and expiries due at or before ``now`` in one time order: the group with the
        earliest event runs up to the next event of any other (at equal times the group found first goes first)."""
        members = self.members
        while True:
            best = second = INF
            first = None
            for m in members:
                t = m.next_due()
                if t < best:
                    best, second, first = t, best, m
                elif t < second:
                    second = t
            if first is None or best > now:
                break
            first.advance(second if second < now else now)
        for m in members:
            if m.calendar.promotions:  # tw_reuse promotions due, which touch only their own group's pool
                m.advance(now)

    # ----------------------------------------------------------------- measuring

    @property
    def ports_in_use(self) -> int:
        """(source address, port) pairs carrying a socket, fleet-wide."""
        return sum(m.pool.ports_in_use for m in self.members)

    def time_means(self, now: float) -> dict[str, float]:
        """Time-weighted mean of each fleet-wide level over the window ending at ``now``."""
        members = self.members

        def still_open() -> tuple[float, float, float]:
            opens = np.array([m.still_open(now) for m in members]).sum(axis=0)
            return float(opens[0]), float(opens[1]), float(opens[2])

        return level_means(
            self.levels,
            now,
            still_open,
            lambda: sum(m.pool.port_seconds(now) for m in members),
            self.ports_in_use,
        )


def build_fleet(
    groups: Sequence[tuple[ResolvedHost, int, range]],
    destinations: Sequence[tuple[str, int]],
    classes: Sequence[tuple[Close, bool]],
    group_of_class: Sequence[int],
    rngs: Sequence[np.random.Generator],
    *,
    fast: bool = True,
) -> tuple[list[HostParts], FleetLifecycle]:
    """Each group's parts and the lifecycle that runs them as one. ``groups``: per group, one host's settings,
    its number of hosts and its source indices (the fleet's, numbered across groups).

    The fleet's levels are counted once (one ``Accounting``); each group's ``max_tw_buckets`` applies to its
    own TIME_WAIT and FIN_WAIT2 sockets, at each host's limit times the group's hosts (``GroupTransitions``,
    on the lifecycle's general path).
    """
    n_sources = max(sources.stop for _, _, sources in groups)
    levels = Accounting(len(destinations), n_sources)
    # where no group's limit can bite (at or above one host's 4-tuples) each group runs its lifecycle's fast path
    # without it; else every group takes the general path, where GroupTransitions counts its own sockets
    bites = any(host.tw_limit_bites(len(destinations)) for host, _, _ in groups)
    fast = fast and not bites
    parts = [
        build_host(
            replace(
                host,
                source_addresses=n_sources,
                max_tw_buckets=None if host.max_tw_buckets is None or not bites else host.max_tw_buckets * count,
            ),
            destinations,
            classes,
            rng,
            fast=fast,
            sources=sources,
            levels=levels,
            rules=GroupTransitions,
        )
        for (host, count, sources), rng in zip(groups, rngs, strict=True)
    ]
    return parts, FleetLifecycle([p.lifecycle for p in parts], group_of_class)
