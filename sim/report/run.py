"""The typed report of a run: its summary, time series and histograms, as the results folder holds them.

Plots, notebooks and experiments read a ``RunReport``; they never reach into a running model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config.scenario import Scenario
from ..model.portmap import PortMap
from ..model.recorder import OCCUPANCY_BINS
from .records import Summary


def _occupancy() -> np.ndarray:
    return np.zeros(OCCUPANCY_BINS, dtype=np.int64)


@dataclass(repr=False)
class RunReport:
    """What a run (or a set of replications) produced.

    Attributes:
        scenario: the resolved scenario, with the seed and replication count actually used.
        summary: the figures of summary.json (see the README, "Outputs").
        series: fixed-step time series as numpy arrays keyed by column name; with several
            replications, rows of every replication one after the other and a ``replication`` column.
        probe_counts: ``probe_counts[k]`` = allocations that examined exactly k ports.
        reuse_counts, reuse_edges: histogram of reuse intervals in seconds (log bins; the first
            count is for values below ``reuse_edges[0]``, the last for values at or above ``reuse_edges[-1]``).
        occupancy_attempts, occupancy_probes: attempts made, and ports they examined in all, when the
            pool they drew from was k% unusable (k = 0..100).
        port_map_data: the pool's snapshots (replication 0's): the first-failure still and, when recorded,
            the frames; None for a results folder written without them.
        nat_hosts: mappings per host (open or held after close) at each time-series row (rows x hosts,
            replication 0's) when the scenario has a translator; None otherwise.
    """

    scenario: Scenario
    summary: Summary
    series: dict[str, np.ndarray]
    probe_counts: np.ndarray
    reuse_counts: np.ndarray
    reuse_edges: np.ndarray
    occupancy_attempts: np.ndarray = field(default_factory=_occupancy)
    occupancy_probes: np.ndarray = field(default_factory=_occupancy)
    port_map_data: PortMap | None = None
    nat_hosts: np.ndarray | None = None

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"{type(self).__name__}(scenario={self.scenario.name!r}, seed={self.scenario.seed}, "
            f"replications={self.scenario.replications}, attempts={s.attempts}, failures={s.failures}, "
            f"blocking_probability={s.blocking_probability})"
        )

    def series_mean(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """The time axis and ``column`` averaged over the replications (their rows share sample times)."""
        series = self.series
        if "replication" not in series:
            return series["time_s"], series[column].astype(float)
        n = int(series["replication"].max()) + 1
        return series["time_s"].reshape(n, -1)[0], series[column].astype(float).reshape(n, -1).mean(axis=0)

    @property
    def pool_size(self) -> int:
        """Ports automatic selection may use, over all source addresses."""
        return self.summary.pool.total_ports

    @property
    def replications(self) -> list[dict[str, object]]:
        """Each replication's top-level figures (empty for a single run)."""
        return list(self.summary.per_replication or [])
