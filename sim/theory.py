"""Analytic predictions for a scenario: the pool as an Erlang loss system.

Each independent pool of N ports fed by Poisson attempts is an M/G/N/N loss system. A connection
holds its 4-tuple for its ESTABLISHED duration plus, when this host closes first, TIME_WAIT, so
the offered load is A = λ · (mean duration + TIME_WAIT) Erlangs and the blocking probability is
Erlang B(N, A), whatever the duration distribution. Which ports form a pool depends on sharing:

- connect() with 4-tuple sharing: one pool of N ports per (source address, destination);
- bind-before-connect, or an OS that does not share (macOS): one pool per source address.

Attempts are spread uniformly over source addresses, so each source address sees λ / S.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .scenario import Scenario
from .stats import erlang_b


@dataclass
class ErlangPrediction:
    """Erlang B prediction for a scenario, with whether its assumptions hold."""

    offered_load: float
    ports: int
    pools: int
    blocking_probability: float
    applicable: bool
    note: str
    per_destination: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The summary.json form."""
        return {
            "offered_load": self.offered_load,
            "ports": self.ports,
            "pools": self.pools,
            "blocking_probability": self.blocking_probability,
            "applicable": self.applicable,
            "note": self.note,
        }


def hold_time(scenario: Scenario, workload_index: int) -> float:
    """Mean seconds a connection of the workload holds its 4-tuple."""
    w = scenario.workloads[workload_index]
    tw = scenario.host.time_wait if w.close == "client" else 0.0
    assert tw is not None
    return w.duration.expected + tw


def predict(scenario: Scenario) -> ErlangPrediction:
    """Erlang B blocking for the scenario's pools, and whether the prediction applies exactly."""
    host = scenario.host
    n = host.usable_ports
    sources = host.source_addresses
    shared = host.sharing == "per_destination"
    binds = {w.bind for w in scenario.workloads}
    reasons: list[str] = []
    if not all(w.arrivals.is_poisson for w in scenario.workloads):
        reasons.append("arrivals are not all Poisson (the prediction uses their mean rate)")
    if any(w.start > scenario.warmup or w.stop is not None for w in scenario.workloads):
        reasons.append("a workload starts after the warm-up or stops early, so load is not stationary")
    if shared and binds == {True, False}:
        reasons.append("bound and unbound connections share ports, coupling the per-destination pools")
    if host.policy == "random_pick":
        reasons.append("random_pick may give up while ports are free, so blocking can exceed Erlang B")

    per_pool: dict[str, float] = {}
    rate: dict[str, float] = {}
    labels = {d.endpoint: d.label for d in scenario.destinations}
    for i, w in enumerate(scenario.workloads):
        load = w.arrivals.mean_rate * hold_time(scenario, i)
        total_weight = sum(d.weight for d in w.destinations)
        for d in w.destinations:
            key = labels[d.endpoint] if shared and not w.bind else "*"
            share = d.weight / total_weight
            per_pool[key] = per_pool.get(key, 0.0) + load * share / sources
            rate[key] = rate.get(key, 0.0) + w.arrivals.mean_rate * share
    total_rate = sum(rate.values())
    per_destination: dict[str, dict[str, float]] = {}
    blocking = 0.0
    for key, load in per_pool.items():
        b = erlang_b(n, load)
        blocking += b * rate[key] / total_rate
        per_destination[key] = {"offered_load": load, "blocking_probability": b}
    pools = len(per_pool) * sources
    if reasons:
        note = "approximate: " + "; ".join(reasons)
    else:
        note = "M/G/N/N loss system per pool: Erlang B with N ports and A = rate x (mean duration + TIME_WAIT)"
    return ErlangPrediction(
        offered_load=sum(per_pool.values()) * sources,
        ports=n,
        pools=pools,
        blocking_probability=blocking,
        applicable=not reasons,
        note=note,
        per_destination=per_destination if shared else {},
    )
