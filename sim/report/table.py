"""Headline figures of a run as one flat row: the columns of sweep, capacity and remedies tables."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..stats.intervals import mean_ci
from .records import Summary

if TYPE_CHECKING:
    import pandas as pd

FIGURES = (
    "attempts",
    "established",
    "failures",
    "blocking_probability",
    "first_failure_time_s",
    "ports_in_use_peak",
    "ports_in_use_mean",
    "time_wait_peak",
    "time_wait_mean",
    "probes_mean",
    "probes_p99",
    "offered_load",
    "erlang_b",
    "requests",
    "request_failure_probability",
    "new_connections_per_s",
    "reuse_ratio",
)
"""The figures of a row, in column order. ``erlang_b`` is empty where Erlang B does not apply; the request
figures (over the workloads that send requests or retry) are empty where none does, and ``offered_load``
where a connection pool or retries make the connection rate differ from the arrival rate."""

COUNTS = ("attempts", "established", "failures", "ports_in_use_peak", "time_wait_peak")
"""Figures that are whole numbers in a single run."""

LEVEL = 0.95
"""Confidence level of the intervals over replications."""


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def figures(summary: Summary) -> dict[str, float]:
    """The headline figures of one run."""
    erlang = summary.erlang_b
    layered = [w.requests for w in summary.workloads.values() if w.requests is not None]
    requests = sum(float(r.requests) for r in layered)
    failed = sum(float(r.failures) for r in layered)
    new = sum(float(r.new_connections) for r in layered)
    started = sum(float(r.reuse_ratio) * float(r.new_connections) for r in layered if r.reuse_ratio is not None)
    rate_changed = any(r.pool != "none" or r.retries for r in layered)
    return {
        "attempts": _number(summary.attempts),
        "established": _number(summary.established),
        "failures": _number(summary.failures),
        "blocking_probability": _number(summary.blocking_probability),
        "first_failure_time_s": _number(summary.first_failure_time_s),
        "ports_in_use_peak": _number(summary.ports_in_use.peak),
        "ports_in_use_mean": _number(summary.ports_in_use.mean),
        "time_wait_peak": _number(summary.time_wait.peak),
        "time_wait_mean": _number(summary.time_wait.mean),
        "probes_mean": _number(summary.probes.mean),
        "probes_p99": _number(summary.probes.p99),
        "offered_load": math.nan if rate_changed else _number(erlang.offered_load),
        "erlang_b": _number(erlang.blocking_probability) if erlang.applicable else math.nan,
        "requests": requests if layered else math.nan,
        "request_failure_probability": failed / requests if requests else math.nan,
        "new_connections_per_s": sum(float(r.new_connections_per_s) for r in layered) if layered else math.nan,
        "reuse_ratio": started / new if new else math.nan,
    }


def mean_and_ci(values: Sequence[float]) -> tuple[float, float | None, float | None]:
    """Mean of the finite values and its 95% interval (None with fewer than two); NaN mean if none is finite."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.nan, None, None
    mean, low, high = mean_ci(finite, LEVEL)
    if not (math.isfinite(low) and math.isfinite(high)):
        return mean, None, None
    return mean, low, high


PROBABILITIES = frozenset({"blocking_probability", "erlang_b", "request_failure_probability"})


def aggregate(rows: Sequence[Mapping[str, float]]) -> tuple[dict[str, float], dict[str, list[float] | None]]:
    """Means over replications of each figure, and their 95% intervals (clipped to the figure's range:
    every figure is at least 0, probabilities at most 1)."""
    means: dict[str, float] = {}
    intervals: dict[str, list[float] | None] = {}
    for name in FIGURES:
        mean, low, high = mean_and_ci([r[name] for r in rows])
        means[name] = mean
        top = 1.0 if name in PROBABILITIES else math.inf
        intervals[name] = None if low is None or high is None else [max(0.0, low), min(top, high)]
    return means, intervals


def point_summaries(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Per point: its swept values, the replications, and each figure's mean and 95% interval."""
    keys: list[str] = list(frame.attrs.get("keys", []))
    head = ["variant", *keys] if "variant" in frame.columns else keys
    out = []
    for _, group in frame.groupby("point", sort=True):
        rows: list[dict[str, float]] = [
            {str(k): float(v) for k, v in r.items()} for r in group[list(FIGURES)].to_dict("records")
        ]
        means, intervals = aggregate(rows)
        out.append(
            {
                "point": int(group["point"].iloc[0]),
                "values": {k: _plain(group[k].iloc[0]) for k in head},
                "replications": len(group),
                "mean": means,
                "ci95": intervals,
            }
        )
    return out


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value
