"""What a translator recorded in one replication, handed from the model to the report."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..stats.histograms import IntHistogram
from .kinds import NatKind


@dataclass
class NatRecords:
    """The translator's raw figures (counted from the end of warm-up, like the host's)."""

    kind: NatKind
    hosts: int
    unit_labels: list[str]
    """The pools' owners: public addresses (``203.0.113.1``) or hosts (``web/0``)."""
    attempts: int
    failures: int
    idle_timeouts: int
    unit_failures: list[int]
    peak_mappings: int
    peak_closing: int
    unit_peak_mappings: list[int]
    unit_mean_mappings: list[float]
    unit_peak_closing: list[int]
    unit_mean_closing: list[float]
    host_failures: list[int]
    host_failed_with_room: list[bool]
    free_elsewhere_at_drops: float | None
    """The mean share of the other hosts' mappings toward the destination free at each drop (host-scoped kinds)."""
    probes: IntHistogram
    evicted: int | None
    failed_with_free_ports: int | None
    host_series: np.ndarray
    """Mappings per host (open or held after close) at each time-series row (rows x hosts)."""
    host_closing_series: np.ndarray
    """Of those, the mappings held after their close (cooldown, TIME_WAIT), the same way."""
