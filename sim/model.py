"""The SimPy model: one run of a scenario with one seed.

Workloads are SimPy processes that attempt connections at their arrival times. Each attempt first
brings the lifecycle calendar up to date (closes and TIME_WAIT expiries due by then), asks the
allocation policy for a port, and either records a failure (EADDRNOTAVAIL for connect(),
EADDRINUSE for bind()) or holds the 4-tuple until the connection's drawn end. A sampler process
writes the fixed-step time series.

Random numbers: one seed per run; every component (each workload's arrivals, durations,
destination and source choice; the policy) draws from its own numpy Generator, derived from
(seed, replication, component name) with SeedSequence, so the same seed gives the same run.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np
import simpy

from .lifecycle import Lifecycle, Timers
from .policies import Policy, PortSpace, make_policy
from .pool import PortPool
from .results import RunResult
from .scenario import Scenario, Workload
from .stats import FLUSH, IntHistogram, Recorder
from .theory import capacity, predict, tw_reusable
from .workload import BATCH

ProgressCallback = Callable[[float, int], None]
"""Called now and then with the simulated time reached (seconds) and the attempts made so far."""

ERRNO_CONNECT = "EADDRNOTAVAIL"
ERRNO_BIND = "EADDRINUSE"


def version() -> str:
    """The installed portsim version."""
    try:
        return metadata.version("portsim")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def component_rng(seed: int, replication: int, name: str) -> np.random.Generator:
    """The independent random stream of one model component."""
    key = (replication, zlib.crc32(name.encode()))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _choices(rng: np.random.Generator, values: list[int], weights: list[float]) -> Iterator[int]:
    p = np.asarray(weights) / sum(weights)
    while True:
        yield from rng.choice(values, size=BATCH, p=p).tolist()


def _uniform_ints(rng: np.random.Generator, n: int) -> Iterator[int]:
    while True:
        yield from rng.integers(0, n, BATCH).tolist()


def timers(scenario: Scenario) -> Timers:
    """The host's timers and reuse rules."""
    host = scenario.host
    assert host.time_wait is not None
    assert host.fin_timeout is not None
    assert host.tw_reuse_delay is not None
    return Timers(
        time_wait=host.time_wait,
        fin_timeout=host.fin_timeout,
        granularity=host.time_wait_granularity or 0.0,
        max_tw_buckets=None if host.max_tw_buckets == "unlimited" else host.max_tw_buckets,
        reuse_delay=host.tw_reuse_delay,
    )


@dataclass
class _Driver:
    """Run-time state of one workload."""

    index: int
    spec: Workload
    destinations: list[int]
    times: Iterator[float]
    durations: Iterator[float]
    pick_destination: Iterator[int] | None
    pick_source: Iterator[int] | None
    bound: bool = False


