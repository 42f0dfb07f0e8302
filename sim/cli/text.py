"""The text a run prints: its summary, or its variants side by side."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..clients.presets import CLIENT_PRESETS
from ..nat.kinds import NAT_KINDS
from ..report.comparison import compare
from ..report.records import Capacity, ClientFigures, ErlangB, NatFigures, Summary
from ..report.run import RunReport

CAPACITY_LINES = 4
"""Pools whose capacity the summary prints (summary.json has them all)."""


def fmt(value: Any) -> str:
    """A figure in 4 significant digits, '-' for none."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != 0 and abs(value) < 1e-9:
            return "< 1e-9"
        if 1e4 <= abs(value) < 1e15:  # whole numbers with separators, not 1.638e+04
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value)


def sig3(value: float) -> str:
    """A rate in 3 significant figures, with thousands separators when large."""
    if value >= 1000:
        return f"{float(f'{value:.3g}'):,.0f}"
    return f"{value:.3g}"


def predicted(value: float | None) -> str:
    """A predicted probability: below 1e-9 (zero included, an underflow) shown as such."""
    if value is None:
        return "-"
    return "< 1e-9" if value < 1e-9 else f"{value:.4g}"


def erlang(eb: ErlangB) -> str:
    """The Erlang B part of the blocking line."""
    if not eb.applicable:
        reasons = eb.note.removeprefix("not applicable: ").split("; ")
        more = f" and {len(reasons) - 1} more reason(s) in summary.json" if len(reasons) > 1 else ""
        return f"Erlang B: n/a, {reasons[0]}{more}"
    if not eb.exact:
        return f"Erlang B: {predicted(eb.blocking_probability)} (approximate: timer grid)"
    return f"Erlang B: {predicted(eb.blocking_probability)}"


def interval(s: Summary, key: str) -> str:
    """'  (95% CI a-b)' for a figure averaged over replications, else nothing."""
    bounds = (s.ci95 or {}).get(key)
    if not s.replications or not isinstance(bounds, list) or len(bounds) != 2:
        return ""
    return f" (95% CI {fmt(bounds[0])}–{fmt(bounds[1])})"


def capacity_line(key: str, cap: Capacity, behind_nat: bool = False) -> str:
    """One pool's capacity at 1% blocking (``behind_nat``: the host's own, per host, the translator aside)."""
    label = "host capacity" if behind_nat else "capacity"
    if cap.sustainable_rate is None:
        return f"  {label:<20} {key}: not computable ({cap.reason})"
    per = " per host" if behind_nat else ""
    return (
        f"  {label:<20} {sig3(cap.sustainable_rate)} conn/s{per} to {key} at 1% blocking "
        f"(offered {sig3(cap.offered_rate)}; {cap.ports:,.0f} ports x {cap.source_addresses:.0f} "
        f"address(es), each held {cap.mean_hold_s:.3g} s" + (f"; ignores {cap.ignores}" if cap.ignores else "") + ")"
    )


