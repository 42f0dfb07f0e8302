"""Replications combined: the mean of every measured figure with its confidence interval, series stacked.

Replication r of a run with seed s draws from streams keyed by (s, r), so replication 0 is the single
run with seed s, and adding replications never changes the earlier ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..stats.intervals import mean_ci
from .records import Summary
from .run import RunReport

CONFIDENCE = 0.95
"""The level of the confidence intervals in summaries (``ci95``)."""
NOT_AGGREGATED = frozenset(
    {
        "scenario",
        "seed",
        "replication",
        "version",
        "sim_time_s",
        "measured_from_s",
        "pool",
        "erlang_b",
        "offered_rate",
        "capacity_at_1pct_blocking",
    }
)
"""summary.json keys that describe the run rather than measure it: copied, not averaged."""
TOP_LEVEL_ONLY = frozenset({"workloads", "destinations"})
"""Trees left out of ``per_replication``."""


class Combiner:
    """Replications folded one at a time: histograms summed at once, only summaries and series kept."""

    def __init__(self) -> None:
        self.first: RunReport | None = None
        self.summaries: list[dict[str, Any]] = []
        self.series: list[dict[str, np.ndarray]] = []
        self.probes = np.zeros(0, dtype=np.int64)
        self.reuse: np.ndarray | None = None
        self.occupancy_attempts: np.ndarray | None = None
        self.occupancy_probes: np.ndarray | None = None

    def add(self, report: RunReport) -> None:
        """Fold in the next replication."""
        if self.first is None:
            self.first = report
        self.summaries.append(report.summary.to_json())
        self.series.append(report.series)
        counts = np.trim_zeros(report.probe_counts, "b")
        if counts.size > self.probes.size:
            self.probes = np.concatenate([self.probes, np.zeros(counts.size - self.probes.size, np.int64)])
        self.probes[: counts.size] += counts
        self.reuse = report.reuse_counts.copy() if self.reuse is None else self.reuse + report.reuse_counts
        attempts, probes = report.occupancy_attempts, report.occupancy_probes
        self.occupancy_attempts = (
            attempts.copy() if self.occupancy_attempts is None else self.occupancy_attempts + attempts
        )
        self.occupancy_probes = probes.copy() if self.occupancy_probes is None else self.occupancy_probes + probes

    def result(self) -> RunReport:
        """One report: mean figures with confidence intervals, stacked series (the report itself for one)."""
        first = self.first
        if first is None or self.reuse is None or self.occupancy_attempts is None or self.occupancy_probes is None:
            raise ValueError("no replications")
        n = len(self.summaries)
        if n == 1:
            return first
        summaries = self.summaries
        tree = _aggregate(summaries)
        del tree["replication"]
        tree["replications"] = n
        tree["confidence_level"] = CONFIDENCE
        tree["ci95"] = _intervals(summaries)
        tree["wall_time_s"] = sum(s["wall_time_s"] for s in summaries)
        tree["per_replication"] = [{k: v for k, v in s.items() if k not in TOP_LEVEL_ONLY} for s in summaries]
        columns = list(self.series[0])
        series = {
            "replication": np.concatenate([np.full(s["time_s"].size, i) for i, s in enumerate(self.series)]),
            **{c: np.concatenate([s[c] for s in self.series]) for c in columns},
        }
        return RunReport(
            scenario=first.scenario.with_changes(replications=n),
            summary=Summary.model_validate(tree),
            series=series,
            probe_counts=self.probes,
            reuse_counts=self.reuse,
            reuse_edges=first.reuse_edges,
            occupancy_attempts=self.occupancy_attempts,
            occupancy_probes=self.occupancy_probes,
            port_map_data=first.port_map_data,
            nat_hosts=first.nat_hosts,
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _aggregate(values: list[Any]) -> Any:
    """Mean of numeric leaves (ignoring nulls), shared value of the rest."""
    first = values[0]
    if isinstance(first, dict):
        return {k: (v if k in NOT_AGGREGATED else _aggregate([x[k] for x in values])) for k, v in first.items()}
    numbers = [v for v in values if _is_number(v)]
    if numbers and all(v is None or _is_number(v) for v in values):
        return float(np.mean(numbers))
    return first


def _intervals(values: list[Any]) -> Any:
    """The same tree as the summary, with [low, high] of the mean at each measured numeric leaf."""
    first = values[0]
    if isinstance(first, dict):
        tree = {}
        for k in first:
            if k in NOT_AGGREGATED:
                continue
            sub = _intervals([x[k] for x in values])
            if sub is not None:
                tree[k] = sub
        return tree or None
    numbers = [float(v) for v in values if _is_number(v)]
    if not numbers or not all(v is None or _is_number(v) for v in values):
        return None
    _, low, high = mean_ci(numbers, CONFIDENCE)
    if min(numbers) >= 0:  # counts, times and probabilities cannot be negative
        low = max(low, 0.0)
    return [low, high]
