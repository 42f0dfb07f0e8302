"""Variants side by side: the headline figures of each, as comparison.json holds them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .records import GroupHost, Number, Record, Summary
from .run import RunReport


class ComparisonRow(Record):
    """One variant's headline figures."""

    attempts: Number
    failures: Number
    blocking_probability: Number | None
    blocking_probability_ci95: list[Number] | None
    first_failure_time_s: Number | None
    seconds_failing: Number = 0.0
    erlang_b: Number | None
    ports_in_use_mean: Number
    time_wait_mean: Number
    time_wait_recycled: Number
    pool_size: int
    connect_latency_us_mean: Number | None
    preset: str
    policy: str
    time_wait_s: Number
    """The first host group's when groups have hosts of their own (``groups`` has each group's)."""
    groups: dict[str, GroupHost] | None = None
    """Per host group (a scenario with ``hosts``), its settings and ports."""
    request_failure_probability: Number | None = None
    """Over the request workloads (and workloads with retries): requests that failed for good."""
    new_connections_per_s: Number | None = None
    """New connections per second the request workloads' pools opened."""


def compare(reports: Mapping[str, RunReport]) -> dict[str, ComparisonRow]:
    """The headline figures of each variant, side by side."""
    table: dict[str, ComparisonRow] = {}
    for name, report in reports.items():
        s = report.summary
        host = report.scenario.fleet_host
        ci: Any = (s.ci95 or {}).get("blocking_probability")
        table[name] = ComparisonRow(
            attempts=s.attempts,
            failures=s.failures,
            blocking_probability=s.blocking_probability,
            blocking_probability_ci95=ci,
            first_failure_time_s=s.first_failure_time_s,
            seconds_failing=s.seconds_failing,
            erlang_b=s.erlang_b.blocking_probability if s.erlang_b.applicable else None,
            ports_in_use_mean=s.ports_in_use.mean,
            time_wait_mean=s.time_wait.mean,
            time_wait_recycled=s.time_wait.recycled,
            pool_size=s.pool.total_ports,
            connect_latency_us_mean=s.connect_latency_us.mean,
            preset=host.preset,
            policy=host.policy_name,
            time_wait_s=host.time_wait,
            groups=s.pool.groups,
            **_requests(s),
        )
    return table


def _requests(s: Summary) -> dict[str, Number | None]:
    """The request columns of a row (None without request workloads)."""
    figures = [w.requests for w in s.workloads.values() if w.requests is not None]
    if not figures:
        return {}
    requests = sum(r.requests for r in figures)
    return {
        "request_failure_probability": sum(r.failures for r in figures) / requests if requests else None,
        "new_connections_per_s": sum(r.new_connections_per_s for r in figures),
    }
