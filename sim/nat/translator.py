"""A translator in front of a fleet: its pools of mappings, their timers and their levels.

A connection that got its local port on its host asks the translator for a mapping (``map``). The
mapping belongs to a *pool*: one per (unit, destination), the unit being a public address or a host
(``NatKind.scope``). When the connection closes (``closed``) the mapping stays for the kind's
``after_close`` (conntrack TIME_WAIT, a cooldown, a hold), then frees; an open mapping that carries no traffic
for the kind's ``idle_after`` is dropped (counted as an idle timeout). A connection's traffic is its opening,
then each request a client pool sends on it (``touch``); a connection without a pool carries none after its
opening (portsim sends no keep-alives). ``advance`` applies every close, free and idle drop due, in time order.

Subclasses decide how a pool hands out mappings (``_take``, ``_cool``, ``_free``): port by port with
netfilter's bounded search (``sim.nat.linux``), or as counts against a quota (``sim.nat.quotas``).
"""

from __future__ import annotations

import math
from array import array
from collections import OrderedDict, deque

import numpy as np

from ..stats.histograms import IntHistogram
from .kinds import NatKind
from .records import NatRecords

INF = math.inf
NAT_SERIES = ("nat_mappings", "nat_closing", "nat_failures", "nat_syn_sent")
"""The translator's time-series columns: open mappings, closing ones, failures in the step, and host ports held
in SYN_SENT by SYNs it dropped."""