def summary_text(result: RunReport, out: Path) -> str:
    """The summary of one run, as ``portsim run`` prints it."""
    s = result.summary
    first = s.first_failure_time_s
    tw = s.time_wait
    lines = [
        f"portsim {s.version}: {s.scenario} ({s.sim_time_s:g} s simulated, seed {result.scenario.seed}"
        + (f", means over {s.replications} replications" if s.replications else "")
        + (f", measured from {s.measured_from_s:g} s" if s.measured_from_s else "")
        + ")",
        f"  attempts             {s.attempts:,.0f}",
        f"  failures             {s.failures:,.0f}"
        + (f"  (first at {first:.2f} s; failing during {s.seconds_failing:,.0f} s)" if first is not None else ""),
        f"  blocking probability {fmt(s.blocking_probability)}{interval(s, 'blocking_probability')}   "
        + ("host's " if s.nat is not None else "")
        + erlang(s.erlang_b),
        f"  ports in use         peak {s.ports_in_use.peak:,.0f} of {s.pool.total_ports:,}, "
        f"mean {s.ports_in_use.mean:,.1f}",
        *group_lines(s),
        f"  TIME_WAIT            peak {tw.peak:,.0f}, mean {tw.mean:,.1f}"
        + (f", {tw.recycled:,.0f} taken over by tw_reuse" if tw.recycled else "")
        + (f", {tw.overflow:,.0f} closes skipped TIME_WAIT/FIN_WAIT2 (max_tw_buckets)" if tw.overflow else ""),
    ]
    if s.fin_wait2.peak:
        lines.append(f"  FIN_WAIT2            peak {s.fin_wait2.peak:,.0f}, mean {s.fin_wait2.mean:,.1f}")
    lines.append(
        f"  connect() cost       {fmt(s.probes.mean)} ports examined on average "
        f"(p99 {fmt(s.probes.p99)}), about {fmt(s.connect_latency_us.mean)} µs"
    )
    capacities = list(s.capacity_at_1pct_blocking.items())
    reasons = {cap.reason for _, cap in capacities if cap.sustainable_rate is None}
    if capacities and len(reasons) == 1 and all(cap.sustainable_rate is None for _, cap in capacities):
        label = "host capacity" if s.nat is not None else "capacity"
        lines.append(f"  {label:<20} not computable ({reasons.pop()})")
    else:
        lines.extend(capacity_line(key, cap, s.nat is not None) for key, cap in capacities[:CAPACITY_LINES])
        if len(capacities) > CAPACITY_LINES:
            lines.append(f"  capacity             ... {len(capacities) - CAPACITY_LINES} more pools in summary.json")
    if len(s.workloads) > 1:
        for name, w in s.workloads.items():
            causes = f"{w.errno}"
            if s.nat is not None and w.translator_failures:
                host = w.failures - w.translator_failures
                causes = f"{w.translator_failures:,.0f} {s.nat.error}" + (f", {host:,.0f} {w.errno}" if host else "")
            failed = f"{w.failures:,.0f} failed" + (f" ({causes})" if w.failures else "")
            lines.append(
                f"  workload {name:<12} {w.attempts:,.0f} attempts, {failed}, blocking {fmt(w.blocking_probability)}"
            )
    for name, w in s.workloads.items():
        if w.requests is not None:
            lines.extend(request_lines(name, w.requests))
    if s.nat is not None:
        lines.extend(nat_lines(s.nat))
    lines.append(f"  results              {out}/")
    return "\n".join(lines)


def mixed(s: Summary) -> bool:
    """Whether the host groups' settings differ (then the pool's figures are the first group's)."""
    groups = (s.pool.groups or {}).values()
    return len({g.model_dump_json(exclude={"hosts", "total_ports"}) for g in groups}) > 1


def group_lines(s: Summary) -> list[str]:
    """Per host group: its hosts and their settings when the groups' differ; with several groups, its ports in use
    and one of its hosts' Erlang B and capacity."""
    lines = []
    settings = s.pool.groups or {}
    differ = mixed(s)
    said: set[str] = set() if s.erlang_b.applicable else {s.erlang_b.note}
    """Reasons printed already (a group whose Erlang B or capacity does not apply for one says "as above")."""
    for name, g in settings.items():
        hosts = f"{g.hosts:,} host{'s' if g.hosts > 1 else ''}"
        if differ:
            lines.append(
                f"    group {name:<14} {hosts}: {g.preset}, ports {g.port_range[0]}-{g.port_range[1]} "
                f"({g.total_ports:,} in all), TIME_WAIT {g.time_wait_s:g} s"
            )
        figures = (s.groups or {}).get(name)
        if figures is None:
            continue
        use = figures.ports_in_use
        lead = f"    {'':<20} " if differ else f"    group {name:<14} {hosts}, {g.total_ports:,} ports: "
        own = ", its own ports (the translator's figures below)" if s.nat is not None else ""
        lines.append(
            f"{lead}in use peak {use.peak:,.0f}, mean {use.mean:,.1f}, TIME_WAIT mean "
            f"{figures.time_wait.mean:,.1f} (sampled); per host{own}: "
            + group_erlang(figures.erlang_b, said)
            + group_capacity(figures.capacity_at_1pct_blocking, said)
        )
    return lines


def group_erlang(eb: ErlangB, said: set[str]) -> str:
    """A group's Erlang B for its figures line: "as above" for a reason ``said`` already (which it joins)."""
    if eb.applicable:
        return erlang(eb)
    if eb.note in said:
        return "Erlang B: n/a (as above)"
    said.add(eb.note)
    return erlang(eb)


