"""Running scenarios: one seed, one or more replications, and their combined result.

Replication r of a run with seed s draws from streams keyed by (s, r), so replication 0 is the
single run with seed s, and adding replications never changes the earlier ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .model import ProgressCallback, simulate
from .results import RunResult
from .scenario import Scenario, load_scenario
from .stats import mean_ci

Progress = Callable[[float, int], None]
"""Called with (fraction of the whole job done, connection attempts so far)."""

CONFIDENCE = 0.95
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
    }
)
"""summary.json keys that describe the run rather than measure it: copied, not averaged."""


def resolve(
    scenario: str | Path | Scenario,
    seed: int | None = None,
    replications: int | None = None,
    overrides: Mapping[str, Any] | Iterable[str] = (),
) -> Scenario:
    """A validated Scenario from a path or an object, with overrides, seed and replications applied."""
    if isinstance(scenario, Scenario):
        resolved = scenario.with_changes(overrides if isinstance(overrides, Mapping) else list(overrides))
    else:
        if isinstance(overrides, Mapping):
            resolved = load_scenario(scenario).with_changes(overrides)
        else:
            resolved = load_scenario(scenario, overrides)
    changes: dict[str, Any] = {}
    if seed is not None:
        changes["seed"] = seed
    if replications is not None:
        changes["replications"] = replications
    return resolved.with_changes(**changes) if changes else resolved


def run(
    scenario: str | Path | Scenario,
    seed: int | None = None,
    replications: int | None = None,
    overrides: Mapping[str, Any] | Iterable[str] = (),
    progress: Progress | None = None,
) -> RunResult:
    """Run a scenario (a YAML path or a Scenario) and return its result.

    ``overrides`` are ``{"host.time_wait": 30}`` or ``["host.time_wait=30"]``. With several
    replications the summary holds each figure's mean and its 95% confidence interval (``ci95``).
    """
    resolved = resolve(scenario, seed, replications, overrides)
    n = resolved.replications
    results: list[RunResult] = []
    for r in range(n):
        callback = None
        if progress is not None:
            done_before = sum(int(res.summary["attempts"]) for res in results)
            callback = _replication_progress(progress, r, n, resolved.duration, done_before)
        results.append(simulate(resolved, resolved.seed, r, callback))
    return combine(resolved, results)


def run_variants(
    scenario: str | Path | Scenario,
    seed: int | None = None,
    replications: int | None = None,
    overrides: Mapping[str, Any] | Iterable[str] = (),
    progress: Progress | None = None,
) -> dict[str, RunResult]:
    """Run every variant of a scenario (``variants:`` in the file); results by variant name.

    A scenario without variants gives one result under its own name.
    """
    resolved = resolve(scenario, seed, replications, overrides)
    variants = resolved.expand(overrides if isinstance(overrides, Mapping) else list(overrides))
    results: dict[str, RunResult] = {}
    for i, (name, variant) in enumerate(variants.items()):
        callback = None
        if progress is not None:
            callback = _variant_progress(
                progress, i, len(variants), sum(int(r.summary["attempts"]) for r in results.values())
            )
        results[name] = run(variant, progress=callback)
        if resolved.variants:
            results[name].summary["variant"] = name
    return results


def _variant_progress(progress: Progress, i: int, n: int, attempts_before: int) -> Progress:
    def callback(fraction: float, attempts: int) -> None:
        progress((i + fraction) / n, attempts_before + attempts)

    return callback


def compare_summaries(results: Mapping[str, RunResult]) -> dict[str, dict[str, Any]]:
    """The headline figures of each variant, side by side."""
    table: dict[str, dict[str, Any]] = {}
    for name, result in results.items():
        s = result.summary
        table[name] = {
            "attempts": s["attempts"],
            "failures": s["failures"],
            "blocking_probability": s["blocking_probability"],
            "blocking_probability_ci95": s.get("ci95", {}).get("blocking_probability"),
            "first_failure_time_s": s["first_failure_time_s"],
            "erlang_b": s["erlang_b"]["blocking_probability"] if s["erlang_b"]["applicable"] else None,
            "ports_in_use_mean": s["ports_in_use"]["mean"],
            "time_wait_mean": s["time_wait"]["mean"],
            "time_wait_recycled": s["time_wait"]["recycled"],
            "pool_size": s["pool"]["total_ports"],
            "connect_latency_us_mean": s["connect_latency_us"]["mean"],
            "preset": result.scenario.host.preset,
            "policy": result.scenario.host.policy_name,
            "time_wait_s": result.scenario.host.time_wait,
        }
    return table


def _replication_progress(
    progress: Progress, r: int, n: int, duration: float, attempts_before: int
) -> ProgressCallback:
    """Turn replication r's (simulated time, attempts) into the whole job's (fraction, attempts)."""

    def callback(sim_time: float, attempts: int) -> None:
        progress((r + sim_time / duration) / n, attempts_before + attempts)

    return callback


def combine(scenario: Scenario, results: list[RunResult]) -> RunResult:
    """One result from replications: mean figures with confidence intervals, stacked series."""
    if len(results) == 1:
        return results[0]
    summaries = [r.summary for r in results]
    summary = _aggregate(summaries)
    del summary["replication"]
    summary["replications"] = len(results)
    summary["confidence_level"] = CONFIDENCE
    summary["ci95"] = _intervals(summaries)
    summary["wall_time_s"] = sum(s["wall_time_s"] for s in summaries)
    columns = list(results[0].series)
    series = {c: np.concatenate([r.series[c] for r in results]) for c in columns}
    series = {
        "replication": np.concatenate([np.full(r.series["time_s"].size, i) for i, r in enumerate(results)]),
        **series,
    }
    width = max(r.probe_counts.size for r in results)
    probes = np.zeros(width, dtype=np.int64)
    for r in results:
        probes[: r.probe_counts.size] += r.probe_counts
    return RunResult(
        scenario=results[0].scenario.with_changes(replications=len(results)),
        summary=summary,
        series=series,
        probe_counts=probes,
        reuse_counts=np.sum([r.reuse_counts for r in results], axis=0),
        reuse_edges=results[0].reuse_edges,
        occupancy_attempts=np.sum([r.occupancy_attempts for r in results], axis=0),
        occupancy_probes=np.sum([r.occupancy_probes for r in results], axis=0),
        replications=[{k: v for k, v in s.items() if k not in {"workloads", "destinations"}} for s in summaries],
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _aggregate(values: list[Any], key: str = "") -> Any:
    """Mean of numeric leaves (ignoring nulls), shared value of the rest."""
    first = values[0]
    if isinstance(first, dict):
        return {k: (v if k in NOT_AGGREGATED else _aggregate([x[k] for x in values], k)) for k, v in first.items()}
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
