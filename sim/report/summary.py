"""From what a replication recorded to its typed summary (summary.json)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config.workload import Workload
from ..core.host import ResolvedHost
from ..model.recorder import group_column
from ..model.records import RunRecords
from ..stats.histograms import IntHistogram
from .nat import nat_figures
from .records import (
    DestinationFigures,
    GroupFigures,
    GroupHost,
    Level,
    NextPortGuess,
    PoolFacts,
    ReuseDistance,
    ReuseIntervals,
    Spread,
    Summary,
    TimeWaitLevel,
    WorkloadFigures,
)
from .requests import request_figures
from .run import RunReport
from .theory import ErlangPrediction, capacity, predict

ERRNO_CONNECT = "EADDRNOTAVAIL"
ERRNO_BIND = "EADDRINUSE"


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _distance(histogram: IntHistogram) -> ReuseDistance:
    values = np.flatnonzero(histogram.counts) if histogram.n else np.array([], dtype=np.int64)
    return ReuseDistance(
        count=histogram.n,
        min=int(values[0]) if values.size else None,
        median=histogram.quantile(0.5),
        mean=histogram.mean(),
    )


def _guess(increments: np.ndarray | None, size: int) -> NextPortGuess:
    """Success rate of an observer guessing the next port as the previous one plus the commonest increment.

    The increment is signed: a step of size - 1 around the range is reported as -1.
    """
    counts = increments if increments is not None else np.zeros(1, np.int64)
    total = int(counts.sum())
    if not total:
        return NextPortGuess(increment=None, success_rate=None, observed=0)
    step = int(np.argmax(counts))  # the smallest of the commonest increments
    signed = step - size if step > size // 2 else step
    return NextPortGuess(increment=signed, success_rate=int(counts[step]) / total, observed=total)


def seconds_failing(series: dict[str, np.ndarray], since: float) -> float:
    """Seconds after ``since`` in time-series steps during which some attempt failed."""
    t, failed = series["time_s"], series["failures"]
    steps = np.diff(t)
    counted = (failed[1:] > 0) & (t[1:] > since)
    return float(steps[counted].sum())


def group_figures(records: RunRecords, prediction: ErlangPrediction) -> dict[str, GroupFigures] | None:
    """Per host group of a fleet of several: its ports in use (sampled), and the Erlang B and capacity of one of
    its hosts."""
    scenario = records.scenario
    if len(scenario.fleet) < 2:
        return None
    groups = prediction.groups
    rows = records.window_rows()
    return {
        g.name: GroupFigures(
            ports_in_use=Level.of_samples(records.series[group_column(g.name)][rows]),
            time_wait=Level.of_samples(records.series[group_column(g.name, "time_wait")][rows]),
            erlang_b=groups[g.name].record(),
            capacity_at_1pct_blocking=capacity(scenario.group_scenario(g.name), 0.01),
        )
        for g in scenario.fleet
    }


def offered_rate(w: Workload, start: float, stop: float) -> float:
    """Arrivals per second the workload offers over the measured window [start, stop], counting the parts
    of it before its own start or after its stop as zero."""
    if stop <= start:
        return w.offered.mean_rate
    a, b = max(start, w.start), min(stop, w.stop if w.stop is not None else stop)
    return w.offered.mean_rate_over(a, b) * (b - a) / (stop - start) if b > a else 0.0


def host_facts(host: ResolvedHost) -> dict[str, Any]:
    """The settings ``PoolFacts`` and ``GroupHost`` give of a host, as summary.json writes them."""
    return {
        "port_range": (host.low, host.high),
        "ports_per_source": host.usable_ports,
        "source_addresses": host.source_addresses,
        "policy": dict(host.policy) if not isinstance(host.policy, str) else host.policy,
        "sharing": host.sharing,
        "time_wait_s": host.time_wait,
        "tw_reuse": host.tw_reuse,
        "max_tw_buckets": "unlimited" if host.max_tw_buckets is None else host.max_tw_buckets,
    }


def group_host(host: ResolvedHost, count: int, binds: bool) -> GroupHost:
    """A host group's settings and ports."""
    used = host.source_addresses if binds else 1
    return GroupHost(**host_facts(host), hosts=count, preset=host.preset, total_ports=host.usable_ports * used * count)


