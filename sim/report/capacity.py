"""The typed records of capacity.json: what a capacity search found and every point it evaluated."""

from __future__ import annotations

from typing import Any

from .records import Number, Record, _finite


class CapacityRun(Record):
    """One replication at one load: its counts and blocking probability."""

    replication: int
    attempts: Number
    failures: Number
    blocking_probability: Number | None


class CapacityEvaluation(Record):
    """The scenario simulated at one scaling of the workloads' rates."""

    scale: Number
    rate: Number
    """Connections per second of the scaled workloads, together."""
    duration_s: Number
    """Simulated seconds of each run (less than the scenario's above its own load: see the README)."""
    blocking_probability: Number | None
    """Mean over the replications."""
    ci95: tuple[Number, Number] | None
    runs: list[CapacityRun]


class CapacityReport(Record):
    """capacity.json: the largest load at which blocking stays at or below the target."""

    scenario: str
    variant: str | None = None
    seed: int
    version: str
    target: Number
    destination: str | None
    workloads: list[str]
    unit: str = "conn/s"
    """What the rates count: ``conn/s`` (connection workloads), ``req/s`` (request workloads) or ``arrivals/s``."""
    interval: str = "95% CI"
    """What ``ci95`` is: a 95% confidence interval, or (a trace) the ``bracket`` between loads that met the
    target and did not."""
    base_rate: Number
    """Arrivals per second (``unit``) of the scaled workloads as the scenario has them (scale 1)."""
    rate: Number | None
    """The capacity: connections per second of the scaled workloads at the target blocking."""
    ci95: tuple[Number, Number] | None
    at_least: Number | None = None
    """Where no rate was found: the highest rate evaluated with blocking at or below the target."""
    scale: Number | None
    """rate / base_rate: how far the scenario's own load can be multiplied."""
    converged: bool
    note: str
    simulation_runs: int
    replications: int
    """Replications per evaluated load (more where the search needed them)."""
    erlang_b_rate: Number | None
    """The inverse Erlang B rate where Erlang B applies (null elsewhere)."""
    erlang_b_note: str
    evaluations: list[CapacityEvaluation]

    def to_json(self) -> dict[str, Any]:
        """The capacity.json form (NaN and infinities as null)."""
        data: dict[str, Any] = _finite(self.model_dump(mode="json"))
        if data.get("variant") is None:
            data.pop("variant", None)
        return data


def percent(p: float) -> str:
    """0.01 as 1%, 0.001 as 0.1%."""
    return f"{p * 100:.3g}%"


def rate_text(rate: float) -> str:
    """A rate for people: 4 significant figures with thousands separators, whole numbers from 10,000 up
    (never 1.999e+08)."""
    return f"{rate:,.0f}" if abs(rate) >= 10_000 else f"{rate:,.4g}"
