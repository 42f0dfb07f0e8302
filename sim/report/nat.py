"""From what the translator recorded to its figures (``nat`` in summary.json), with its theory.

The theory is each kind's documented arithmetic: a pool of ``pool_size`` mappings, each held for a
connection's mean duration (cut at the kind's idle timeout) plus the kind's time after close, sustains
``pool_size / (hold + after)`` new connections per second (Azure NAT Gateway with FIN: 50,000 / 65.5 s =
763/s per address toward one destination). With Poisson arrivals and pools that neither grow nor fail
early, Erlang B gives the blocking of each pool: one per host and destination for host-scoped kinds, the
addresses' pools together toward one destination for the kinds that try every address (AWS, Azure NAT
Gateway).
"""

from __future__ import annotations

import numpy as np

from ..config.scenario import Scenario
from ..config.workload import Workload
from ..model.records import RunRecords
from ..nat.kinds import AzureNatGateway, LinuxSnat, NatKind
from ..nat.records import NatRecords
from ..stats.erlang import erlang_b
from .records import Level, NatErlangB, NatFigures, NatGroup, NatPool, Spread

MAX_OWNERS = 64
"""Owners listed one by one in summary.json (hosts beyond this are summed in ``groups``)."""


def _workload_hold(w: Workload, kind: NatKind) -> float:
    """Seconds a mapping of workload ``w`` is held per connection: open until its connection closes or the kind's
    idle timeout drops it (E[min(D, idle)]), then, for the connections that closed first, the kind's time after
    close."""
    open_for, closed_first = w.holding.capped(kind.idle_after())
    return open_for + closed_first * kind.after_close(w.close == "reset")


def _hold(scenario: Scenario, kind: NatKind) -> float:
    """Seconds a mapping is held per connection, averaged over the workloads by their rates (over every host)."""
    total = sum(w.offered.mean_rate * scenario.hosts_running(w) for w in scenario.workloads)
    if total <= 0:
        return 0.0
    return sum(
        w.offered.mean_rate * scenario.hosts_running(w) / total * _workload_hold(w, kind) for w in scenario.workloads
    )


def _erlang(scenario: Scenario, kind: NatKind) -> tuple[list[NatErlangB], str]:
    """Erlang B per pool where it applies, else a note saying why not."""
    if isinstance(kind, LinuxSnat):
        return [], "netfilter's bounded search fails before a pool is full: Erlang B would understate blocking"
    if kind.growing:
        return [], "dynamic allocation grows the pools during the run"
    if isinstance(kind, AzureNatGateway) and not kind.cooldown_counts:
        return [], "open and cooling mappings have caps of their own"
    if any(not w.offered.is_poisson or w.layered for w in scenario.workloads):
        return [], "needs Poisson connection arrivals (no client pool or retries)"
    hosts = scenario.fleet_hosts
    servers = kind.pool_size(hosts)
    holds = [_workload_hold(w, kind) for w in scenario.workloads]
    rows: list[NatErlangB] = []
    if kind.scope == "host" and not kind.pools_by_destination:
        for g in scenario.fleet:
            load = sum(scenario.workloads[i].offered.mean_rate * holds[i] for i in g.workloads)
            if load > 0:
                rows.append(_row(f"{g.name} (each host) -> every destination", servers, load))
        return rows, ""
    for d in scenario.destinations:
        if kind.scope == "host":
            for g in scenario.fleet:
                load = sum(
                    scenario.workloads[i].offered.mean_rate * _share(scenario, i, d.endpoint) * holds[i]
                    for i in g.workloads
                )
                if load > 0:
                    rows.append(_row(f"{g.name} (each host) -> {d.label}", servers, load))
        else:
            load = sum(
                w.offered.mean_rate * scenario.hosts_running(w) * _share(scenario, i, d.endpoint) * holds[i]
                for i, w in enumerate(scenario.workloads)
            )
            n = servers * kind.public_addresses
            rows.append(_row(f"{kind.public_addresses} address(es) -> {d.label}", n, load))
    return rows, ""


def translator_blocking(scenario: Scenario) -> tuple[float | None, str]:
    """The highest Erlang B blocking over the translator's pools (None with the reason where it does not apply;
    0 without a translator)."""
    if scenario.nat is None:
        return 0.0, ""
    rows, note = _erlang(scenario, scenario.nat)
    if not rows:
        return None, f"the translator: {note}"
    return max(float(r.blocking_probability or 0.0) for r in rows), ""


