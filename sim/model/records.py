"""What one replication recorded, handed from the model to the report: counts, levels, histograms, series."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..clients.recorder import ClientRecords
from ..config.scenario import Scenario
from ..nat.records import NatRecords
from ..stats.histograms import IntHistogram, LogHistogram
from .portmap import PortMap


@dataclass
class RunRecords:
    """The raw measurements of one replication (figures count from ``measured_from_s`` unless said)."""

    scenario: Scenario
    """The resolved scenario with the seed used, one replication and the portsim version."""
    replication: int
    sim_time_s: float
    measured_from_s: float
    wall_time_s: float
    attempts: list[int]
    """Per workload."""
    established: list[int]
    failures: list[int]
    first_failure: list[float | None]
    """Per workload, over the whole run."""
    dest_attempts: list[int]
    """Per destination (in ``scenario.destinations`` order)."""
    dest_established: list[int]
    dest_failures: list[int]
    peak_ports: int
    peak_established: int
    peak_time_wait: int
    peak_fin_wait2: int
    means: dict[str, float]
    """Time-weighted means of ``established``, ``time_wait``, ``fin_wait2`` and ``ports_in_use``."""
    dest_peak_held: list[int]
    dest_peak_time_wait: list[int]
    dest_recycled: list[int]
    dest_overflow: list[int]
    probes: IntHistogram
    reuse: LogHistogram
    reuse_distance: list[IntHistogram]
    increments: list[np.ndarray | None]
    occupancy_attempts: np.ndarray
    occupancy_probes: np.ndarray
    series: dict[str, np.ndarray]
    clients: ClientRecords | None = None
    """The client layer's figures (requests, pools, retries), when the scenario has one."""
    port_map: PortMap | None = None
    """The pool's snapshots: the first-failure still, and frames when asked for."""
    nat: NatRecords | None = None
    """The translator's figures, when the scenario has one."""
    translator_failures: list[int] | None = None
    """Per workload: attempts that got a host port but no mapping (included in ``failures``)."""
    dest_translator_failures: list[int] | None = None

    def window_rows(self) -> np.ndarray:
        """Which time-series rows fall in the measured window (the last row alone when none does), as a mask."""
        window: np.ndarray = self.series["time_s"] >= self.measured_from_s
        if not window.any():
            window[-1:] = True
        return window