def summarize(records: RunRecords) -> Summary:
    """The summary.json figures of one replication (see the README)."""
    scenario = records.scenario
    host = scenario.fleet_host
    prediction = predict(scenario)
    errors = {ERRNO_CONNECT: 0, ERRNO_BIND: 0}
    workloads: dict[str, WorkloadFigures] = {}
    requests = request_figures(records)
    translator = records.translator_failures or [0] * len(scenario.workloads)
    nat = nat_figures(records)
    if nat is not None:
        errors[nat.error] = sum(translator)
    for i, w in enumerate(scenario.workloads):
        errno = ERRNO_BIND if w.bound else ERRNO_CONNECT
        errors[errno] += records.failures[i] - translator[i]
        workloads[w.name] = WorkloadFigures(
            attempts=records.attempts[i],
            established=records.established[i],
            failures=records.failures[i],
            blocking_probability=_ratio(records.failures[i], records.attempts[i]),
            first_failure_time_s=records.first_failure[i],
            errno=errno,
            offered_rate=offered_rate(w, records.measured_from_s, records.sim_time_s),
            requests=requests.get(i),
            translator_failures=translator[i],
        )
    destinations: dict[str, DestinationFigures] = {}
    widest = max(g.host.size for g in scenario.fleet)  # the increments' length: the widest range's
    for j, d in enumerate(scenario.destinations):
        destinations[d.label] = DestinationFigures(
            attempts=records.dest_attempts[j],
            established=records.dest_established[j],
            failures=records.dest_failures[j],
            blocking_probability=_ratio(records.dest_failures[j], records.dest_attempts[j]),
            peak_connections=records.dest_peak_held[j],
            peak_time_wait=records.dest_peak_time_wait[j],
            time_wait_recycled=records.dest_recycled[j],
            reuse_distance=_distance(records.reuse_distance[j]),
            next_port_guess=_guess(records.increments[j], widest),
            erlang_b=prediction.destination(d.label),
        )
    attempts, failures = sum(records.attempts), sum(records.failures)
    failed_at = [t for t in records.first_failure if t is not None]
    probes = records.probes
    spread = {"mean": probes.mean(), "p99": probes.quantile(0.99), "max": probes.max()}
    binds = any(w.bind for w in scenario.workloads)
    used = host.source_addresses if binds else 1
    hosts = scenario.fleet_hosts
    groups = {g.name: group_host(g.host, g.count, binds) for g in scenario.fleet} if scenario.hosts else None
    means = records.means
    return Summary(
        scenario=scenario.name,
        seed=scenario.seed,
        replication=records.replication,
        variant=scenario.variant_name,
        version=scenario.portsim_version or "",
        sim_time_s=records.sim_time_s,
        measured_from_s=records.measured_from_s,
        wall_time_s=records.wall_time_s,
        attempts=attempts,
        established=sum(records.established),
        failures=failures,
        blocking_probability=_ratio(failures, attempts),
        first_failure_time_s=min(failed_at) if failed_at else None,
        seconds_failing=seconds_failing(records.series, records.measured_from_s),
        errors=errors,
        connections_established=Level(peak=records.peak_established, mean=means["established"]),
        time_wait=TimeWaitLevel(
            peak=records.peak_time_wait,
            mean=means["time_wait"],
            recycled=sum(records.dest_recycled),
            overflow=sum(records.dest_overflow),
        ),
        fin_wait2=Level(peak=records.peak_fin_wait2, mean=means["fin_wait2"]),
        ports_in_use=Level(peak=records.peak_ports, mean=means["ports_in_use"]),
        probes=Spread(**spread),
        connect_latency_us=Spread(**{k: None if v is None else host.latency_us(v) for k, v in spread.items()}),
        reuse_interval_s=ReuseIntervals(
            count=records.reuse.n,
            min=records.reuse.min(),
            p01=records.reuse.quantile(0.01),
            median=records.reuse.quantile(0.5),
            mean=records.reuse.mean(),
        ),
        pool=PoolFacts(
            **host_facts(host),
            reserved=len(host.reserved_offsets),
            source_addresses_used=used,
            total_ports=sum(g.total_ports for g in groups.values()) if groups else host.usable_ports * used * hosts,
            hosts=hosts,
            time_wait_granularity_s=host.time_wait_granularity,
            groups=groups,
        ),
        erlang_b=prediction.record(),
        capacity_at_1pct_blocking=capacity(scenario, 0.01),
        workloads=workloads,
        destinations=destinations,
        nat=nat,
        groups=group_figures(records, prediction),
    )


def report(records: RunRecords) -> RunReport:
    """The typed report of one replication."""
    return RunReport(
        scenario=records.scenario,
        summary=summarize(records),
        series=records.series,
        probe_counts=np.trim_zeros(records.probes.counts, "b").copy(),  # as histograms.json holds it
        reuse_counts=records.reuse.counts.copy(),
        reuse_edges=records.reuse.edges.copy(),
        occupancy_attempts=records.occupancy_attempts,
        occupancy_probes=records.occupancy_probes,
        port_map_data=records.port_map,
        nat_hosts=None if records.nat is None else records.nat.host_series,
    )