def group_capacity(capacities: dict[str, Capacity], said: set[str] | None = None) -> str:
    """A group's host capacity at 1% blocking, to its first pool, for its figures line ("as above" for a reason
    ``said`` already, which it joins)."""
    if not capacities:
        return ""
    key, cap = next(iter(capacities.items()))
    more = f" (and {len(capacities) - 1} more pools)" if len(capacities) > 1 else ""
    if cap.sustainable_rate is None:
        if said is not None:
            if cap.reason in said:
                return ", capacity n/a (as above)"
            said.add(cap.reason)
        return f", capacity n/a ({cap.reason})"
    return f", capacity {sig3(cap.sustainable_rate)} conn/s to {key} at 1% blocking{more}"


def nat_lines(n: NatFigures) -> list[str]:
    """The translator: its drops by their own name, its pools, the hosts that failed with room elsewhere."""
    owners = f"{n.hosts:,.0f} hosts" if n.scope == "host" else f"{n.public_addresses:,.0f} address(es)"
    lines = [
        f"  translator           {n.kind}, {n.pool_size:,.0f} mappings per "
        f"{'host' if n.scope == 'host' else 'address'} "
        f"{n.pool_destinations} ({owners})",
        f"    {n.error:<18} {n.failures:,.0f} of {n.attempts:,.0f} attempts dropped "
        f"(probability {fmt(n.failure_probability)})"
        + (f", Erlang B {fmt(n.erlang_b[0].blocking_probability)}" if len(n.erlang_b) == 1 else ""),
        f"    mappings           peak {n.mappings.peak:,.0f}, mean {n.mappings.mean:,.1f}; held after close "
        f"peak {n.closing.peak:,.0f}, mean {n.closing.mean:,.1f}",
    ]
    if len(n.groups) > 1:  # sampled at the time-series rows, the group's hosts together
        for name, g in n.groups.items():
            lines.append(
                f"    group {name}: mappings peak {g.mappings.peak:,.0f}, mean {g.mappings.mean:,.1f}; held after "
                f"close peak {g.closing.peak:,.0f}, mean {g.closing.mean:,.1f}; {g.translator_failures:,.0f} dropped "
                f"({g.hosts_failed:,.0f} of {g.hosts:,.0f} host{'' if g.hosts == 1 else 's'})"
            )
    if n.sustainable_rate is not None:
        evicting = " before SYNs must evict closing entries" if n.kind == "linux-snat" else ""
        lines.append(f"    sustains about     {sig3(n.sustainable_rate)} new conn/s {n.sustainable_rate_per}{evicting}")
    elif n.growing_to is not None:
        lines.append(
            f"    pools grow         from {n.pool_size:,.0f} up to {n.growing_to:,.0f} mappings per host (dynamic)"
        )
    if n.hosts_failed_with_room and n.free_elsewhere_at_drops is not None:
        lines.append(
            f"    {n.hosts_failed_with_room:,.0f} host(s) refused while other hosts' pools toward the destination had "
            f"room: on average {n.free_elsewhere_at_drops:.0%} of their mappings free at each drop"
        )
    elif n.hosts_failed_with_room:
        lines.append(
            f"    {n.hosts_failed_with_room:,.0f} host(s) refused while another public address had room "
            "(each host's address is a fixed hash: addresses do not pool)"
        )
    if n.failed_with_free_ports:
        lines.append(
            f"    {n.failed_with_free_ports:,.0f} drops with free ports left in the pool (netfilter's bounded search)"
        )
    if n.evicted:
        lines.append(f"    {n.evicted:,.0f} closing conntrack entries evicted by new SYNs (Linux 6.5 and later)")
    if n.idle_timeouts:
        lines.append(f"    {n.idle_timeouts:,.0f} mappings dropped after the idle timeout")
    return lines


def request_lines(name: str, r: ClientFigures) -> list[str]:
    """A workload's requests: outcomes, the connections they cost, the pool, retries."""
    causes = ", ".join(f"{cause} {n:,.0f}" for cause, n in r.failures_by_cause.items() if n)
    lines = [
        f"  requests {name:<12} {r.requests:,.0f} ({sig3(r.requests_per_s)}/s, pool {r.pool}), "
        f"{r.failures:,.0f} failed"
        + (f" ({causes})" if causes else "")
        + (f", {r.waiting_at_end:,.0f} still waiting for a connection at the end" if r.waiting_at_end else ""),
        f"    connections        {sig3(r.new_connections_per_s)} new/s, {fmt(r.reuse_ratio)} requests per connection, "
        f"idle mean {r.idle_connections.mean:,.1f} (peak {r.idle_connections.peak:,.0f}), "
        f"pool wait mean {fmt(r.pool_wait_s.mean)} s, p99 {fmt(r.pool_wait_s.p99)} s",
    ]
    if r.retries:
        lines.append(f"    retries            {r.retries:,.0f}, amplification {fmt(r.amplification)}")
    stale = r.closed.get("nat_idle", 0)
    if stale:
        lines.append(
            f"    {stale:,.0f} pooled connections lost their mapping on the translator (idle, or a request, longer "
            "than its idle timeout): each met its RST (keep the pool's idle timeout below the translator's)"
        )
    return lines