def _share(scenario: Scenario, i: int, endpoint: tuple[str, int]) -> float:
    w = scenario.workloads[i]
    weights = w.weights
    return sum(p for dest, p in zip(w.destinations, weights, strict=True) if dest.endpoint == endpoint)


def _row(pool: str, servers: int, load: float) -> NatErlangB:
    return NatErlangB(pool=pool, servers=servers, offered_load=load, blocking_probability=erlang_b(servers, load))


def _owners(rec: NatRecords) -> dict[str, NatPool]:
    if len(rec.unit_labels) > MAX_OWNERS:
        return {}
    return {
        label: NatPool(
            mappings=Level(peak=rec.unit_peak_mappings[u], mean=rec.unit_mean_mappings[u]),
            closing=Level(peak=rec.unit_peak_closing[u], mean=rec.unit_mean_closing[u]),
            failures=rec.unit_failures[u],
        )
        for u, label in enumerate(rec.unit_labels)
    }


def _groups(records: RunRecords, rec: NatRecords) -> dict[str, NatGroup]:
    scenario = records.scenario
    translator = records.translator_failures or [0] * len(scenario.workloads)
    window = records.window_rows()  # the translator samples at every time-series row
    held, closing = rec.host_series[window], rec.host_closing_series[window]
    result: dict[str, NatGroup] = {}
    for g in scenario.fleet:
        hosts = range(g.first, g.first + g.count)
        columns = slice(g.first, g.first + g.count)
        failed = [h for h in hosts if rec.host_failures[h]]
        group_held = held[:, columns].sum(axis=1, dtype=np.int64)
        group_closing = closing[:, columns].sum(axis=1, dtype=np.int64)
        result[g.name] = NatGroup(
            hosts=g.count,
            attempts=sum(records.attempts[i] for i in g.workloads),
            failures=sum(records.failures[i] for i in g.workloads),
            translator_failures=sum(translator[i] for i in g.workloads),
            hosts_failed=len(failed),
            hosts_failed_with_room=sum(1 for h in failed if rec.host_failed_with_room[h]),
            peak_mappings_per_host=int(held[:, columns].max()) if held.size else 0,
            mappings=Level.of_samples(group_held - group_closing),
            closing=Level.of_samples(group_closing),
        )
    return result


def nat_figures(records: RunRecords) -> NatFigures | None:
    """The translator's figures of one replication, or None without a translator."""
    rec = records.nat
    if rec is None:
        return None
    scenario = records.scenario
    kind = rec.kind
    hosts = rec.hosts
    hold = _hold(scenario, kind)
    size = kind.pool_size(hosts)
    rows, note = _erlang(scenario, kind)
    probes = rec.probes
    per = f"per {'host' if kind.scope == 'host' else 'public address'} " + (
        "per destination" if kind.pools_by_destination else "to every destination together"
    )
    return NatFigures(
        kind=kind.name,
        error=kind.error,
        scope=kind.scope,
        hosts=hosts,
        public_addresses=kind.public_addresses,
        pool_size=size,
        attempts=rec.attempts,
        failures=rec.failures,
        failure_probability=rec.failures / rec.attempts if rec.attempts else None,
        mappings=Level(peak=rec.peak_mappings, mean=sum(rec.unit_mean_mappings)),
        closing=Level(peak=rec.peak_closing, mean=sum(rec.unit_mean_closing)),
        idle_timeouts=rec.idle_timeouts,
        hosts_failed_with_room=sum(1 for h, f in enumerate(rec.host_failures) if f and rec.host_failed_with_room[h]),
        free_elsewhere_at_drops=rec.free_elsewhere_at_drops,
        growing_to=kind.busy_cap(hosts) if kind.growing else None,
        probes=Spread(mean=probes.mean(), p99=probes.quantile(0.99), max=probes.max()) if probes.n else None,
        evicted=rec.evicted,
        failed_with_free_ports=rec.failed_with_free_ports,
        # a keep-alive pool holds a mapping as long as it keeps the connection, not a request's latency
        sustainable_rate=size / hold
        if hold > 0 and not kind.growing and not any(w.pooled for w in scenario.workloads)
        else None,
        sustainable_rate_per=per,
        pools_by_destination=kind.pools_by_destination,
        erlang_b=rows,
        erlang_b_note=note,
        owners=_owners(rec),
        groups=_groups(records, rec),
    )
