"""The SimPy model: one run of a scenario with one seed.

Workloads are SimPy processes that attempt connections at their arrival times (``traffic``). Each
attempt first brings the lifecycle up to date (closes and TIME_WAIT expiries due by then), asks the
allocation policy for a port, and either records a failure (EADDRNOTAVAIL for connect(), EADDRINUSE
for bind()) or holds the 4-tuple until the connection's drawn end. A sampler process writes the
fixed-step time series. ``run`` returns the raw ``RunRecords``; ``report`` turns them into a summary.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass

import numpy as np
import simpy

from ..clients.layer import ClientLayer, ClientWorkload
from ..clients.retry import Backoff
from ..config.fleet import Group
from ..config.scenario import Scenario
from ..config.workload import Workload
from ..core.fleet import FleetLifecycle, build_fleet
from ..core.hooks import Connection
from ..core.host import build_host
from ..core.lifecycle import Lifecycle
from ..core.streams import component_rng, fleet_sources, random_ints, weighted_choices
from ..nat.build import make_translator, unit_labels
from ..nat.layer import NatLayer
from ..version import version
from . import compiled
from .portmap import PortMapRecorder, PortMapSpec
from .recorder import FLUSH, SERIES, Recorder, group_column
from .records import RunRecords
from .replay import Replay
from .traffic import batched, traffic

ProgressCallback = Callable[[float, int], None]
"""Called now and then with the simulated time reached (seconds) and the attempts made so far."""

PROGRESS_CHUNKS = 200
"""A run with progress reporting advances in this many steps of simulated time (and every TICK attempts)."""


@dataclass
class Driver:
    """Run-time state of one workload."""

    index: int
    spec: Workload
    destinations: list[int]
    durations: Iterator[float]
    pick_destination: Iterator[int] | None
    pick_source: Iterator[int] | None
    bound: bool = False
    layered: bool = False
    """Whether its arrivals go through the client layer (a pool or retries)."""
    replay: Replay | None = None
    """A trace workload's replay: its attempt times, destinations and durations."""
    hosts: int = 1
    """Hosts running the workload: its arrivals come at this many times its rate."""