def host_cell(s: Summary, one: str) -> str:
    """The hosts of a variant in one cell: ``one`` (the settings every host has), or each host group's."""
    if not mixed(s):
        return one
    return "; ".join(
        f"{name} {g.preset} {g.port_range[0]}-{g.port_range[1]}, TIME_WAIT {g.time_wait_s:g} s"
        for name, g in (s.pool.groups or {}).items()
    )


def comparison_text(results: Mapping[str, RunReport], out: Path) -> str:
    """Variants side by side, as ``portsim run`` prints them."""
    first = next(iter(results.values()))
    table = compare(results)
    width = max(len(n) for n in table)
    width = max(width, len("variant"))
    requests = any(row.new_connections_per_s is not None for row in table.values())
    extra = f" {'req fail':>9} {'new/s':>8}" if requests else ""
    nat = any(r.summary.nat is not None for r in results.values())
    extra += f" {'NAT block':>9} {'NAT EBmax':>9}" if nat else ""  # Erlang B of the translator's fullest pool
    lines = [
        f"portsim {first.summary.version}: {first.scenario.name}, {len(results)} variants",
        f"  {'variant':<{width}}  {'attempts':>10} {'failures':>9} {'blocking':>9} "
        f"{'host EB' if nat else 'Erlang B':>9} "
        f"{'failing s':>9} {'TIME_WAIT':>9}{extra} {'pool':>7}  host",
    ]
    for name, row in table.items():
        cells = f" {fmt(row.request_failure_probability):>9} {fmt(row.new_connections_per_s):>8}" if requests else ""
        if nat:
            n = results[name].summary.nat
            rows = n.erlang_b if n is not None else []
            worst = max((r.blocking_probability or 0.0 for r in rows), default=None)
            cells += f" {fmt(n.failure_probability if n else None):>9} {predicted(worst):>9}"
        lines.append(
            f"  {name:<{width}}  {row.attempts:>10,.0f} {row.failures:>9,.0f} "
            f"{fmt(row.blocking_probability):>9} {predicted(row.erlang_b):>9} "
            f"{row.seconds_failing:>9,.0f} {row.time_wait_mean:>9,.0f}{cells} {row.pool_size:>7,}  "
            + host_cell(
                results[name].summary, f"preset {row.preset}, policy {row.policy}, TIME_WAIT {row.time_wait_s:g} s"
            )
        )
    lines.append(f"  results              {out}/ (one folder per variant, comparison.json, comparison.png)")
    return "\n".join(lines)


def nat_kinds_text() -> str:
    """The translator kinds, their defaults and sources, as ``portsim presets --nat`` prints them."""
    lines = []
    for name, cls in NAT_KINDS.items():
        kind = cls()
        lines.append(name)
        lines.append(f"  what        {(cls.__doc__ or '').strip().splitlines()[0]}")
        lines.append(f"  pools       one per {'host' if cls.scope == 'host' else 'public address'} and destination")
        lines.append(f"  drops       {cls.error}")
        values = ", ".join(
            f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}"
            for key, value in kind.model_dump(exclude={"kind"}).items()
        )
        lines.append(f"  defaults    {values}")
        for source in cls.sources:
            lines.append(f"  source      {source}")
    return "\n".join(lines)


def client_presets_text() -> str:
    """The client presets, the pool keys each sets and their sources, as ``portsim presets --clients`` prints them."""
    lines = []
    for preset in CLIENT_PRESETS.values():
        lines.append(preset.name)
        lines.append(f"  what        {preset.description}")
        values = ", ".join(
            f"{key} {value:g} s" if isinstance(value, float) else f"{key} {value}".lower()
            for key, value in preset.values.items()
        )
        lines.append(f"  pool        {values}; every other key: its default (pool keys in the README, Clients)")
        for source in preset.sources:
            lines.append(f"  source      {source}")
    return "\n".join(lines)
