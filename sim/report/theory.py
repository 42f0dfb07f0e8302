"""Analytic predictions for a scenario: the pool as an Erlang loss system.

Each independent pool of N ports fed by Poisson attempts is an M/G/N/N loss system. A connection
holds its 4-tuple for its ESTABLISHED duration plus, when this host closes first, TIME_WAIT, so
the offered load is A = λ · (mean duration + TIME_WAIT) Erlangs and the blocking probability is
Erlang B(N, A), whatever the duration distribution. Which ports form a pool depends on sharing:

- connect() with 4-tuple sharing: one pool of N ports per (source address, destination);
- bind-before-connect, or an OS that does not share (macOS): one pool per source address.

Attempts are spread uniformly over the source addresses a workload uses, so each sees λ / S.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config.scenario import Scenario
from ..config.workload import Workload
from ..stats.erlang import erlang_b, erlang_b_load
from .records import Capacity, DestinationErlangB, ErlangB

EXACT_NOTE = "M/G/N/N loss system per pool: Erlang B with N ports and A = rate x (mean duration + TIME_WAIT)"
BUCKET_MARGIN = 0.9
"""max_tw_buckets is said to bite once the expected TIME_WAITs reach this fraction of it."""


@dataclass
class ErlangPrediction:
    """Erlang B prediction for a scenario, with whether its assumptions hold."""

    offered_load: float
    ports: int
    pools: int
    blocking_probability: float
    applicable: bool
    exact: bool
    note: str
    per_destination: dict[str, dict[str, float]] = field(default_factory=dict)
    destination_applicable: dict[str, bool] = field(default_factory=dict)
    rate: float = 0.0
    """Attempts per second the prediction covers (one host's; over the fleet for several host groups)."""
    destination_rates: dict[str, float] = field(default_factory=dict)
    groups: dict[str, ErlangPrediction] = field(default_factory=dict)
    """Per host group, when there are several: the prediction for one of its hosts."""

    def record(self) -> ErlangB:
        """The summary.json form: no blocking figure when the formula does not apply."""
        return ErlangB(
            offered_load=self.offered_load,
            ports=self.ports,
            pools=self.pools,
            blocking_probability=self.blocking_probability if self.applicable else None,
            applicable=self.applicable,
            exact=self.exact,
            note=self.note,
        )

    def destination(self, label: str) -> DestinationErlangB | None:
        """The prediction for one destination's pools (None when it has no pools of its own).

        It applies when nothing global breaks the formula and tcp_tw_reuse does not act toward it.
        """
        entry = self.per_destination.get(label)
        if entry is None:
            return None
        applicable = self.destination_applicable.get(label, self.applicable)
        return DestinationErlangB(
            offered_load=entry["offered_load"],
            blocking_probability=entry["blocking_probability"] if applicable else None,
            applicable=applicable,
        )


def reused_destinations(scenario: Scenario) -> set[str]:
    """Destinations whose TIME_WAITs tcp_tw_reuse may take over (some workload closes first and qualifies)."""
    return {
        d.label
        for w in scenario.workloads
        for d in w.destinations
        if w.close == "client" and scenario.host_of(w).tw_reusable(d.address, w.bound)
    }


def hold_time(scenario: Scenario, workload_index: int) -> float:
    """Mean seconds a connection of the workload holds its 4-tuple.

    ESTABLISHED time, plus TIME_WAIT when this host closes first (half a timer slot more on average
    with a timer grid), or plus fin_timeout for a half-closed connection.
    """
    w = scenario.workloads[workload_index]
    host = scenario.host_of(w)
    extra = 0.0
    if w.close == "client" and host.time_wait > 0:
        extra = host.time_wait + host.time_wait_granularity / 2
    elif w.close == "half":
        extra = host.fin_timeout
    return w.holding.expected + extra


def tuples(scenario: Scenario) -> int:
    """4-tuples the workloads can hold at once: ports x source addresses used x sharing keys."""
    host = scenario.fleet_host
    sources = host.source_addresses if any(w.bind is not False for w in scenario.workloads) else 1
    keys = len(scenario.destinations) if host.shares_ports else 1
    return host.usable_ports * sources * keys


def buckets_bite(scenario: Scenario) -> bool:
    """Whether max_tw_buckets can be reached: the expected TIME_WAIT and FIN_WAIT2 count near the limit."""
    limit = scenario.fleet_host.max_tw_buckets
    if limit is None:
        return False
    waiting = sum(
        w.offered.mean_rate * (hold_time(scenario, i) - w.holding.expected) for i, w in enumerate(scenario.workloads)
    )
    return min(waiting, float(tuples(scenario))) > BUCKET_MARGIN * limit


def coupled(scenario: Scenario) -> bool:
    """Whether bound and plain connections draw from the same ports, so that no pool is independent."""
    return {w.bound for w in scenario.workloads} == {True, False}


def _reasons(scenario: Scenario) -> list[str]:
    """Why the Erlang B prediction does not apply to this scenario (empty when it does)."""
    host = scenario.fleet_host
    reasons: list[str] = []
    if not all(w.offered.is_poisson for w in scenario.workloads):
        reasons.append("arrivals are not all Poisson")
    if any(w.pooled for w in scenario.workloads):
        reasons.append("a connection pool keeps connections across requests, so they do not arrive as Poisson")
    elif any(w.pool is not None and w.pool.max_per_host is not None for w in scenario.workloads):
        reasons.append("requests wait for a connection at the pool's max_per_host, so they do not connect as Poisson")
    if any(w.retry is not None and w.retry.max > 0 for w in scenario.workloads):
        reasons.append("retries add attempts when the pool is short of ports")
    if any(w.start > scenario.warmup or w.stop is not None for w in scenario.workloads):
        reasons.append("a workload starts after the warm-up or stops early, so load is not stationary")
    if coupled(scenario):
        reasons.append("bound and unbound connections share ports, coupling the pools")
    if host.policy_name in ("random_pick", "random_increment"):
        reasons.append(f"{host.policy_name} may give up while ports are free, so blocking can exceed Erlang B")
    if host.policy_name == "linux" and host.size % 2 and host.size > 1:
        reasons.append("with an odd-sized range the Linux scan can leave one port unreachable")
    if buckets_bite(scenario):
        reasons.append("max_tw_buckets may cut TIME_WAIT short")
    return reasons


def _caveats(scenario: Scenario) -> list[str]:
    """Why the prediction applies only approximately (empty when exact)."""
    host = scenario.fleet_host
    grid = host.time_wait_granularity
    if grid > 0 and host.time_wait > 0 and any(w.close == "client" for w in scenario.workloads):
        return [
            f"TIME_WAIT expires on a {grid:g} s timer grid, so ports come back in batches and blocking runs "
            "a little above Erlang B (e.g. 0.2513 simulated against 0.2465)"
        ]
    return []


def predict(scenario: Scenario) -> ErlangPrediction:
    """Erlang B blocking for the scenario's pools, and whether the prediction applies (for several host groups:
    each group's, combined by rate; ``groups`` holds them)."""
    if len(scenario.fleet) > 1:
        return combined(scenario, {g.name: predict(scenario.group_scenario(g.name)) for g in scenario.fleet})
    host = scenario.fleet_host
    n = host.usable_ports
    shared = host.shares_ports
    reasons = _reasons(scenario)
    caveats = _caveats(scenario)
    reused = reused_destinations(scenario)
    if reused:
        shown = ", ".join(sorted(reused)[:3]) + (", ..." if len(reused) > 3 else "")
        reasons.append(
            f"tcp_tw_reuse lets new connections take over TIME_WAIT 4-tuples toward {shown}, "
            "shortening holds under load"
        )

    load: dict[tuple[int, str], float] = {}
    rate: dict[tuple[int, str], float] = {}
    for i, w in enumerate(scenario.workloads):
        sources = host.source_addresses if w.bind is not False else 1
        hold = hold_time(scenario, i)
        for d, weight in zip(w.destinations, w.weights, strict=True):
            key = d.label if shared and not w.bound else "*"
            share = weight / sources
            for src in range(sources):
                load[(src, key)] = load.get((src, key), 0.0) + w.offered.mean_rate * share * hold
                rate[(src, key)] = rate.get((src, key), 0.0) + w.offered.mean_rate * share
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
    destination_rates = {label: entry.pop("rate") for label, entry in per_destination.items()}
    for label, entry in per_destination.items():
        entry["blocking_probability"] /= destination_rates[label]
    global_reasons = bool(_reasons(scenario))
    destination_applicable = {label: not global_reasons and label not in reused for label in per_destination}
    note = verdict(reasons, caveats, EXACT_NOTE)
    return ErlangPrediction(
        offered_load=sum(load.values()),
        ports=n,
        pools=len(load),
        blocking_probability=blocking,
        applicable=not reasons,
        exact=not reasons and not caveats,
        note=note,
        per_destination=per_destination,
        destination_applicable=destination_applicable,
        rate=total_rate,
        destination_rates=destination_rates,
    )


def verdict(reasons: list[str], caveats: list[str], exact: str) -> str:
    """The prediction's note: why it does not apply, else why it is approximate, else ``exact``."""
    if reasons:
        return "not applicable: " + "; ".join(reasons)
    if caveats:
        return "approximate: " + "; ".join(caveats)
    return exact


def combined(scenario: Scenario, groups: dict[str, ErlangPrediction]) -> ErlangPrediction:
    """The fleet's prediction from each host group's (one host's): every host's pools are independent loss
    systems, so blocking is the groups' averaged by their attempt rates (hosts x one host's rate). ``ports`` is
    the first group's N; each group's own is under ``groups``."""
    counts = {g.name: g.count for g in scenario.fleet}
    rates = {name: counts[name] * p.rate for name, p in groups.items()}
    total = sum(rates.values())
    reasons = [
        f"host group {name}: {reason}"
        for name, p in groups.items()
        if not p.applicable
        for reason in p.note.removeprefix("not applicable: ").split("; ")
    ]
    caveats = [
        f"host group {name}: {p.note.removeprefix('approximate: ')}"
        for name, p in groups.items()
        if p.applicable and not p.exact
    ]
    note = verdict(reasons, caveats, EXACT_NOTE + ", per host group, averaged over the groups by attempt rate")
    per_destination: dict[str, dict[str, float]] = {}
    destination_rates: dict[str, float] = {}
    destination_applicable: dict[str, bool] = {}
    for name, p in groups.items():
        for label, entry in p.per_destination.items():
            rate = counts[name] * p.destination_rates[label]
            into = per_destination.setdefault(label, {"offered_load": 0.0, "blocking_probability": 0.0})
            into["offered_load"] += counts[name] * entry["offered_load"]
            into["blocking_probability"] += rate * entry["blocking_probability"]
            destination_rates[label] = destination_rates.get(label, 0.0) + rate
            applies = p.destination_applicable.get(label, p.applicable)
            destination_applicable[label] = destination_applicable.get(label, True) and applies
    for label, entry in per_destination.items():
        entry["blocking_probability"] /= destination_rates[label]
    first = next(iter(groups.values()))
    return ErlangPrediction(
        offered_load=sum(counts[name] * p.offered_load for name, p in groups.items()),
        ports=first.ports,
        pools=sum(counts[name] * p.pools for name, p in groups.items()),
        blocking_probability=sum(rates[name] * p.blocking_probability for name, p in groups.items()) / total
        if total
        else 0.0,
        applicable=not reasons,
        exact=not reasons and not caveats,
        note=note,
        per_destination=per_destination,
        destination_applicable=destination_applicable,
        rate=total,
        destination_rates=destination_rates,
        groups=groups,
    )


COUPLED_REASON = (
    "bound and plain connections take ports from the same addresses, so the pools are coupled and no "
    "analytic capacity holds; portsim capacity finds it by simulation"
)

LAYERED_REASON = (
    "connections come through a connection pool or retries, so their rate is not the request rate and "
    "no analytic capacity holds; portsim capacity finds it by simulation"
)


TRACE_REASON = (
    "a trace replays the connections it recorded, with their own durations, so no analytic capacity holds; "
    "portsim capacity finds it by replaying the trace faster"
)


def changes_rate(w: Workload) -> bool:
    """Whether the client layer makes the workload's connection rate differ from its arrival rate: a keep-alive
    pool, a cap on connections that makes requests wait, or retries."""
    capped = w.pool is not None and w.pool.max_per_host is not None
    return w.pooled or capped or (w.retry is not None and w.retry.max > 0)


def capacity(scenario: Scenario, blocking: float = 0.01) -> dict[str, Capacity]:
    """How many new connections per second each pool sustains at a given blocking probability.

    For each destination (or "bound ports" when connections bind before connecting, or "all
    destinations" when ports are not shared): the rate lambda with Erlang B(N, lambda * hold) =
    ``blocking`` per source address used, where hold is the mean time a connection keeps its 4-tuple.
    tcp_tw_reuse and max_tw_buckets, which can shorten holds under load, are not accounted for;
    ``ignores`` names them when they can apply. Pools coupled by bound and plain connections get no
    figure, and ``reason`` says why. A fleet of several host groups has none of its own: each group's is
    ``capacity(scenario.group_scenario(name))``, per host.
    """
    if len(scenario.fleet) > 1:
        return {}
    host = scenario.fleet_host
    n = host.usable_ports
    weighted: dict[str, list[float]] = {}  # key -> [rate, rate * hold, sources]
    for i, w in enumerate(scenario.workloads):
        hold = hold_time(scenario, i)
        sources = host.source_addresses if w.bind is not False else 1
        for d, weight in zip(w.destinations, w.weights, strict=True):
            if w.bound:
                key = "bound ports (all destinations)"
            else:
                key = d.label if host.shares_ports else "all destinations (no port sharing)"
            rate = w.offered.mean_rate * weight
            entry = weighted.setdefault(key, [0.0, 0.0, 0.0])
            entry[0] += rate
            entry[1] += rate * hold
            entry[2] = max(entry[2], float(sources))
    reused = reused_destinations(scenario)
    buckets = buckets_bite(scenario)
    reason = COUPLED_REASON if coupled(scenario) else ""
    if any(changes_rate(w) for w in scenario.workloads):
        reason = LAYERED_REASON
    if any(w.offered.replays for w in scenario.workloads):
        reason = TRACE_REASON
    target = erlang_b_load(n, blocking)
    result: dict[str, Capacity] = {}
    for key, (rate, rate_hold, addresses) in weighted.items():
        hold = rate_hold / rate if rate else 0.0
        if hold <= 0:
            continue
        ignored = [name for name, applies in (("tw_reuse", key in reused), ("max_tw_buckets", buckets)) if applies]
        result[key] = Capacity(
            sustainable_rate=None if reason else addresses * target / hold,
            offered_rate=rate,
            ports=float(n),
            source_addresses=addresses,
            mean_hold_s=hold,
            ignores=", ".join(ignored),
            reason=reason,
        )
    return result
