"""The typed records of summary.json.

Every figure of a run's summary is a field of one of these records; ``Summary.to_json()`` writes
summary.json and ``Summary.model_validate`` reads it back. Numbers are counts and seconds from a single
run, or their means over replications (then floats). Records can also be read like the JSON they
came from (``summary["time_wait"]["peak"]``), for notebooks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

Number = int | float


class Record(BaseModel):
    """A frozen record that can also be indexed by field name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """The field ``key``, or ``default`` when there is none or it is unset."""
        value = getattr(self, key, None) if key in type(self).model_fields else None
        return default if value is None else value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in type(self).model_fields

    def keys(self) -> list[str]:
        """Field names, in summary.json order."""
        return list(type(self).model_fields)

    def items(self) -> list[tuple[str, Any]]:
        """(name, value) of every field."""
        return [(name, getattr(self, name)) for name in type(self).model_fields]

    def __eq__(self, other: object) -> bool:
        """Equal to a record of the same type with equal fields, or to the mapping it dumps to."""
        if isinstance(other, Mapping):
            return self.model_dump() == dict(other)
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash(json.dumps(self.model_dump(mode="json"), sort_keys=True))


class Level(Record):
    """A level over the measured window: its peak and time-weighted mean."""

    peak: Number
    mean: Number

    @classmethod
    def of_samples(cls, values: np.ndarray) -> Level:
        """The highest and the mean of sampled ``values`` (rows of the time series), 0 and 0 for none."""
        return cls(peak=float(values.max()), mean=float(values.mean())) if values.size else cls(peak=0, mean=0)


class TimeWaitLevel(Level):
    """TIME_WAIT 4-tuples, with those taken over by tw_reuse and the closes max_tw_buckets turned away."""

    recycled: Number
    overflow: Number


class Spread(Record):
    """Mean, 99th percentile and maximum of a per-attempt quantity."""

    mean: Number | None
    p99: Number | None
    max: Number | None


class ReuseIntervals(Record):
    """Seconds a 4-tuple stayed free before its next use."""

    count: Number
    min: Number | None
    p01: Number | None
    median: Number | None
    mean: Number | None


class GroupHost(Record):
    """One host group's settings and ports."""

    hosts: int
    preset: str
    port_range: tuple[int, int]
    ports_per_source: int
    source_addresses: int
    total_ports: int
    """Over every source address used and every host of the group."""
    policy: str | dict[str, Any]
    sharing: str
    time_wait_s: Number
    tw_reuse: int
    max_tw_buckets: int | str


class PoolFacts(Record):
    """The pool the run drew from (the first host group's settings when groups have hosts of their own:
    ``groups`` has each group's)."""

    port_range: tuple[int, int]
    ports_per_source: int
    reserved: int
    source_addresses: int
    source_addresses_used: int
    total_ports: int
    """Over every source address used and every host."""
    policy: str | dict[str, Any]
    sharing: str
    time_wait_s: Number
    time_wait_granularity_s: Number = 0.0
    tw_reuse: int
    max_tw_buckets: int | str
    hosts: int = 1
    """Hosts in the fleet, each with this pool unless ``groups`` says otherwise."""
    groups: dict[str, GroupHost] | None = None
    """Per host group (a scenario with ``hosts``), its settings."""


class ErlangB(Record):
    """The Erlang B prediction for the whole scenario (blocking averaged over pools by rate)."""

    offered_load: Number
    ports: int
    pools: int
    blocking_probability: Number | None
    applicable: bool
    exact: bool = True
    """False when the prediction applies only approximately (e.g. a timer grid)."""
    note: str


class DestinationErlangB(Record):
    """The Erlang B prediction for one destination's pools."""

    offered_load: Number
    blocking_probability: Number | None
    applicable: bool


class Capacity(Record):
    """Connections per second one pool sustains at 1% blocking (null with a reason when not computable)."""

    sustainable_rate: Number | None
    offered_rate: Number
    ports: Number
    source_addresses: Number
    mean_hold_s: Number
    ignores: str = ""
    reason: str = ""


