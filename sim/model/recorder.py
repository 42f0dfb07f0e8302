"""What one run measures about its connection attempts, and the fixed-step time series.

Nothing here grows with the number of connections: counters, histograms folded with numpy every
``FLUSH`` attempts, and one row per sample.
"""

from __future__ import annotations

from array import array

import numpy as np

from ..stats.histograms import IntHistogram, LogHistogram

FLUSH = 1 << 16
"""Values buffered in Python lists before they are folded into numpy counts."""
TICK = 1 << 12
"""The traffic process calls back every TICK attempts: buffers are folded and progress is reported."""
TICK_MASK = TICK - 1
"""``count & TICK_MASK == 0`` every ``TICK`` attempts."""
OCCUPANCY_BINS = 101
"""Attempts by pool occupancy: one bin per percent, 0 to 100."""
SERIES = ("time_s", "established", "time_wait", "fin_wait2", "ports_in_use", "attempts", "failures")
"""The time-series columns."""


class Recorder:
    """What one run measures about its connection attempts, and the fixed-step time series.

    Counts of attempts, successes and failures (per workload and destination), probes per attempt,
    reuse intervals, attempts by pool occupancy, and per-destination predictability (reuse distance,
    increments between consecutive ports). ``start_window(t)`` begins the measured window (the end of
    warm-up): summary figures count from there, while the time series covers the whole run. The levels
    (connections in each state) are kept by the lifecycle.
    """

    _COUNTERS = (
        "attempts",
        "established",
        "failures",
        "dest_attempts",
        "dest_established",
        "dest_failures",
        "translator_failures",
        "dest_translator_failures",
    )

    def __init__(self, n_workloads: int, n_destinations: int, n_sources: int, size: int) -> None:
        self.size = size
        self.attempts = [0] * n_workloads
        self.established = [0] * n_workloads
        self.failures = [0] * n_workloads
        self.first_failure: list[float | None] = [None] * n_workloads
        self.dest_attempts = [0] * n_destinations
        self.dest_established = [0] * n_destinations
        self.dest_failures = [0] * n_destinations
        self.translator_failures = [0] * n_workloads
        self.dest_translator_failures = [0] * n_destinations
        self.peak_ports = 0
        self.probes = IntHistogram()
        self.reuse = LogHistogram()
        self.occupancy_attempts = np.zeros(OCCUPANCY_BINS, dtype=np.int64)
        self.occupancy_probes = np.zeros(OCCUPANCY_BINS, dtype=np.int64)
        self.reuse_distance = [IntHistogram() for _ in range(n_destinations)]
        self.increments: list[np.ndarray | None] = [None] * n_destinations
        """Per destination: counts of the step (mod range size) between consecutive ports from one source."""
        # per attempt, folded with numpy every so often (see fold): probes, occupancy, (source, destination), port;
        # typed arrays, which the compiled path fills without a Python object per value
        self._probes = array("q")
        self._occupancy = array("d")
        self._pairs = array("q")
        self._offsets = array("q")
        # predictability state carried across folds, per (source, destination) pair
        self._n_dests = n_destinations
        self._count = [0] * (n_sources * n_destinations)
        self._last_use: list[np.ndarray | None] = [None] * (n_sources * n_destinations)
        self._previous = [-1] * (n_sources * n_destinations)
        self._baseline: dict[str, list[int]] = {}
        self.window_start = 0.0
        self.series: dict[str, list[float]] = {k: [] for k in SERIES}
        self._sampled_attempts = 0
        self._sampled_failures = 0

    # ----------------------------------------------------------------- hot path

    def failed(self, w: int, dst: int, probes: int, occupancy: float, now: float) -> None:
        """An attempt examined ``probes`` ports, a fraction ``occupancy`` of its pool being unusable, and found none."""
        self.attempts[w] += 1
        self.dest_attempts[dst] += 1
        self._probes.append(probes)
        self._occupancy.append(occupancy)
        self.failures[w] += 1
        self.dest_failures[dst] += 1
        if self.first_failure[w] is None:
            self.first_failure[w] = now

    def connected(
        self,
        w: int,
        dst: int,
        probes: int,
        occupancy: float,
        reuse_interval: float,
        src: int,
        offset: int,
        ports_in_use: int,
    ) -> None:
        """An attempt examined ``probes`` ports and got the port at ``offset``.

        ``reuse_interval``: the 4-tuple's seconds since its release, or -1 for a first use;
        ``ports_in_use``: distinct local ports in use once this one is taken.
        """
        self.attempts[w] += 1
        self.dest_attempts[dst] += 1
        self.established[w] += 1
        self.dest_established[dst] += 1
        self._probes.append(probes)
        self._occupancy.append(occupancy)
        self._pairs.append(src * self._n_dests + dst)
        self._offsets.append(offset)
        if ports_in_use > self.peak_ports:
            self.peak_ports = ports_in_use
        if reuse_interval >= 0:
            self.reuse.add(reuse_interval)

    def translator_failed(self, w: int, dst: int, now: float) -> None:
        """An attempt ``connected`` got its host port but no mapping on the translator: a failure after all."""
        self.established[w] -= 1
        self.dest_established[dst] -= 1
        self.failures[w] += 1
        self.dest_failures[dst] += 1
        self.translator_failures[w] += 1
        self.dest_translator_failures[dst] += 1
        if self.first_failure[w] is None:
            self.first_failure[w] = now

    def fold(self) -> None:
        """Fold the per-attempt buffers into the histograms and predictability figures (numpy, in bulk)."""
        if self._probes:
            probes = np.array(self._probes, dtype=np.int64)  # copies: the buffers are emptied next
            bins = (np.array(self._occupancy, dtype=np.float64) * (OCCUPANCY_BINS - 1) + 0.5).astype(np.int64)
            self.probes.add_many(probes)
            self.occupancy_attempts += np.bincount(bins, minlength=OCCUPANCY_BINS)
            self.occupancy_probes += np.bincount(bins, weights=probes, minlength=OCCUPANCY_BINS).astype(np.int64)
            del self._probes[:]
            del self._occupancy[:]
        if self._pairs:
            pairs = np.array(self._pairs, dtype=np.int64)
            offsets = np.array(self._offsets, dtype=np.int64)
            del self._pairs[:]
            del self._offsets[:]
            order = np.argsort(pairs, kind="stable")
            pairs, offsets = pairs[order], offsets[order]
            cuts = [*np.flatnonzero(pairs[1:] != pairs[:-1]) + 1, pairs.size]
            begin = 0
            for end in cuts:
                self._fold_pair(int(pairs[begin]), offsets[begin:end])
                begin = end

    def _fold_pair(self, pair: int, offsets: np.ndarray) -> None:
        """Reuse distances and increments of one (source, destination) pair's ports, in connection order."""
        dst = pair % self._n_dests
        size = self.size
        previous = self._previous[pair]
        sequence = offsets if previous < 0 else np.concatenate([[previous], offsets])
        if sequence.size > 1:
            steps = self.increments[dst]
            if steps is None:
                steps = self.increments[dst] = np.zeros(size, dtype=np.int64)
            steps += np.bincount(np.diff(sequence) % size, minlength=size)
        self._previous[pair] = int(offsets[-1])
        last_use = self._last_use[pair]
        if last_use is None:
            last_use = self._last_use[pair] = np.full(size, -1, dtype=np.int64)
        index = self._count[pair] + np.arange(offsets.size)
        by_port = np.lexsort((index, offsets))
        ports, when = offsets[by_port], index[by_port]
        repeat = ports[1:] == ports[:-1]
        first = np.concatenate([[True], ~repeat])
        earlier = last_use[ports[first]]
        seen = earlier >= 0
        distances = np.concatenate([(when[1:] - when[:-1])[repeat], when[first][seen] - earlier[seen]])
        self.reuse_distance[dst].add_many(distances)
        last = np.concatenate([~repeat, [True]])
        last_use[ports[last]] = when[last]
        self._count[pair] += offsets.size

    # ----------------------------------------------------------------- window and series

    def start_window(self, now: float, ports_in_use: int) -> None:
        """Start measuring at ``now``: counters and histograms from zero, the peak from the current level."""
        self.fold()  # what came before still moves the predictability state along
        self.window_start = now
        self._baseline = {name: list(getattr(self, name)) for name in self._COUNTERS}
        self.peak_ports = ports_in_use
        self.probes.clear()
        self.reuse.clear()
        self.occupancy_attempts[:] = 0
        self.occupancy_probes[:] = 0
        for h in self.reuse_distance:
            h.clear()
        self.increments = [None] * len(self.increments)

    def counted(self, name: str) -> list[int]:
        """A counter list (see ``_COUNTERS``) minus its value at the start of the window."""
        values: list[int] = getattr(self, name)
        base = self._baseline.get(name)
        return list(values) if base is None else [v - b for v, b in zip(values, base, strict=True)]

    def sample(self, now: float, established: int, time_wait: int, fin_wait2: int, ports_in_use: int) -> None:
        """Append one time-series row at ``now`` with the given levels; fold the histogram buffers."""
        attempts = sum(self.attempts)
        failures = sum(self.failures)
        row = self.series
        row["time_s"].append(now)
        row["established"].append(established)
        row["time_wait"].append(time_wait)
        row["fin_wait2"].append(fin_wait2)
        row["ports_in_use"].append(ports_in_use)
        row["attempts"].append(attempts - self._sampled_attempts)
        row["failures"].append(failures - self._sampled_failures)
        self._sampled_attempts = attempts
        self._sampled_failures = failures
        self.flush(FLUSH)

    def flush(self, above: int = 0) -> None:
        """Fold buffered values (only when more than ``above`` are waiting)."""
        if len(self._probes) > above:
            self.fold()
        if self.reuse.buffered > above:
            self.reuse.flush()
