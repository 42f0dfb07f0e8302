"""What one run measures about its connection attempts, and the fixed-step time series.

Nothing here grows with the number of connections: counters, histograms folded with numpy every
``FLUSH`` attempts, and one row per sample.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence

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
GROUP_SERIES = ("ports_in_use", "time_wait")
"""A fleet of several host groups adds these columns per group, ``<figure>.<group name>``: its hosts' ports in use
and their connections in TIME_WAIT."""
GROUP_PREFIXES = tuple(f"{figure}." for figure in GROUP_SERIES)


def group_column(name: str, figure: str = "ports_in_use") -> str:
    """The time-series column of host group ``name``'s ``figure`` (one of ``GROUP_SERIES``)."""
    return f"{figure}.{name}"


def _stable_order(keys: np.ndarray, n: int) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for non-negative keys: each key made unique by its position, then numpy's
    faster unstable sort (the same order)."""
    if int(keys.max()) < np.iinfo(np.int64).max // max(n, 1) - 1:
        return np.argsort(keys * n + np.arange(n))
    return np.argsort(keys, kind="stable")


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

    def __init__(
        self, n_workloads: int, n_destinations: int, n_sources: int, size: int, sizes: Sequence[int] | None = None
    ) -> None:
        """``size``: ports in the largest range; ``sizes``: per source, ports in its range when they differ (a
        fleet's host groups)."""
        self.size = size
        self._sizes = None if sizes is None else np.asarray(sizes, dtype=np.int64)
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
        pairs = n_sources * n_destinations
        self._count = np.zeros(pairs, dtype=np.int64)
        """Per pair: its connections folded so far."""
        self._row = np.full(pairs, -1, dtype=np.int64)
        """Per pair: its row of ``_last_use``, -1 until it first connects (rows are made for the pairs used only)."""
        self._last_use = np.zeros((0, size), dtype=np.int64)
        """Per pair's row and port: 1 + the pair's connection count at the port's last use, 0 if never."""
        self._rows = 0
        self._previous = np.full(pairs, -1, dtype=np.int64)
        """Per pair: the port of its last connection folded, -1 if none."""
        self._walk: Callable[..., tuple[int, int]] | None = None
        """The compiled path's ``fold_pairs`` while it runs (see ``walk_with``)."""
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
            if self._walk is None:
                self._fold_pairs(pairs, offsets)
            else:
                self._fold_walked(pairs, offsets)

    def walk_with(self, kernel: Callable[..., tuple[int, int]]) -> None:
        """Fold pairs with ``kernel`` (``_batch.fold_pairs``): connection by connection in C, without sorting."""
        self._walk = kernel

    def _fold_pairs(self, pairs: np.ndarray, offsets: np.ndarray) -> None:
        """Reuse distances and increments of the ports of every (source, destination) pair in ``pairs``, given in
        connection order with their ``offsets``, carrying on from the folds before."""
        n_dests, size = self._n_dests, self.size
        n = pairs.size
        if pairs[0] != pairs[-1] or not (pairs == pairs[0]).all():  # one pair (one host, one destination): in order
            order = _stable_order(pairs, n)
            pairs, offsets = pairs[order], offsets[order]
        starts = np.flatnonzero(np.concatenate([[True], pairs[1:] != pairs[:-1]]))
        lengths = np.diff(np.append(starts, n))
        owners = pairs[starts]
        # increments: the steps between a pair's consecutive ports, from the last port of its previous fold on
        previous = self._previous[owners]
        carried = previous >= 0
        same = pairs[1:] == pairs[:-1]
        steps = np.concatenate([(offsets[1:] - offsets[:-1])[same], offsets[starts][carried] - previous[carried]])
        step_pairs = np.concatenate([pairs[1:][same], owners[carried]])
        steps %= size if self._sizes is None else self._sizes[step_pairs // n_dests]
        self._add_increments(steps, step_pairs % n_dests)
        self._previous[owners] = offsets[starts + lengths - 1]
        # reuse distances: connections of a pair between two uses of one port (index: the pair's connection count)
        index = np.repeat(self._count[owners] - starts, lengths) + np.arange(n)
        cells = pairs * size + offsets
        by_port = _stable_order(cells, n)  # by pair, then port, then connection
        cell, when = cells[by_port], index[by_port]
        pair = cell // size
        repeat = cell[1:] == cell[:-1]
        first = np.concatenate([[True], ~repeat])
        last_use = self._rows_for(owners).reshape(-1)
        row_cell = self._row[pair] * size + cell % size
        earlier = last_use[row_cell[first]] - 1
        seen = earlier >= 0
        distances = np.concatenate([(when[1:] - when[:-1])[repeat], when[first][seen] - earlier[seen]])
        self._add_distances(distances, np.concatenate([pair[1:][repeat], pair[first][seen]]) % n_dests)
        last = np.concatenate([~repeat, [True]])
        last_use[row_cell[last]] = when[last] + 1
        self._count[owners] += lengths

    def _fold_walked(self, pairs: np.ndarray, offsets: np.ndarray) -> None:
        """``_fold_pairs`` by the compiled kernel: each connection in turn, carrying the same state (no sort)."""
        n = pairs.size
        last_use = self._rows_for(np.flatnonzero(np.bincount(pairs))).reshape(-1)  # a view: the kernel writes to it
        out = np.empty((4, n), dtype=np.int64)
        walk, state = self._walk, (self._count, self._row, last_use, self._previous)
        assert walk is not None
        n_steps, n_distances = walk(pairs, offsets, *state, self._sizes, self._n_dests, self.size, *out)
        self._add_increments(out[0, :n_steps], out[1, :n_steps])
        self._add_distances(out[2, :n_distances], out[3, :n_distances])

    def _add_increments(self, steps: np.ndarray, dests: np.ndarray) -> None:
        """Count ``steps`` (between consecutive ports of a pair) toward their destinations ``dests``."""
        size = self.size
        for dst in np.flatnonzero(np.bincount(dests, minlength=self._n_dests)).tolist():
            counts = self.increments[dst]
            if counts is None:
                counts = self.increments[dst] = np.zeros(size, dtype=np.int64)
            counts += np.bincount(steps[dests == dst], minlength=size)

    def _add_distances(self, distances: np.ndarray, dests: np.ndarray) -> None:
        """Add reuse ``distances`` to their destinations' (``dests``) histograms."""
        for dst in np.flatnonzero(np.bincount(dests, minlength=self._n_dests)).tolist():
            self.reuse_distance[dst].add_many(distances[dests == dst])

    def _rows_for(self, pairs: np.ndarray) -> np.ndarray:
        """``_last_use`` with a row for each of ``pairs`` (new rows zero; capacity doubles as pairs appear)."""
        new = pairs[self._row[pairs] < 0]
        if new.size:
            need = self._rows + new.size
            if need > self._last_use.shape[0]:
                grown = np.zeros((max(need, 2 * self._last_use.shape[0]), self.size), dtype=np.int64)
                grown[: self._rows] = self._last_use[: self._rows]
                self._last_use = grown
            self._row[new] = np.arange(self._rows, need)
            self._rows = need
        return self._last_use

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