class GroupFigures(Record):
    """One host group's figures in a fleet of several (its settings are under ``pool.groups``)."""

    ports_in_use: Level
    """Over the group's hosts together, from the time series (``ports_in_use.<group>``): its highest and mean
    sample in the measured window."""
    time_wait: Level
    """Its hosts' connections in TIME_WAIT together (``time_wait.<group>``), sampled alike."""
    erlang_b: ErlangB
    """For one of its hosts, running the group's workloads."""
    capacity_at_1pct_blocking: dict[str, Capacity]
    """Per host."""


class RequestFigures(Record):
    """Requests (or, for a connection workload with retries, first attempts) and what they cost in connections."""

    requests: Number
    """Requests that arrived (first attempts)."""
    requests_per_s: Number
    completed: Number
    """Requests that got a connection and ended on it (for one connection per request: that connected)."""
    failures: Number
    """Requests that failed for good, retries spent."""
    failure_probability: Number | None
    failures_by_cause: dict[str, Number]
    retries: Number
    amplification: Number | None
    """Attempts (first attempts and retries) per first attempt."""
    new_connections: Number
    new_connections_per_s: Number
    reuse_ratio: Number | None
    """Requests served per new connection."""
    idle_connections: Level
    pool_wait_s: Spread
    """Seconds a request waited for a connection (zero when it got one at once)."""
    closed: dict[str, Number]
    """Connections the pool closed, by reason (request, surplus, idle, server_idle, worn, nat_idle)."""
    waiting_at_end: Number = 0
    """Requests still waiting for a connection from a full pool when the run ended (neither failed nor served)."""


class ClientFigures(RequestFigures):
    """A workload's requests through its pool, in all and per destination."""

    pool: str
    """The client preset (or ``custom``); ``none`` for a connection per request."""
    destinations: dict[str, RequestFigures]


class WorkloadFigures(Record):
    """Attempts and outcomes of one workload."""

    attempts: Number
    established: Number
    failures: Number
    blocking_probability: Number | None
    first_failure_time_s: Number | None
    errno: str
    offered_rate: Number
    requests: ClientFigures | None = None
    """For request workloads and workloads with retries."""
    translator_failures: Number = 0
    """Attempts that got a host port but no mapping on the translator (counted in ``failures``)."""


class ReuseDistance(Record):
    """Connections toward a destination between two uses of one port."""

    count: Number
    min: Number | None
    median: Number | None
    mean: Number | None


class NextPortGuess(Record):
    """An observer guessing the next port as the previous one plus the commonest increment."""

    increment: Number | None
    success_rate: Number | None
    observed: Number


class DestinationFigures(Record):
    """Attempts, outcomes, levels and predictability toward one destination."""

    attempts: Number
    established: Number
    failures: Number
    blocking_probability: Number | None
    peak_connections: Number
    peak_time_wait: Number
    time_wait_recycled: Number
    reuse_distance: ReuseDistance
    next_port_guess: NextPortGuess
    erlang_b: DestinationErlangB | None = None


class NatPool(Record):
    """One owner's pools of mappings (a public address's, or a host's), over every destination."""

    mappings: Level
    closing: Level
    failures: Number


class NatGroup(Record):
    """A host group behind the translator."""

    hosts: Number
    attempts: Number
    failures: Number
    """Attempts of the group's workloads that failed, on their host or on the translator."""
    translator_failures: Number
    hosts_failed: Number
    """Hosts that had at least one attempt dropped by the translator."""
    hosts_failed_with_room: Number
    """Of those, hosts that failed while another pool toward the same destination had room."""
    peak_mappings_per_host: Number
    """The most mappings (open or held after close) one host held at a time-series row."""
    mappings: Level
    """Open mappings of the group's hosts together: the highest and the mean time-series row of the measured
    window."""
    closing: Level
    """Mappings of the group's hosts held after their close (cooldown, TIME_WAIT), the same way."""


class NatErlangB(Record):
    """Erlang B for one pool of mappings: servers, offered load (erlangs) and blocking."""

    pool: str
    servers: Number
    offered_load: Number
    blocking_probability: Number | None