class PortModel:
    """A scenario wired into SimPy for one (seed, replication)."""

    def __init__(self, scenario: Scenario, seed: int | None = None, replication: int = 0) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.replication = replication
        host = scenario.host
        destinations = scenario.destinations
        index = {d.endpoint: i for i, d in enumerate(destinations)}
        self.env = simpy.Environment()
        self.space = PortSpace(host.low, host.high, host.source_addresses, tuple(index))
        assert host.policy is not None
        self.policy: Policy = make_policy(host.policy, self.space, self._rng("policy"))
        self.pool = PortPool(
            host.size,
            host.source_addresses,
            len(destinations),
            sharing=host.sharing == "per_destination",
            reserved=host.reserved_offsets,
            layout=self.policy.layout,
        )
        self.recorder = Recorder(len(scenario.workloads), len(destinations), host.source_addresses, host.size)
        self.lifecycle = Lifecycle(
            self.pool,
            timers(scenario),
            [w.close for w in scenario.workloads],
            [w.bind is True for w in scenario.workloads],
            [[tw_reusable(scenario, w, d) for d in destinations] for w in scenario.workloads],
        )
        self._next_id = 0
        self.drivers = [self._driver(i, w, index) for i, w in enumerate(scenario.workloads)]
        self.env.process(self._traffic())
        self.env.process(self._sampler())
        if scenario.warmup > 0:
            self.env.process(self._warmup())

    def _rng(self, name: str) -> np.random.Generator:
        return component_rng(self.seed, self.replication, name)

    def _driver(self, i: int, w: Workload, index: dict[tuple[str, int], int]) -> _Driver:
        dests = [index[d.endpoint] for d in w.destinations]
        n_sources = self.scenario.host.source_addresses
        return _Driver(
            index=i,
            spec=w,
            bound=w.bind is True,
            destinations=dests,
            times=w.arrivals.times(self._rng(f"workload:{w.name}:arrivals"), w.start),
            durations=w.duration.stream(self._rng(f"workload:{w.name}:duration")),
            pick_destination=(
                _choices(self._rng(f"workload:{w.name}:destination"), dests, [d.weight for d in w.destinations])
                if len(dests) > 1
                else None
            ),
            pick_source=(
                _uniform_ints(self._rng(f"workload:{w.name}:source"), n_sources)
                if n_sources > 1 and w.bind is not False
                else None
            ),
        )

    # ----------------------------------------------------------------- processes

    def _traffic(self) -> Generator[simpy.events.Event, object, None]:
        """Every workload's connection attempts, in time order (ties: the first workload first).

        The process wakes at the next attempt, then makes every attempt due before the next other
        SimPy event (a sample, the end of warm-up, the end of the run) in one go, without a SimPy event
        each. Events stay in time order; an attempt at exactly the time of another event comes after it.
        """
        env = self.env
        duration = self.scenario.duration
        upcoming: list[tuple[float, int, Iterator[float]]] = []
        for i, driver in enumerate(self.drivers):
            stop = min(driver.spec.stop or math.inf, duration)
            times: Iterator[float] = itertools.takewhile(stop.__gt__, driver.times)
            first = next(times, None)
            if first is not None:
                upcoming.append((first, i, times))
        heapq.heapify(upcoming)
        drivers = self.drivers
        attempt = self.attempt
        flush = self.recorder.flush
        count = 0
        if len(upcoming) == 1:  # one workload: no merging needed
            t, i, times = upcoming[0]
            driver = drivers[i]
            while True:
                yield env.timeout(t - env.now)
                horizon = env.peek()
                while t < horizon:
                    attempt(driver, t)
                    count += 1
                    if not count & 0xFFFF:
                        flush(FLUSH)
                    following = next(times, None)
                    if following is None:
                        return
                    t = following
        while upcoming:
            yield env.timeout(upcoming[0][0] - env.now)
            horizon = env.peek()
            while upcoming and upcoming[0][0] < horizon:
                t, i, times = upcoming[0]
                attempt(drivers[i], t)
                count += 1
                if not count & 0xFFFF:  # keep histogram buffers small, however rare the samples
                    flush(FLUSH)
                following = next(times, None)
                if following is None:
                    heapq.heappop(upcoming)
                else:
                    heapq.heapreplace(upcoming, (following, i, times))

    def attempt(self, driver: _Driver, now: float) -> int:
        """One connect() (or bind() then connect()) at ``now``; returns the port, or -1 on failure."""
        self.lifecycle.advance(now)
        recorder = self.recorder
        pool = self.pool
        src = next(driver.pick_source) if driver.pick_source is not None else 0
        dst = next(driver.pick_destination) if driver.pick_destination is not None else driver.destinations[0]
        w = driver.index
        bound = driver.bound
        if bound:
            occupancy = pool.local_occupancy(src)
            slot, probes = self.policy.bind(pool.local[src], src, now, driver.spec.reuseaddr)
        else:
            view, occupancy = pool.request(src, dst)
            slot, probes = self.policy.connect(view, src, dst, now)
        if slot < 0:
            recorder.failed(w, dst, probes, occupancy, now)
            return -1
        interval, recycled = pool.take(src, dst, slot, bound, now)
        if recycled >= 0:
            self.lifecycle.recycled(recycled, dst, now)
        offset = pool.offsets[slot]
        recorder.connected(w, dst, probes, occupancy, interval, src, offset, pool.ports_in_use)
        self._next_id += 1
        self.lifecycle.open(now + next(driver.durations), (src, dst, slot, w, self._next_id, now))
        return self.space.low + offset

    def _sampler(self) -> Generator[simpy.events.Event, object, None]:
        step = self.scenario.step
        duration = self.scenario.duration
        self._sample(0.0)
        k = 1
        while k * step < duration * (1 - 1e-12):
            t = round(k * step, 9)
            yield self.env.timeout(t - self.env.now)
            self.lifecycle.advance(t)
            self._sample(t)
            k += 1

    def _sample(self, t: float) -> None:
        lc = self.lifecycle
        self.recorder.sample(t, lc.established, lc.time_wait, lc.fin_wait2, self.pool.ports_in_use)

    def _warmup(self) -> Generator[simpy.events.Event, object, None]:
        warmup = self.scenario.warmup
        yield self.env.timeout(warmup)
        self.lifecycle.advance(warmup)
        self.lifecycle.start_window(warmup)
        self.recorder.start_window(warmup, self.pool.ports_in_use)
        self.pool.start_window(warmup)

    # ----------------------------------------------------------------- running

    def run(self, progress: ProgressCallback | None = None, chunks: int = 200) -> RunResult:
        """Simulate the whole duration and return the result of this replication."""
        started = time.perf_counter()
        duration = self.scenario.duration
        if progress is None:
            self.env.run(until=duration)
        else:
            for k in range(1, chunks + 1):
                self.env.run(until=duration * k / chunks)
                progress(self.env.now, sum(self.recorder.attempts))
        self.lifecycle.advance(duration)
        self._sample(duration)
        self.recorder.flush()
        wall = time.perf_counter() - started
        summary = self.summary(wall)
        series = {c: np.asarray(self.recorder.series[c]) for c in Recorder.SERIES}
        series["time_s"] = series["time_s"].astype(float)
        return RunResult(
            scenario=self.scenario.with_changes(seed=self.seed, replications=1, portsim_version=version()),
            summary=summary,
            series=series,
            probe_counts=self.recorder.probes.counts.copy(),
            reuse_counts=self.recorder.reuse.counts.copy(),
            reuse_edges=self.recorder.reuse.edges.copy(),
            occupancy_attempts=self.recorder.occupancy_attempts.copy(),
            occupancy_probes=self.recorder.occupancy_probes.copy(),
        )

    @property
    def addresses_used(self) -> int:
        """Source addresses any workload can use: all when one binds, else only the first (plain connect())."""
        return self.scenario.host.source_addresses if any(w.bind for w in self.scenario.workloads) else 1

    def summary(self, wall_time: float) -> dict[str, Any]:
        """The figures of summary.json for this replication (see the README)."""
        scenario = self.scenario
        host = scenario.host
        rec = self.recorder
        end = scenario.duration
        lc = self.lifecycle
        means = lc.time_means(end)
        attempts = rec.counted("attempts")
        established = rec.counted("established")
        failures = rec.counted("failures")
        d_attempts = rec.counted("dest_attempts")
        d_established = rec.counted("dest_established")
        d_failures = rec.counted("dest_failures")
        d_recycled = lc.dest_recycled
        d_overflow = lc.dest_overflow
        prediction = predict(scenario)
        failed_at = [t for t in rec.first_failure if t is not None]

        workloads = {}
        errors = {ERRNO_CONNECT: 0, ERRNO_BIND: 0}
        for i, w in enumerate(scenario.workloads):
            errno = ERRNO_BIND if w.bind is True else ERRNO_CONNECT
            errors[errno] += failures[i]
            workloads[w.name] = {
                "attempts": attempts[i],
                "established": established[i],
                "failures": failures[i],
                "blocking_probability": _ratio(failures[i], attempts[i]),
                "first_failure_time_s": rec.first_failure[i],
                "errno": errno,
                "offered_rate": w.arrivals.mean_rate,
            }
        destinations = {}
        for j, d in enumerate(scenario.destinations):
            entry: dict[str, Any] = {
                "attempts": d_attempts[j],
                "established": d_established[j],
                "failures": d_failures[j],
                "blocking_probability": _ratio(d_failures[j], d_attempts[j]),
                "peak_connections": lc.dest_peak_held[j],
                "peak_time_wait": lc.dest_peak_time_wait[j],
                "time_wait_recycled": d_recycled[j],
                "reuse_distance": _distance_summary(rec.reuse_distance[j]),
                "next_port_guess": _guess_summary(rec.increments[j], host.size),
            }
            theory = prediction.per_destination.get(d.label)
            if theory is not None:
                entry["erlang_b"] = theory
            destinations[d.label] = entry

        total_attempts = sum(attempts)
        total_failures = sum(failures)
        return {
            "scenario": scenario.name,
            "seed": self.seed,
            "replication": self.replication,
            "version": version(),
            "sim_time_s": end,
            "measured_from_s": rec.window_start,
            "wall_time_s": wall_time,
            "attempts": total_attempts,
            "established": sum(established),
            "failures": total_failures,
            "blocking_probability": _ratio(total_failures, total_attempts),
            "first_failure_time_s": min(failed_at) if failed_at else None,
            "errors": errors,
            "connections_established": {"peak": lc.peak_established, "mean": means["established"]},
            "time_wait": {
                "peak": lc.peak_time_wait,
                "mean": means["time_wait"],
                "recycled": sum(d_recycled),
                "overflow": sum(d_overflow),
            },
            "fin_wait2": {"peak": lc.peak_fin_wait2, "mean": means["fin_wait2"]},
            "ports_in_use": {"peak": rec.peak_ports, "mean": means["ports_in_use"]},
            "probes": {
                "mean": rec.probes.mean(),
                "p99": rec.probes.quantile(0.99),
                "max": rec.probes.max(),
            },
            "connect_latency_us": _latency_summary(rec, host.connect_base_us or 0.0, host.probe_cost_ns or 0.0),
            "reuse_interval_s": {
                "count": rec.reuse.n,
                "min": rec.reuse.min(),
                "p01": rec.reuse.quantile(0.01),
                "median": rec.reuse.quantile(0.5),
                "mean": rec.reuse.mean(),
            },
            "pool": {
                "port_range": [host.low, host.high],
                "ports_per_source": host.usable_ports,
                "reserved": len(host.reserved_offsets),
                "source_addresses": host.source_addresses,
                "source_addresses_used": self.addresses_used,
                "total_ports": host.usable_ports * self.addresses_used,
                "policy": host.policy,
                "sharing": host.sharing,
                "time_wait_s": host.time_wait,
                "tw_reuse": host.tw_reuse,
                "max_tw_buckets": host.max_tw_buckets,
            },
            "erlang_b": prediction.to_dict(),
            "capacity_at_1pct_blocking": capacity(scenario, 0.01),
            "workloads": workloads,
            "destinations": destinations,
        }


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def latency_us(probes: float, base_us: float, probe_cost_ns: float) -> float:
    """Estimated connect() latency: a fixed cost plus a cost per port examined (kernel.md fact 22)."""
    return base_us + probes * probe_cost_ns / 1000.0


