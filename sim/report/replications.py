"""Replications combined: the mean of every measured figure with its confidence interval, series stacked.

Replication r of a run with seed s draws from streams keyed by (s, r), so replication 0 is the single
run with seed s, and adding replications never changes the earlier ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config.scenario import Scenario
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


def combine(scenario: Scenario, reports: list[RunReport]) -> RunReport:
    """One report from replications: mean figures with confidence intervals, stacked series."""
    if len(reports) == 1:
        return reports[0]
    summaries = [r.summary.to_json() for r in reports]
    tree = _aggregate(summaries)
    del tree["replication"]
    tree["replications"] = len(reports)
    tree["confidence_level"] = CONFIDENCE
    tree["ci95"] = _intervals(summaries)
    tree["wall_time_s"] = sum(s["wall_time_s"] for s in summaries)
    tree["per_replication"] = [{k: v for k, v in s.items() if k not in TOP_LEVEL_ONLY} for s in summaries]
    columns = list(reports[0].series)
    series = {c: np.concatenate([r.series[c] for r in reports]) for c in columns}
    series = {
        "replication": np.concatenate([np.full(r.series["time_s"].size, i) for i, r in enumerate(reports)]),
        **series,
    }
    width = max(r.probe_counts.size for r in reports)
    probes = np.zeros(width, dtype=np.int64)
    for r in reports:
        probes[: r.probe_counts.size] += r.probe_counts
    return RunReport(
        scenario=reports[0].scenario.with_changes(replications=len(reports)),
        summary=Summary.model_validate(tree),
        series=series,
        probe_counts=probes,
        reuse_counts=np.sum([r.reuse_counts for r in reports], axis=0),
        reuse_edges=reports[0].reuse_edges,
        occupancy_attempts=np.sum([r.occupancy_attempts for r in reports], axis=0),
        occupancy_probes=np.sum([r.occupancy_probes for r in reports], axis=0),
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