class NatFigures(Record):
    """The translator's figures (``nat`` in summary.json)."""

    kind: str
    error: str
    scope: str
    """Whose pools of mappings there are, one per destination: ``address`` or ``host``."""
    hosts: Number
    public_addresses: Number
    pool_size: Number
    """Mappings a pool (one owner toward one destination) holds at once, closing ones included (at the start
    with dynamic allocation)."""
    attempts: Number
    failures: Number
    failure_probability: Number | None
    mappings: Level
    closing: Level
    idle_timeouts: Number
    hosts_failed_with_room: Number
    free_elsewhere_at_drops: Number | None = None
    """Host-scoped kinds: the mean share of the other hosts' mappings toward the destination free at each drop
    (near 0: the whole fleet is short; near 1: ports stranded on quiet hosts)."""
    growing_to: Number | None = None
    """With dynamic allocation: the most mappings a host's pool may grow to."""
    probes: Spread | None = None
    evicted: Number | None = None
    failed_with_free_ports: Number | None = None
    sustainable_rate: Number | None = None
    """New connections per second one pool sustains: pool size / (mean hold, cut at the idle timeout, + the time after
    close)."""
    sustainable_rate_per: str = ""
    pools_by_destination: bool = True
    """Whether each owner has a pool per destination (False: one for every destination, endpoint-independent
    mapping)."""
    erlang_b: list[NatErlangB] = []
    erlang_b_note: str = ""
    owners: dict[str, NatPool] = {}
    """Per public address (address-scoped kinds); per host only for fleets of at most 64 hosts."""
    groups: dict[str, NatGroup] = {}

    @property
    def pool_destinations(self) -> str:
        """Which destinations one pool serves, as the text and the plots say it."""
        return "per destination" if self.pools_by_destination else "for every destination"


class Summary(Record):
    """summary.json: the figures of one run, or their means over replications."""

    scenario: str
    seed: int
    replication: int | None = None
    replications: int | None = None
    variant: str | None = None
    version: str
    sim_time_s: Number
    measured_from_s: Number
    wall_time_s: Number
    attempts: Number
    established: Number
    failures: Number
    blocking_probability: Number | None
    first_failure_time_s: Number | None
    seconds_failing: Number = 0.0
    """Seconds of the measured window in time-series steps with at least one failed attempt."""
    errors: dict[str, Number]
    connections_established: Level
    time_wait: TimeWaitLevel
    fin_wait2: Level
    ports_in_use: Level
    probes: Spread
    connect_latency_us: Spread
    reuse_interval_s: ReuseIntervals
    pool: PoolFacts
    erlang_b: ErlangB
    capacity_at_1pct_blocking: dict[str, Capacity]
    workloads: dict[str, WorkloadFigures]
    destinations: dict[str, DestinationFigures]
    confidence_level: float | None = None
    ci95: dict[str, Any] | None = None
    """The same tree as the summary with [low, high] of each mean (replications only)."""
    per_replication: list[dict[str, Any]] | None = None
    """Each replication's top-level figures (replications only)."""
    nat: NatFigures | None = None
    """The translator's figures (scenarios with ``nat``)."""
    groups: dict[str, GroupFigures] | None = None
    """Per host group, in a fleet of several."""

    OPTIONAL: ClassVar[tuple[str, ...]] = (
        "nat",
        "groups",
        "replication",
        "replications",
        "variant",
        "confidence_level",
        "ci95",
        "per_replication",
    )
    """Keys written only when set."""

    def to_json(self) -> dict[str, Any]:
        """The summary.json form: keys in this order, NaN and infinities as null, unset run-level keys left out."""
        data = self.model_dump(mode="json")
        for key in self.OPTIONAL:
            if data.get(key) is None:
                data.pop(key, None)
        for figures in data["workloads"].values():
            if figures.get("requests") is None:
                figures.pop("requests", None)
        finite: dict[str, Any] = _finite(data)
        return finite


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    return value