class Translator:
    """Mappings of one translator, with its timers and the figures it reports."""

    def __init__(self, kind: NatKind, hosts: int, n_destinations: int) -> None:
        self.kind = kind
        self.hosts = hosts
        self.n_dest = n_destinations
        units = self.units = kind.units(hosts)
        self.busy = [0] * units
        """Open mappings per unit."""
        self.cooling = [0] * units
        """Mappings per unit whose connection closed, not yet free."""
        self.host_held = array("q", bytes(8 * hosts))
        """Mappings per host, open or held after their close (typed arrays per host: the compiled path shares them)."""
        self.host_cooling = array("q", bytes(8 * hosts))
        """Of those, per host, the mappings held after their close."""
        self.peak_busy = [0] * units
        self.peak_cooling = [0] * units
        self.total_busy = self.total_cooling = self.peak_total_busy = self.peak_total_cooling = 0
        self._moment_busy = [0.0] * units
        self._moment_cooling = [0.0] * units
        """Per unit: the sum of (change x time) of its levels since the window started (see ``_means``)."""
        self._start_busy = [0] * units
        self._start_cooling = [0] * units
        self.window_start = 0.0
        self.attempts = 0
        self.failures = 0
        self.unit_failures = [0] * units
        self.host_failures = array("q", bytes(8 * hosts))
        self.with_room = bytearray(hosts)
        """Per host: whether it failed while another unit had room toward the same destination."""
        self.idle_timeouts = 0
        self.free_share_sum = 0.0
        self.free_share_n = 0
        """Over drops: the summed share of the other hosts' mappings free at each (host-scoped kinds)."""
        self.probes = IntHistogram()
        self._probes = array("q")
        """Ports each search examined since the last fold (a typed buffer, which the compiled path fills too)."""
        self._after_fin = kind.after_close(False)
        self._after_rst = kind.after_close(True)
        self._idle = kind.idle_after()
        self._open: OrderedDict[int, tuple[int, int, int, float]] = OrderedDict()
        """Open mappings by connection id: (token, unit, host, opened), oldest first."""
        self._idle_at = INF
        """When the oldest open mapping goes idle (``_idle_conn``'s)."""
        self._idle_conn = -1
        self._active: OrderedDict[int, tuple[int, int, int, float]] = OrderedDict()
        """Open mappings that carried traffic after their opening (``touch``), by connection id: (token, unit,
        host, last traffic), the least recent first. Only a client pool's connections get here."""
        self._active_at = INF
        self._active_conn = -1
        self._closes: deque[tuple[float, int, bool]] = deque()
        """Connections closed on their host, (time, id, by RST), in time order, not yet applied."""
        self._fin: deque[tuple[float, int, int, int, int]] = deque()
        self._rst: deque[tuple[float, int, int, int, int]] = deque()
        """Mappings to free, (time, token, unit, connection id, host), per kind of close (each in time order)."""
        self.series: dict[str, list[float]] = {c: [] for c in NAT_SERIES}
        self.host_series: list[np.ndarray] = []
        self.host_closing_series: list[np.ndarray] = []
        self._sampled_failures = 0
        self._baseline = (0, 0, 0)
        self._baseline_extra = (0, 0)

    # ----------------------------------------------------------------- pools (subclasses)

    def _take(self, conn: int, host: int, port: int, dst: int, now: float) -> tuple[int, int]:
        """A mapping for ``host``'s connection ``conn`` from local ``port`` to ``dst``: (token, unit), token -1 if
        none (the unit then is the one that failed)."""
        raise NotImplementedError

    def _cool(self, token: int) -> None:
        """The mapping's connection closed: it stays until freed."""
        raise NotImplementedError

    def _free(self, token: int, conn: int, cooled: bool) -> bool:
        """Connection ``conn``'s mapping frees (``cooled``: after its close, else dropped while open); False when
        the mapping was taken over meanwhile (nothing to free)."""
        raise NotImplementedError

    def room_elsewhere(self, host: int, dst: int, unit: int) -> bool:
        """Whether another unit than ``unit`` had room toward ``dst`` (called on failures only)."""
        return False

    def free_elsewhere(self, host: int, dst: int, unit: int) -> float | None:
        """The share of the other hosts' mappings toward ``dst`` free now (host-scoped kinds; on failures only)."""
        return None

    # ----------------------------------------------------------------- levels

    def _level(self, unit: int, now: float, busy: int, cooling: int) -> None:
        if busy:
            b = self.busy[unit] = self.busy[unit] + busy
            self._moment_busy[unit] += busy * now
            if b > self.peak_busy[unit]:
                self.peak_busy[unit] = b
            total = self.total_busy = self.total_busy + busy
            if total > self.peak_total_busy:
                self.peak_total_busy = total
        if cooling:
            c = self.cooling[unit] = self.cooling[unit] + cooling
            self._moment_cooling[unit] += cooling * now
            if c > self.peak_cooling[unit]:
                self.peak_cooling[unit] = c
            total = self.total_cooling = self.total_cooling + cooling
            if total > self.peak_total_cooling:
                self.peak_total_cooling = total

    def _means(self, now: float, levels: list[int], start: list[int], moment: list[float]) -> list[float]:
        """Time-weighted mean of each unit's level over the window: a level changing by d_i at t_i covers
        start x (now - window) + sum d_i (now - t_i) level-seconds."""
        span = now - self.window_start
        if span <= 0:
            return [float(x) for x in levels]
        return [(s0 * span + (x - s0) * now - m) / span for x, s0, m in zip(levels, start, moment, strict=True)]

    # ----------------------------------------------------------------- events

    def map(self, conn: int, host: int, port: int, dst: int, now: float) -> bool:
        """Map connection ``conn`` of ``host`` from local ``port`` to ``dst`` at ``now``; False: no mapping."""
        self.attempts += 1
        token, unit = self._take(conn, host, port, dst, now)
        if token < 0:
            self.failures += 1
            self.unit_failures[unit] += 1
            self.host_failures[host] += 1
            if not self.with_room[host] and self.room_elsewhere(host, dst, unit):
                self.with_room[host] = 1
            share = self.free_elsewhere(host, dst, unit)
            if share is not None:
                self.free_share_sum += share
                self.free_share_n += 1
            return False
        self._level(unit, now, 1, 0)
        self.host_held[host] += 1
        if not self._open:
            self._idle_at, self._idle_conn = now + self._idle, conn
        self._open[conn] = (token, unit, host, now)
        return True

    def touch(self, conn: int, now: float) -> None:
        """Connection ``conn`` carried traffic at ``now`` (a request on a pooled connection): its idle timer
        starts again. Calls come in time order; nothing happens to a mapping already dropped or closed."""
        entry = self._open.pop(conn, None)
        if entry is not None:
            if conn == self._idle_conn:
                self._idle_at, self._idle_conn = self._due(self._open)
        else:
            entry = self._active.pop(conn, None)
            if entry is None:
                return
        self._active[conn] = (entry[0], entry[1], entry[2], now)
        if conn == self._active_conn or self._active_conn < 0:
            self._active_at, self._active_conn = self._due(self._active)

    def mapped(self, conn: int) -> bool:
        """Whether connection ``conn`` has an open mapping (as of the last ``advance``)."""
        return conn in self._open or conn in self._active

    def closed(self, conn: int, now: float, rst: bool) -> None:
        """Connection ``conn`` closed on its host at ``now`` (applied at the next ``advance``)."""
        self._closes.append((now, conn, rst))

    def advance(self, now: float) -> None:
        """Apply every close, free and idle drop due at or before ``now``, in time order (at equal times an idle
        drop, then a close, then a free)."""
        closes, fin, rst, opened, active = self._closes, self._fin, self._rst, self._open, self._active
        while True:
            t_close = closes[0][0] if closes else INF
            t_idle = self._idle_at if self._idle_at <= self._active_at else self._active_at
            t = t_close if t_close < t_idle else t_idle
            if fin and fin[0][0] < t:
                t = fin[0][0]
            if rst and rst[0][0] < t:
                t = rst[0][0]
            if t > now:
                return
            if t == t_idle and t < t_close:
                if t == self._idle_at:
                    conn, (token, unit, host, _) = opened.popitem(last=False)
                    self._idle_at, self._idle_conn = self._due(opened)
                else:
                    conn, (token, unit, host, _) = active.popitem(last=False)
                    self._active_at, self._active_conn = self._due(active)
                self.idle_timeouts += 1
                self._level(unit, t, -1, 0)
                if self._free(token, conn, False):
                    self.host_held[host] -= 1
            elif t == t_close:
                _, conn, by_rst = closes.popleft()
                entry = opened.pop(conn, None)
                if entry is not None:
                    if conn == self._idle_conn:
                        self._idle_at, self._idle_conn = self._due(opened)
                else:
                    entry = active.pop(conn, None)
                    if entry is None:  # dropped while idle (or never mapped)
                        continue
                    if conn == self._active_conn:
                        self._active_at, self._active_conn = self._due(active)
                token, unit, host, _ = entry
                after = self._after_rst if by_rst else self._after_fin
                self._cool(token)
                if not after:  # freed at once: never counted as closing
                    self._level(unit, t, -1, 0)
                    if self._free(token, conn, True):
                        self.host_held[host] -= 1
                    continue
                self._level(unit, t, -1, 1)
                self.host_cooling[host] += 1
                (rst if by_rst else fin).append((t + after, token, unit, conn, host))
            else:
                queue = fin if fin and fin[0][0] == t else rst
                _, token, unit, conn, host = queue.popleft()
                if self._free(token, conn, True):
                    self._level(unit, t, 0, -1)
                    self.host_held[host] -= 1
                    self.host_cooling[host] -= 1

    def _due(self, mappings: OrderedDict[int, tuple[int, int, int, float]]) -> tuple[float, int]:
        """When the first of ``mappings`` goes idle, and its connection ((inf, -1) when none): ``_open`` is in
        opening order, ``_active`` in order of last traffic, so the first of each goes first."""
        if not mappings:
            return INF, -1
        conn, entry = next(iter(mappings.items()))
        return entry[3] + self._idle, conn

    def _head(self) -> None:
        """Note when the oldest open mapping goes idle (the compiled path calls this when it hands back)."""
        self._idle_at, self._idle_conn = self._due(self._open)

    # ----------------------------------------------------------------- measuring

    def start_window(self, now: float) -> None:
        """Count figures from ``now`` on (the end of warm-up)."""
        self.window_start = now
        self._moment_busy = [0.0] * self.units
        self._moment_cooling = [0.0] * self.units
        self._start_busy = list(self.busy)
        self._start_cooling = list(self.cooling)
        self.peak_busy = list(self.busy)
        self.peak_cooling = list(self.cooling)
        self.peak_total_busy, self.peak_total_cooling = self.total_busy, self.total_cooling
        self._baseline = (self.attempts, self.failures, self.idle_timeouts)
        self._baseline_extra = (self.evicted or 0, self.failed_with_free_ports or 0)
        self.unit_failures = [0] * self.units
        self.host_failures[:] = array("q", bytes(8 * self.hosts))  # in place: the compiled path holds them
        self.with_room[:] = bytes(self.hosts)
        self.free_share_sum, self.free_share_n = 0.0, 0
        self._fold()
        self.probes.clear()

    def _fold(self) -> None:
        if self._probes:
            self.probes.add_many(np.asarray(self._probes, dtype=np.int64))
            del self._probes[:]

    def sample(self, now: float, syn_sent: int = 0) -> None:
        """Append one time-series row at ``now``: open and closing mappings, failures since the last row, and
        the host ports still held by dropped SYNs (``syn_sent``, the layer's count)."""
        self.series["nat_syn_sent"].append(syn_sent)
        self.series["nat_mappings"].append(self.total_busy)
        self.series["nat_closing"].append(self.total_cooling)
        self.series["nat_failures"].append(self.failures - self._sampled_failures)
        self._sampled_failures = self.failures
        self.host_series.append(np.asarray(self.host_held, dtype=np.int32))
        self.host_closing_series.append(np.asarray(self.host_cooling, dtype=np.int32))
        self._fold()

    def records(self, now: float, unit_labels: list[str]) -> NatRecords:
        """What the translator measured, up to ``now``."""
        self._fold()
        base_attempts, base_failures, base_idle = self._baseline
        return NatRecords(
            kind=self.kind,
            hosts=self.hosts,
            unit_labels=unit_labels,
            attempts=self.attempts - base_attempts,
            failures=self.failures - base_failures,
            idle_timeouts=self.idle_timeouts - base_idle,
            unit_failures=list(self.unit_failures),
            peak_mappings=self.peak_total_busy,
            peak_closing=self.peak_total_cooling,
            unit_peak_mappings=list(self.peak_busy),
            unit_mean_mappings=self._means(now, self.busy, self._start_busy, self._moment_busy),
            unit_peak_closing=list(self.peak_cooling),
            unit_mean_closing=self._means(now, self.cooling, self._start_cooling, self._moment_cooling),
            host_failures=list(self.host_failures),
            host_failed_with_room=[bool(x) for x in self.with_room],
            free_elsewhere_at_drops=self.free_share_sum / self.free_share_n if self.free_share_n else None,
            probes=self.probes,
            evicted=None if self.evicted is None else self.evicted - self._baseline_extra[0],
            failed_with_free_ports=(
                None if self.failed_with_free_ports is None else self.failed_with_free_ports - self._baseline_extra[1]
            ),
            host_series=self._rows(self.host_series),
            host_closing_series=self._rows(self.host_closing_series),
        )

    def _rows(self, series: list[np.ndarray]) -> np.ndarray:
        """Per-host rows stacked (rows x hosts)."""
        return np.stack(series) if series else np.zeros((0, self.hosts), np.int32)

    @property
    def evicted(self) -> int | None:
        """Closing mappings taken over by a new connection (netfilter only)."""
        return None

    @property
    def failed_with_free_ports(self) -> int | None:
        """Failures whose own pool still had free ports (netfilter's bounded search only)."""
        return None