def _latency_summary(rec: Recorder, base_us: float, probe_cost_ns: float) -> dict[str, float | None]:
    stats = {"mean": rec.probes.mean(), "p99": rec.probes.quantile(0.99), "max": rec.probes.max()}
    return {k: None if v is None else latency_us(v, base_us, probe_cost_ns) for k, v in stats.items()}


def _distance_summary(histogram: IntHistogram) -> dict[str, float | int | None]:
    values = np.flatnonzero(histogram.counts) if histogram.n else np.array([], dtype=np.int64)
    return {
        "count": histogram.n,
        "min": int(values[0]) if values.size else None,
        "median": histogram.quantile(0.5),
        "mean": histogram.mean(),
    }


def _guess_summary(increments: np.ndarray | None, size: int) -> dict[str, float | int | None]:
    """Success rate of an observer guessing the next port as the previous one plus the commonest increment.

    The increment is signed: a step of size - 1 around the range is reported as -1.
    """
    counts = increments if increments is not None else np.zeros(1, np.int64)
    total = int(counts.sum())
    if not total:
        return {"increment": None, "success_rate": None, "observed": 0}
    step = int(np.argmax(counts))  # the smallest of the commonest increments
    signed = step - size if step > size // 2 else step
    return {"increment": signed, "success_rate": int(counts[step]) / total, "observed": total}


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    replication: int = 0,
    progress: ProgressCallback | None = None,
) -> RunResult:
    """Run one replication of ``scenario``."""
    return PortModel(scenario, seed, replication).run(progress)
