"""What the client layer measures, per workload and destination: requests, outcomes, connections, idle, waits.

Counters count from the start of the measured window (``start_window``); the time series (requests
and retries per step, idle connections) covers the whole run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..stats.histograms import LogHistogram

CAUSES = ("connect", "pool_timeout", "pool_full", "reset")
"""Why an attempt failed: connect() (or bind()) found no port, the pool wait timed out, the pool was full, the
pooled connection it was sent on had lost its mapping on the translator (its RST)."""
CLOSES = ("request", "surplus", "idle", "server_idle", "worn", "nat_idle")
"""Why a pooled connection closed: its request ended without keep-alive, no idle room, idle timeout, the
server's idle timeout, max_requests or max_lifetime, the translator's idle timeout (found at its next use)."""
COUNTERS = ("requests", "started", "completed", "new_connections", "retries", "failures")
CLIENT_SERIES = ("requests", "retries", "requests_failed", "idle_connections")
"""The time-series columns the client layer adds: requests, retries and requests failed for good during the step,
idle connections at its end."""


Pair = tuple[int, int]
WHOLE = -1
"""The destination index of a workload's own idle level (over all its destinations): ``(w, WHOLE)``."""


class ClientRecorder:
    """Counts, idle levels and pool waits per (workload, destination) of the workloads in the client layer."""

    def __init__(self, workloads: Sequence[int], n_destinations: int) -> None:
        self.workloads = list(workloads)
        self.n_destinations = n_destinations
        self.counts: dict[str, dict[Pair, int]] = {name: {} for name in COUNTERS}
        self.failed_by: dict[str, dict[Pair, int]] = {cause: {} for cause in CAUSES}
        self.closed_by: dict[str, dict[Pair, int]] = {reason: {} for reason in CLOSES}
        self.wait_total: dict[Pair, float] = {}
        self.waits: dict[Pair, LogHistogram] = {}
        self.wait_max: dict[Pair, float] = {}
        self.idle_level: dict[Pair, int] = {}
        self.idle_peak: dict[Pair, int] = {}
        self.idle_seconds: dict[Pair, float] = {}
        self._idle_since: dict[Pair, float] = {}
        self.window_start = 0.0
        self.series: dict[str, list[float]] = {c: [] for c in CLIENT_SERIES}
        self._sampled = (0, 0, 0)
        self._all_requests = 0
        self._all_retries = 0
        self._all_failed = 0

    # ----------------------------------------------------------------- events

    def _add(self, table: dict[Pair, int], w: int, dst: int) -> None:
        key = (w, dst)
        table[key] = table.get(key, 0) + 1

    def arrived(self, w: int, dst: int) -> None:
        """A request arrived (its first attempt)."""
        self._add(self.counts["requests"], w, dst)
        self._all_requests += 1

    def started(self, w: int, dst: int, waited: float) -> None:
        """A request got a connection after waiting ``waited`` seconds for one."""
        key = (w, dst)
        self._add(self.counts["started"], w, dst)
        if waited > 0:
            self.wait_total[key] = self.wait_total.get(key, 0.0) + waited
            histogram = self.waits.get(key)
            if histogram is None:
                histogram = self.waits[key] = LogHistogram()
            histogram.add(waited)
            if waited > self.wait_max.get(key, 0.0):
                self.wait_max[key] = waited

    def completed(self, w: int, dst: int) -> None:
        """A request ended on its connection."""
        self._add(self.counts["completed"], w, dst)

    def opened(self, w: int, dst: int) -> None:
        """The client opened a new connection."""
        self._add(self.counts["new_connections"], w, dst)

    def closed(self, w: int, dst: int, reason: str) -> None:
        """The pool closed a connection (``reason`` in CLOSES)."""
        self._add(self.closed_by[reason], w, dst)

    def retried(self, w: int, dst: int) -> None:
        """A request is tried again (after a failed attempt and its backoff)."""
        self._add(self.counts["retries"], w, dst)
        self._all_retries += 1

    def failed(self, w: int, dst: int, cause: str) -> None:
        """A request failed for good (no retry left) with ``cause``."""
        self._add(self.counts["failures"], w, dst)
        self._add(self.failed_by[cause], w, dst)
        self._all_failed += 1

    def idle(self, w: int, dst: int, step: int, now: float) -> None:
        """The idle connections of pool (w, dst) changed by ``step`` at ``now`` (and so those of workload w)."""
        self._level(w, dst, step, now)
        self._level(w, WHOLE, step, now)

    def _level(self, w: int, dst: int, step: int, now: float) -> None:
        key = (w, dst)
        level = self.idle_level.get(key, 0)
        since = self._idle_since.get(key, 0.0)
        start = since if since > self.window_start else self.window_start
        if now > start and level:
            self.idle_seconds[key] = self.idle_seconds.get(key, 0.0) + level * (now - start)
        level += step
        self.idle_level[key] = level
        self._idle_since[key] = now
        if level > self.idle_peak.get(key, 0):
            self.idle_peak[key] = level

    # ----------------------------------------------------------------- window and series

    def start_window(self, now: float, pools: Iterable[Pair]) -> None:
        """Count from ``now``: counters, waits and idle seconds from zero, idle peaks from the current level."""
        for key in pools:
            self._level(key[0], key[1], 0, now)
        for w in self.workloads:
            self._level(w, WHOLE, 0, now)
        self.window_start = now
        for table in (*self.counts.values(), *self.failed_by.values(), *self.closed_by.values()):
            table.clear()
        self.wait_total.clear()
        self.waits.clear()
        self.wait_max.clear()
        self.idle_seconds.clear()
        self.idle_peak = dict(self.idle_level)

    def idle_means(self, now: float) -> dict[Pair, float]:
        """Time-weighted mean idle connections per pool over the window ending at ``now``."""
        span = now - self.window_start
        means = {}
        for key, level in self.idle_level.items():
            since = self._idle_since.get(key, 0.0)
            start = since if since > self.window_start else self.window_start
            seconds = self.idle_seconds.get(key, 0.0) + level * max(0.0, now - start)
            means[key] = seconds / span if span > 0 else float(level)
        return means

    def sample(self, now: float, idle_total: int) -> None:
        """Append one time-series row: requests, retries and failed requests since the last row, idle connections
        now."""
        requests, retries, failed = self._sampled
        self.series["requests"].append(self._all_requests - requests)
        self.series["retries"].append(self._all_retries - retries)
        self.series["requests_failed"].append(self._all_failed - failed)
        self.series["idle_connections"].append(idle_total)
        self._sampled = (self._all_requests, self._all_retries, self._all_failed)

    def records(self, now: float, waiting: dict[Pair, int]) -> ClientRecords:
        """What the window counted, for the report; ``waiting``: requests still waiting for a connection."""
        for histogram in self.waits.values():
            histogram.flush()
        return ClientRecords(
            workloads=list(self.workloads),
            counts={name: dict(table) for name, table in self.counts.items()},
            failed_by={cause: dict(table) for cause, table in self.failed_by.items()},
            closed_by={reason: dict(table) for reason, table in self.closed_by.items()},
            wait_total=dict(self.wait_total),
            waits=dict(self.waits),
            wait_max=dict(self.wait_max),
            idle_peak=dict(self.idle_peak),
            idle_mean=self.idle_means(now),
            waiting=dict(waiting),
        )


@dataclass
class ClientRecords:
    """The client layer's figures of one run, per (workload, destination) pair (missing pairs: zero)."""

    workloads: list[int]
    counts: dict[str, dict[Pair, int]]
    failed_by: dict[str, dict[Pair, int]]
    closed_by: dict[str, dict[Pair, int]]
    wait_total: dict[Pair, float]
    waits: dict[Pair, LogHistogram]
    wait_max: dict[Pair, float]
    idle_peak: dict[Pair, int]
    """Per pool, and per workload over its pools under ``(w, WHOLE)``."""
    idle_mean: dict[Pair, float]
    waiting: dict[Pair, int]
    """Requests still waiting for a connection from the pool when the run ended."""
