"""Limits: what a scenario may ask of the machine, estimated before anything runs.

Counts are bounded by the schema (workloads, destinations, source addresses, reserved ranges,
variants, replications). The work and memory of a run depend on their product, so portsim estimates
them up front and refuses a job above ``Limits`` (one line with the estimate and the limit) unless
forced. The estimates are deliberately generous: they bound the peak of one replication.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ScenarioError
from .scenario import Scenario
from .workload import Workload

MAX_ATTEMPTS = 1e8
"""Connection attempts (and arrival-process steps) over a whole job: about half an hour on one core."""
MAX_MEMORY = float(1 << 30)
"""Bytes one replication may need: 1 GiB."""
BASELINE = 110 * (1 << 20)
"""The interpreter with numpy, SimPy, pydantic and matplotlib loaded and a figure drawn (measured: 105 MB)."""
PER_CONNECTION = 400
"""Bytes a held connection costs: its tuple, its calendar entry and their floats."""
PER_WAITING = 250
"""Bytes a request waiting for a pool connection costs: its object, its place in line and its timeout entry."""
PER_ROW = 7 * 32 + 7 * 8 * 3
"""Bytes one time-series row costs while sampling (Python floats) and as arrays (kept, stacked, written)."""
PER_GROUP_ROW = 2 * (32 + 8 * 3)
"""The same for a host group's two columns (``recorder.GROUP_SERIES``)."""


@dataclass(frozen=True)
class Estimate:
    """What a job is expected to cost."""

    attempts: float
    """Connection attempts and arrival-process steps, over every variant and replication."""
    memory: float
    """Bytes at the peak of the largest replication."""


@dataclass(frozen=True)
class Limits:
    """The most a job may ask for; ``force`` runs it anyway."""

    attempts: float = MAX_ATTEMPTS
    memory: float = MAX_MEMORY
    force: bool = False


PER_MAPPING = 300
"""Bytes a translator's mapping costs while open or held after its close (its entries, its timer)."""
PER_DROPPED = 120
"""Bytes a host port held by a SYN the translator dropped costs (its entry in the layer's queue)."""


def memory(scenario: Scenario) -> float:
    """Estimated peak bytes of one replication of ``scenario``."""
    n_dest = len(scenario.destinations)
    binds = any(w.bind is not False for w in scenario.workloads)
    size = max(g.host.size for g in scenario.fleet)
    pool = tuples = 0.0
    sources_used = 0
    for g in scenario.fleet:
        h = g.host
        used = (h.source_addresses if binds else 1) * g.count
        keys = n_dest if h.shares_ports else 1
        pool += h.source_addresses * g.count * h.size * 14 + used * keys * h.size * 9
        tuples += used * keys * h.size
        sources_used += used
    recorder = n_dest * size * 8 * 3 + sources_used * n_dest * size * 8
    offered = 0.0
    for w in scenario.workloads:
        host = scenario.host_of(w)
        extra = host.time_wait + host.time_wait_granularity if w.close == "client" else 0.0
        extra = host.fin_timeout if w.close == "half" else extra
        offered += w.offered.mean_rate * scenario.hosts_running(w) * (w.holding.expected + extra)
    held = min(offered * 2 + 100, tuples)
    held += _translator(scenario) / PER_CONNECTION
    waiting = sum(_waiting(scenario, w) for w in scenario.workloads)
    table = 0.0
    # a policy per group when groups have hosts of their own, else one for the fleet
    for h in [g.host for g in scenario.fleet] if scenario.mixed_hosts else [scenario.fleet_host]:
        if h.policy_name == "linux":
            bits = h.policy.get("table_bits", 16) if isinstance(h.policy, Mapping) else 16
            table += float(1 << int(bits)) * 40
    rows = scenario.duration / scenario.step + 2
    groups = len(scenario.fleet) if len(scenario.fleet) > 1 else 0
    series = rows * (PER_ROW + groups * PER_GROUP_ROW) * (1 + scenario.replications / 2)
    return BASELINE + pool + recorder + held * PER_CONNECTION + waiting * PER_WAITING + table + series


def _translator(scenario: Scenario) -> float:
    """Bytes of the translator: its port states, its mappings and held SYNs, and each host's row per sample."""
    kind = scenario.nat
    if kind is None:
        return 0.0
    rate = sum(w.offered.mean_rate * scenario.hosts_running(w) for w in scenario.workloads)
    hold = max(w.holding.expected for w in scenario.workloads) + max(kind.after_close(False), kind.after_close(True))
    mappings = rate * hold * 2 + 100
    dropped = rate * kind.connect_timeout  # host ports held by dropped SYNs, at most every attempt's
    hosts = scenario.fleet_hosts
    states = (
        kind.pool_size(hosts) * kind.public_addresses * len(scenario.destinations) if kind.scope == "address" else 0
    )
    rows = scenario.duration / scenario.step + 2
    # per host and row: mappings held and those held after close (int32 each), then the held ones stacked
    return mappings * PER_MAPPING + dropped * PER_DROPPED + states + hosts * rows * 4 * 3 + hosts * 200


def _waiting(scenario: Scenario, w: Workload) -> float:
    """Requests of ``w`` that may wait in line for a full pool at once, over its hosts (each has its own pools):
    when a host's requests in flight come near the pool's cap, the line may hold every arrival of the wait timeout
    (without one: of the whole run)."""
    pool = w.pool
    if pool is None or pool.max_per_host is None or pool.when_full != "wait":
        return 0.0
    rate = w.offered.mean_rate
    if rate * w.holding.expected < 0.5 * pool.max_per_host * len(w.destinations):
        return 0.0
    span = scenario.active(w)
    return rate * scenario.hosts_running(w) * (span if pool.wait_timeout is None else min(pool.wait_timeout, span))


def attempts(scenario: Scenario) -> float:
    """Expected attempts and arrival-process steps over every replication of ``scenario``."""
    return (
        sum(w.offered.steps(scenario.active(w)) * scenario.hosts_running(w) for w in scenario.workloads)
        * scenario.replications
    )


def estimate(runs: Mapping[str, Scenario]) -> Estimate:
    """The cost of running every scenario of ``runs`` (the variants of one job)."""
    return Estimate(
        attempts=sum(attempts(s) for s in runs.values()),
        memory=max(memory(s) for s in runs.values()),
    )


PYTHON_HINTS = ("Limits(attempts=...)", "Limits(memory=...)", "Limits(force=True)")
CLI_HINTS = ("--max-attempts", "--max-memory", "--force")


def check(
    runs: Mapping[str, Scenario], limits: Limits, source: str, hints: tuple[str, str, str] = PYTHON_HINTS
) -> Estimate:
    """The job's estimate; raises ScenarioError when it exceeds ``limits`` and is not forced.

    ``hints`` name how to raise each limit and how to force, in the caller's terms.
    """
    cost = estimate(runs)
    if limits.force:
        return cost
    if cost.attempts > limits.attempts:
        raise ScenarioError(
            f"{source}: about {cost.attempts:,.0f} connection attempts expected, above the limit of "
            f"{limits.attempts:,.0f} ({hints[0]}; {hints[2]} runs it anyway)"
        )
    if cost.memory > limits.memory:
        raise ScenarioError(
            f"{source}: about {cost.memory / (1 << 20):,.0f} MiB of memory expected, above the limit of "
            f"{limits.memory / (1 << 20):,.0f} MiB ({hints[1]}; {hints[2]} runs it anyway)"
        )
    return cost
