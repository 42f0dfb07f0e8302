"""Variants side by side: the headline figures of each, as comparison.json holds them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .records import Number, Record
from .run import RunReport


class ComparisonRow(Record):
    """One variant's headline figures."""

    attempts: Number
    failures: Number
    blocking_probability: Number | None
    blocking_probability_ci95: list[Number] | None
    first_failure_time_s: Number | None
    erlang_b: Number | None
    ports_in_use_mean: Number
    time_wait_mean: Number
    time_wait_recycled: Number
    pool_size: int
    connect_latency_us_mean: Number | None
    preset: str
    policy: str
    time_wait_s: Number


def compare(reports: Mapping[str, RunReport]) -> dict[str, ComparisonRow]:
    """The headline figures of each variant, side by side."""
    table: dict[str, ComparisonRow] = {}
    for name, report in reports.items():
        s = report.summary
        host = report.scenario.host.resolved
        ci: Any = (s.ci95 or {}).get("blocking_probability")
        table[name] = ComparisonRow(
            attempts=s.attempts,
            failures=s.failures,
            blocking_probability=s.blocking_probability,
            blocking_probability_ci95=ci,
            first_failure_time_s=s.first_failure_time_s,
            erlang_b=s.erlang_b.blocking_probability if s.erlang_b.applicable else None,
            ports_in_use_mean=s.ports_in_use.mean,
            time_wait_mean=s.time_wait.mean,
            time_wait_recycled=s.time_wait.recycled,
            pool_size=s.pool.total_ports,
            connect_latency_us_mean=s.connect_latency_us.mean,
            preset=host.preset,
            policy=host.policy_name,
            time_wait_s=host.time_wait,
        )
    return table