class PortModel:
    """A scenario wired into SimPy for one (seed, replication)."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int | None = None,
        replication: int = 0,
        *,
        fast: bool = True,
        layered: bool = False,
        port_map: PortMapSpec | None = None,
    ) -> None:
        """``fast=False`` runs the lifecycle's general path throughout (the fast path's reference);
        ``layered=True`` sends every workload through the client layer (the direct path's reference);
        ``port_map`` records the port map's frames (its first-failure still is taken in every run)."""
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.replication = replication
        host = scenario.host.resolved
        self.groups = scenario.fleet
        destinations = scenario.destinations
        index = {d.endpoint: i for i, d in enumerate(destinations)}
        endpoints = [d.endpoint for d in destinations]
        classes = [(w.close, w.bound) for w in scenario.workloads]
        group_of = [k for i in range(len(scenario.workloads)) for k, g in enumerate(self.groups) if i in g.workloads]
        """Per workload, the index of the group running it."""
        self.env = simpy.Environment()
        self.lifecycle: Lifecycle | FleetLifecycle
        if scenario.parts_per_group:  # hosts of their own, or limits of their own: parts per group, run as one
            group_parts, self.lifecycle = build_fleet(
                [(g.host, g.count, g.sources) for g in self.groups],
                endpoints,
                classes,
                group_of,
                # the first group draws the stream a lone host would, so adding a group changes no other's ports
                [self._rng("policy" if k == 0 else f"policy:{g.name}") for k, g in enumerate(self.groups)],
                fast=fast,
            )
            self.parts_of = [group_parts[k] for k in group_of]
            self.parts = group_parts[0]
            n_sources = self.groups[-1].sources.stop
            sizes = [g.host.size for g in self.groups for _ in g.sources]
        else:
            if scenario.fleet_hosts > 1:  # one pool with each host's addresses as sources of their own
                hosts = scenario.fleet_hosts
                # one lifecycle counts the fleet's TIME_WAITs: each host's max_tw_buckets, times the hosts, caps it
                buckets = None if host.max_tw_buckets is None else host.max_tw_buckets * hosts
                host = dataclasses.replace(host, source_addresses=hosts * host.source_addresses, max_tw_buckets=buckets)
            self.parts = build_host(host, endpoints, classes, self._rng("policy"), fast=fast)
            self.lifecycle = self.parts.lifecycle
            self.parts_of = [self.parts] * len(scenario.workloads)
            n_sources, sizes = host.source_addresses, None
        self.host = host
        """The host settings of a fleet of identical hosts (source addresses: the fleet's), else the scenario's."""
        self.space, self.policy, self.pool = self.parts.space, self.parts.policy, self.parts.pool
        """The first group's parts (every host's in a fleet of identical hosts); ``parts_of`` has each workload's."""
        size = max(g.host.size for g in self.groups)
        self.recorder = Recorder(len(scenario.workloads), len(destinations), n_sources, size, sizes)
        self._next_id = 0
        self._progress: ProgressCallback | None = None
        self.drivers = [
            self._driver(i, w, index, layered or w.layered, self.groups[group_of[i]])
            for i, w in enumerate(scenario.workloads)
        ]
        self.dial = self.connect
        """connect() as the workloads and the client layer call it: through the translator when there is one."""
        self.host_of_source = [
            g.first + h for g in self.groups for h in range(g.count) for _ in range(g.host.source_addresses)
        ]
        """Per source index, its host in the fleet (a host may have several source addresses)."""
        self.nat = self._nat()
        if self.nat is not None:
            self.dial = self.nat.connect
        self.clients = self._clients()
        self.port_map = PortMapRecorder(
            self.pool,
            self.recorder,
            [d.label for d in destinations],
            self.space.low,
            port_map,
            port_map.check(scenario) if port_map is not None else 0,
            self.groups[0].sources if scenario.parts_per_group else None,
        )
        self.batch = compiled.attach(self) if fast else None
        """The compiled fast path while it runs the model (``compiled``), else None."""
        self.advance = self._advance()
        """Bring every layer's events up to ``now`` (the lifecycle's alone without other layers)."""
        streams = [(d, self._times(d)) for d in self.drivers]
        arrive = self.attempt if self.clients is None else self._arrive
        if self.batch is None:
            self.env.process(traffic(self.env, streams, arrive, self._every_tick))
        else:
            self.batch.streams([d.index for d, _ in streams], [times for _, times in streams])
            self.env.process(batched(self.env, self.batch, self.drivers, arrive, self._every_tick))
        self.env.process(self._sampler())
        if port_map is not None:
            self.env.process(self.port_map.process(self.env, self.advance, scenario.duration))
        if scenario.warmup > 0:
            self.env.process(self._warmup())

    def _rng(self, name: str) -> np.random.Generator:
        return component_rng(self.seed, self.replication, name)

    def _stop(self, w: Workload) -> float:
        return min(w.stop or self.scenario.duration, self.scenario.duration)

    def _times(self, d: Driver) -> Iterator[float]:
        """A workload's attempt times: its trace's rows, or its arrival process."""
        if d.replay is not None:
            return d.replay.times(d.spec.start, self._stop(d.spec))
        offered = d.spec.offered
        if d.hosts > 1:  # the group's hosts' arrivals together; each goes to one host at random (_sources)
            offered = offered.model_copy(update=offered.scaled(d.hosts))
        return offered.times(self._rng(f"workload:{d.spec.name}:arrivals"), d.spec.start, self._stop(d.spec))

    def _driver(self, i: int, w: Workload, index: dict[tuple[str, int], int], layered: bool, group: Group) -> Driver:
        dests = [index[d.endpoint] for d in w.destinations]
        replay = Replay.of(i, w, index, self.lifecycle, lambda: self._next_id)
        return Driver(
            index=i,
            spec=w,
            bound=w.bound,
            layered=layered,
            destinations=dests,
            durations=(
                replay.durations() if replay is not None else w.holding.stream(self._rng(f"workload:{w.name}:duration"))
            ),
            pick_destination=(
                replay.destinations()
                if replay is not None
                else weighted_choices(self._rng(f"workload:{w.name}:destination"), dests, w.weights)
                if len(dests) > 1
                else None
            ),
            replay=replay,
            pick_source=self._sources(w, group),
            hosts=group.count,
        )

    def _sources(self, w: Workload, group: Group) -> Iterator[int] | None:
        """A workload's source index per attempt: one of its group's hosts at random, then one of that host's
        addresses when it binds (a plain connect() uses the first)."""
        k = group.host.source_addresses
        spread = k > 1 and w.bind is not False
        if group.first_source == 0 and group.count == 1:
            return random_ints(self._rng(f"workload:{w.name}:source"), k) if spread else None
        return fleet_sources(
            self._rng(f"workload:{w.name}:host") if group.count > 1 else None,
            group.count,
            group.first_source,
            k,
            self._rng(f"workload:{w.name}:source") if spread else None,
        )

    def _nat(self) -> NatLayer | None:
        """The translator in front of the hosts, when the scenario has one."""
        kind = self.scenario.nat
        if kind is None:
            return None
        workloads = self.scenario.workloads
        translator = make_translator(kind, self.scenario.fleet_hosts, len(self.scenario.destinations), self._rng("nat"))
        self.nat_labels = unit_labels(kind, [(g.name, g.count) for g in self.groups])
        return NatLayer(
            translator,
            self.lifecycle,
            self.parts_of,
            self.allocate,
            self.recorder.translator_failed,
            rst=[w.close == "reset" for w in workloads],
            bound=[w.bound for w in workloads],
            host_of_source=self.host_of_source,
        )

    def _advance(self) -> Callable[[float], None]:
        """Advance every layer: the lifecycle, then the client layer's events, then the translator's."""
        clients, nat = self.clients, self.nat
        if self.batch is not None:
            advance: Callable[[float], None] = self.batch.advance
            return advance
        if nat is None:
            return self.lifecycle.advance if clients is None else clients.advance
        if clients is None:
            return nat.advance

        def both(now: float) -> None:
            clients.advance(now)
            nat.advance(now)

        return both

    def _clients(self) -> ClientLayer | None:
        """The client layer of the workloads that need one, or None when none does."""
        layered = [d for d in self.drivers if d.layered]
        if not layered:
            return None
        workloads = [
            ClientWorkload(
                index=d.index,
                destinations=d.destinations,
                pool=d.spec.pool if d.spec.pooled else None,
                backoff=(
                    Backoff(d.spec.retry, self._rng(f"workload:{d.spec.name}:retry"))
                    if d.spec.retry is not None and d.spec.retry.max > 0
                    else None
                ),
                holds=d.durations,
                close=d.spec.close,
            )
            for d in layered
        ]
        return ClientLayer(
            self.lifecycle,
            self.dial,
            workloads,
            len(self.scenario.destinations),
            self.nat,
            self.host_of_source if self.scenario.fleet_hosts > 1 else None,
        )

    # ----------------------------------------------------------------- processes

    def _arrive(self, driver: Driver, now: float) -> None:
        """An arrival when a client layer exists: through the layer, or a direct attempt once it is up to date."""
        clients = self.clients
        assert clients is not None
        if driver.layered:
            src = next(driver.pick_source) if driver.pick_source is not None else 0
            dst = next(driver.pick_destination) if driver.pick_destination is not None else driver.destinations[0]
            clients.arrive(driver.index, src, dst, now)
        else:
            clients.advance(now)
            self.attempt(driver, now)

    def attempt(self, driver: Driver, now: float) -> int:
        """One connect() (or bind() then connect()) at ``now``; returns the port, or -1 on failure."""
        src = next(driver.pick_source) if driver.pick_source is not None else 0
        dst = next(driver.pick_destination) if driver.pick_destination is not None else driver.destinations[0]
        conn = self.dial(driver.index, src, dst, now)
        if conn is None:
            return -1
        self.lifecycle.open(now + next(driver.durations), conn)
        parts = self.parts_of[driver.index]
        return parts.space.low + parts.pool.offsets[conn[2]]

    def connect(self, w: int, src: int, dst: int, now: float) -> Connection | None:
        """Workload ``w``'s connect() (or bind() then connect()) from source ``src`` to ``dst`` at ``now``.

        Returns the connection, ESTABLISHED and recorded but with no close scheduled, or None on failure.
        """
        self.lifecycle.advance(now)
        return self.allocate(w, src, dst, now)

    def allocate(self, w: int, src: int, dst: int, now: float) -> Connection | None:
        """``connect`` once the layers are up to date at ``now`` (a translator advances them itself first)."""
        recorder = self.recorder
        parts = self.parts_of[w]
        pool = parts.pool
        driver = self.drivers[w]
        bound = driver.bound
        if bound:
            occupancy = pool.local_occupancy(src)
            slot, probes = parts.policy.bind(pool.local[src], src, now, driver.spec.reuseaddr)
        else:
            view, occupancy = pool.request(src, dst)
            slot, probes = parts.policy.connect(view, src, dst, now)
        if slot < 0:
            recorder.failed(w, dst, probes, occupancy, now)
            if self.port_map.still is None:  # on the failure path only: successful attempts never test it
                self.port_map.failed(src, dst, now)
            return None
        interval, recycled = pool.take(src, dst, slot, bound, now)
        if recycled is not None:
            self.lifecycle.recycled(recycled, now)
        in_use = pool.ports_in_use if self.lifecycle is parts.lifecycle else self.ports_in_use
        recorder.connected(w, dst, probes, occupancy, interval, src, pool.offsets[slot], in_use)
        self._next_id += 1
        return (src, dst, slot, w, self._next_id, now)

    @property
    def ports_in_use(self) -> int:
        """(source address, port) pairs carrying a socket, over every host."""
        return self.lifecycle.ports_in_use

    def time_means(self, now: float) -> dict[str, float]:
        """``Lifecycle.time_means``; while the compiled path holds the calendar, with the intervals it holds."""
        lifecycle, batch = self.lifecycle, self.batch
        if batch is None or not isinstance(lifecycle, Lifecycle):  # the compiled path runs one plain lifecycle
            return lifecycle.time_means(now)
        return lifecycle.time_means(now, batch.still_open)

    def group_ports_in_use(self) -> list[int]:
        """Per host group, (source address, port) pairs carrying a socket on its hosts."""
        if isinstance(self.lifecycle, FleetLifecycle):  # a pool per group
            return [m.pool.ports_in_use for m in self.lifecycle.members]
        in_use = self.pool.in_use  # one pool: each group's hosts are a range of its sources
        return [sum(in_use[g.sources.start : g.sources.stop]) for g in self.groups]

    def group_time_wait(self) -> list[int]:
        """Per host group, connections in TIME_WAIT on its hosts (each group's hosts are a range of the sources)."""
        counts = self.lifecycle.levels.source_time_wait
        return [sum(counts[g.sources.start : g.sources.stop]) for g in self.groups]

    def _every_tick(self, now: float) -> None:
        self.recorder.flush(FLUSH)
        if self._progress is not None:
            self._progress(now, sum(self.recorder.attempts))

    def _sampler(self) -> Generator[simpy.events.Event, object, None]:
        step = self.scenario.step
        duration = self.scenario.duration
        self._sample(0.0)
        k = 1
        while k * step < duration * (1 - 1e-12):
            t = round(k * step, 9)
            yield self.env.timeout(t - self.env.now)
            self.advance(t)
            self._sample(t)
            k += 1

    def _sample(self, t: float) -> None:
        lc = self.lifecycle
        self.recorder.sample(t, lc.established, lc.time_wait, lc.fin_wait2, self.ports_in_use)
        if len(self.groups) > 1:
            series = self.recorder.series
            for g, in_use, time_wait in zip(
                self.groups, self.group_ports_in_use(), self.group_time_wait(), strict=True
            ):
                series.setdefault(group_column(g.name), []).append(in_use)
                series.setdefault(group_column(g.name, "time_wait"), []).append(time_wait)
        if self.clients is not None:
            self.clients.recorder.sample(t, self.clients.idle_total)
        if self.nat is not None:
            self.nat.sample(t)

    def _warmup(self) -> Generator[simpy.events.Event, object, None]:
        warmup = self.scenario.warmup
        yield self.env.timeout(warmup)
        self.advance(warmup)
        self.lifecycle.start_window(warmup)
        if self.clients is not None:
            self.clients.start_window(warmup)
        if self.nat is not None:
            self.nat.translator.start_window(warmup)
        self.recorder.start_window(warmup, self.ports_in_use)
        for pool in {id(p.pool): p.pool for p in self.parts_of}.values():
            pool.start_window(warmup)

    # ----------------------------------------------------------------- running

    def run(self, progress: ProgressCallback | None = None) -> RunRecords:
        """Simulate the whole duration and return what this replication recorded."""
        started = time.perf_counter()
        duration = self.scenario.duration
        if progress is None:
            self.env.run(until=duration)
        else:
            self._progress = progress
            for k in range(1, PROGRESS_CHUNKS + 1):
                self.env.run(until=duration * k / PROGRESS_CHUNKS)
                progress(self.env.now, sum(self.recorder.attempts))
        self.advance(duration)  # the compiled path, if it still runs, keeps its calendar: ``time_means`` reads it
        self._sample(duration)
        self.port_map.finish(duration)
        self.recorder.flush()
        return self.records(time.perf_counter() - started)

    def records(self, wall_time: float) -> RunRecords:
        """What the run recorded so far (call after ``run``)."""
        rec = self.recorder
        levels = self.lifecycle.levels
        series = {c: np.asarray(rec.series[c]) for c in SERIES}
        series.update({c: np.asarray(v) for c, v in rec.series.items() if c not in series})
        series["time_s"] = series["time_s"].astype(float)
        clients = self.clients
        if clients is not None:
            series.update({c: np.asarray(v) for c, v in clients.recorder.series.items()})
        nat = None
        if self.nat is not None:
            series.update({c: np.asarray(v) for c, v in self.nat.translator.series.items()})
            nat = self.nat.translator.records(self.scenario.duration, self.nat_labels)
        return RunRecords(
            scenario=self.scenario.with_changes(seed=self.seed, replications=1, portsim_version=version()),
            replication=self.replication,
            sim_time_s=self.scenario.duration,
            measured_from_s=rec.window_start,
            wall_time_s=wall_time,
            attempts=rec.counted("attempts"),
            established=rec.counted("established"),
            failures=rec.counted("failures"),
            first_failure=list(rec.first_failure),
            dest_attempts=rec.counted("dest_attempts"),
            dest_established=rec.counted("dest_established"),
            dest_failures=rec.counted("dest_failures"),
            peak_ports=rec.peak_ports,
            peak_established=levels.peak_established,
            peak_time_wait=levels.peak_time_wait,
            peak_fin_wait2=levels.peak_fin_wait2,
            means=self.time_means(self.scenario.duration),
            dest_peak_held=list(levels.dest_peak_held),
            dest_peak_time_wait=list(levels.dest_peak_time_wait),
            dest_recycled=list(levels.dest_recycled),
            dest_overflow=list(levels.dest_overflow),
            probes=rec.probes,
            reuse=rec.reuse,
            reuse_distance=rec.reuse_distance,
            increments=rec.increments,
            occupancy_attempts=rec.occupancy_attempts.copy(),
            occupancy_probes=rec.occupancy_probes.copy(),
            series=series,
            clients=None if clients is None else clients.records(self.scenario.duration),
            port_map=self.port_map.records(),
            nat=nat,
            translator_failures=rec.counted("translator_failures"),
            dest_translator_failures=rec.counted("dest_translator_failures"),
        )
