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

from .scenario import Destination, Scenario, Workload
from .stats import erlang_b, erlang_b_load


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


def tw_reusable(scenario: Scenario, workload: Workload, destination: Destination) -> bool:
    """Whether tcp_tw_reuse lets a new connect() take over this workload's TIME_WAIT 4-tuples to ``destination``.

    Needs tw_reuse 1 (or 2 with a loopback destination), TCP timestamps, 4-tuple sharing and a port
    chosen by connect() rather than owned through bind() (kernel.md fact 17).
    """
    host = scenario.host
    if not host.tw_reuse or not host.timestamps or host.sharing != "per_destination" or workload.bind is True:
        return False
    return host.tw_reuse == 1 or destination.loopback


def tw_reuse_applies(scenario: Scenario) -> bool:
    """Whether tcp_tw_reuse takes over any TIME_WAIT in the scenario (some workload closes first and qualifies)."""
    return any(w.close == "client" and tw_reusable(scenario, w, d) for w in scenario.workloads for d in w.destinations)


def hold_time(scenario: Scenario, workload_index: int) -> float:
    """Mean seconds a connection of the workload holds its 4-tuple.

    ESTABLISHED time, plus TIME_WAIT when this host closes first (half a timer slot more on average
    with a timer granularity), or plus fin_timeout for a half-closed connection.
    """
    host = scenario.host
    w = scenario.workloads[workload_index]
    extra = 0.0
    if w.close == "client":
        assert host.time_wait is not None
        extra = host.time_wait + (host.time_wait_granularity or 0.0) / 2 if host.time_wait > 0 else 0.0
    elif w.close == "half":
        assert host.fin_timeout is not None
        extra = host.fin_timeout
    return w.duration.expected + extra


def _reasons(scenario: Scenario) -> list[str]:
    """Why the Erlang B prediction is only approximate for this scenario (empty when exact)."""
    host = scenario.host
    shared = host.sharing == "per_destination"
    reasons: list[str] = []
    if not all(w.arrivals.is_poisson for w in scenario.workloads):
        reasons.append("arrivals are not all Poisson (the prediction uses their mean rate)")
    if any(w.start > scenario.warmup or w.stop is not None for w in scenario.workloads):
        reasons.append("a workload starts after the warm-up or stops early, so load is not stationary")
    if shared and {w.bind is True for w in scenario.workloads} == {True, False}:
        reasons.append("bound and unbound connections share ports, coupling the per-destination pools")
    if host.policy_name in ("random_pick", "random_increment"):
        reasons.append(f"{host.policy_name} may give up while ports are free, so blocking can exceed Erlang B")
    if host.policy_name == "linux" and host.size % 2 and host.size > 1:
        reasons.append("with an odd-sized range the Linux scan can leave one port unreachable")
    if tw_reuse_applies(scenario):
        reasons.append("tcp_tw_reuse lets new connections take over TIME_WAIT 4-tuples, shortening holds under load")
    if host.max_tw_buckets != "unlimited":
        assert isinstance(host.max_tw_buckets, int)
        waiting = sum(
            w.arrivals.mean_rate * (hold_time(scenario, i) - w.duration.expected)
            for i, w in enumerate(scenario.workloads)
        )
        if waiting > 0.9 * host.max_tw_buckets:
            reasons.append("max_tw_buckets may cut TIME_WAIT short")
    return reasons


def predict(scenario: Scenario) -> ErlangPrediction:
    """Erlang B blocking for the scenario's pools, and whether the prediction applies exactly."""
    host = scenario.host
    n = host.usable_ports
    shared = host.sharing == "per_destination"
    reasons = _reasons(scenario)

    load: dict[tuple[int, str], float] = {}
    rate: dict[tuple[int, str], float] = {}
    labels = {d.endpoint: d.label for d in scenario.destinations}
    for i, w in enumerate(scenario.workloads):
        sources = host.source_addresses if w.bind is not False else 1
        hold = hold_time(scenario, i)
        total_weight = sum(d.weight for d in w.destinations)
        for d in w.destinations:
            key = labels[d.endpoint] if shared and w.bind is not True else "*"
            share = d.weight / total_weight / sources
            for src in range(sources):
                load[(src, key)] = load.get((src, key), 0.0) + w.arrivals.mean_rate * share * hold
                rate[(src, key)] = rate.get((src, key), 0.0) + w.arrivals.mean_rate * share
    total_rate = sum(rate.values())
    blocking = 0.0
    per_destination: dict[str, dict[str, float]] = {}
    for pool, offered in load.items():
        b = erlang_b(n, offered)
        blocking += b * rate[pool] / total_rate
        if pool[1] != "*":
            entry = per_destination.setdefault(pool[1], {"offered_load": 0.0, "blocking_probability": 0.0, "rate": 0.0})
            entry["offered_load"] += offered
            entry["blocking_probability"] += b * rate[pool]
            entry["rate"] += rate[pool]
    for entry in per_destination.values():
        entry["blocking_probability"] /= entry.pop("rate")
    if reasons:
        note = "approximate: " + "; ".join(reasons)
    else:
        note = "M/G/N/N loss system per pool: Erlang B with N ports and A = rate x (mean duration + TIME_WAIT)"
    return ErlangPrediction(
        offered_load=sum(load.values()),
        ports=n,
        pools=len(load),
        blocking_probability=blocking,
        applicable=not reasons,
        note=note,
        per_destination=per_destination,
    )


def capacity(scenario: Scenario, blocking: float = 0.01) -> dict[str, dict[str, Any]]:
    """How many new connections per second each pool sustains at a given blocking probability.

    For each destination (or "bound ports" when connections bind before connecting, or "all
    destinations" when ports are not shared): the rate lambda with Erlang B(N, lambda * hold) =
    ``blocking`` per source address used, where hold is the mean time a connection keeps its
    4-tuple (duration plus TIME_WAIT when this host closes first). tcp_tw_reuse and max_tw_buckets,
    which can shorten holds under load, are not accounted for; ``ignores`` names them when they apply.
    """
    host = scenario.host
    n = host.usable_ports
    shared = host.sharing == "per_destination"
    weighted: dict[str, list[float]] = {}  # key -> [rate, rate * hold, sources]
    labels = {d.endpoint: d.label for d in scenario.destinations}
    for i, w in enumerate(scenario.workloads):
        hold = hold_time(scenario, i)
        sources = host.source_addresses if w.bind is not False else 1
        total_weight = sum(d.weight for d in w.destinations)
        for d in w.destinations:
            if w.bind is True:
                key = "bound ports (all destinations)"
            else:
                key = labels[d.endpoint] if shared else "all destinations (no port sharing)"
            rate = w.arrivals.mean_rate * d.weight / total_weight
            entry = weighted.setdefault(key, [0.0, 0.0, 0.0])
            entry[0] += rate
            entry[1] += rate * hold
            entry[2] = max(entry[2], float(sources))
    ignored = []
    if tw_reuse_applies(scenario):
        ignored.append("tw_reuse")
    if host.max_tw_buckets != "unlimited":
        ignored.append("max_tw_buckets")
    result: dict[str, dict[str, Any]] = {}
    for key, (rate, rate_hold, addresses) in weighted.items():
        hold = rate_hold / rate if rate else 0.0
        if hold <= 0:
            continue
        result[key] = {
            "ignores": ", ".join(ignored),
            "ports": float(n),
            "source_addresses": addresses,
            "mean_hold_s": hold,
            "offered_rate": rate,
            "sustainable_rate": addresses * erlang_b_load(n, blocking) / hold,
        }
    return result
