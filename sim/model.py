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

import math
import time
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np
import simpy

from .lifecycle import Lifecycle
from .policies import Policy, PortSpace, make_policy
from .pool import PortPool
from .results import SERIES_COLUMNS, RunResult
from .scenario import Scenario, Workload
from .stats import Recorder
from .theory import predict
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
        self.pool = PortPool(
            host.size,
            host.source_addresses,
            len(destinations),
            sharing=host.sharing == "per_destination",
            reserved=host.reserved_offsets,
        )
        assert host.policy is not None
        assert host.time_wait is not None
        self.policy: Policy = make_policy(host.policy, self.space, self._rng("policy"))
        self.recorder = Recorder(len(scenario.workloads), len(destinations), lambda: self.pool.ports_in_use)
        self.lifecycle = Lifecycle(
            self.pool,
            self.recorder,
            host.time_wait,
            [w.close for w in scenario.workloads],
            [w.bind for w in scenario.workloads],
        )
        self.drivers = [self._driver(i, w, index) for i, w in enumerate(scenario.workloads)]
        for driver in self.drivers:
            self.env.process(self._arrivals(driver))
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
            destinations=dests,
            times=w.arrivals.times(self._rng(f"workload:{w.name}:arrivals"), w.start),
            durations=w.duration.stream(self._rng(f"workload:{w.name}:duration")),
            pick_destination=(
                _choices(self._rng(f"workload:{w.name}:destination"), dests, [d.weight for d in w.destinations])
                if len(dests) > 1
                else None
            ),
            pick_source=(_uniform_ints(self._rng(f"workload:{w.name}:source"), n_sources) if n_sources > 1 else None),
        )

    # ----------------------------------------------------------------- processes

    def _arrivals(self, driver: _Driver) -> Generator[simpy.events.Event, object, None]:
        env = self.env
        stop = min(driver.spec.stop or math.inf, self.scenario.duration)
        for t in driver.times:
            if t >= stop:
                return
            yield env.timeout(t - env.now)
            self.attempt(driver, t)

    def attempt(self, driver: _Driver, now: float) -> int:
        """One connect() (or bind() then connect()) at ``now``; returns the port, or -1 on failure."""
        self.lifecycle.advance(now)
        recorder = self.recorder
        recorder.tick(now)
        pool = self.pool
        src = next(driver.pick_source) if driver.pick_source is not None else 0
        dst = next(driver.pick_destination) if driver.pick_destination is not None else driver.destinations[0]
        w = driver.index
        bound = driver.spec.bind
        if bound:
            offset, probes = self.policy.bind(pool.local[src], src)
        else:
            offset, probes = self.policy.connect(pool.view(src, dst), src, dst)
        recorder.attempt(w, dst, probes)
        if offset < 0:
            recorder.fail(w, dst, now)
            return -1
        recorder.open(w, dst, pool.take(src, dst, offset, bound, now))
        self.lifecycle.open(now + next(driver.durations), (src, dst, offset, w))
        return self.space.low + offset

    def _sampler(self) -> Generator[simpy.events.Event, object, None]:
        step = self.scenario.step
        duration = self.scenario.duration
        self.recorder.sample(0.0)
        k = 1
        while k * step < duration * (1 - 1e-12):
            t = k * step
            yield self.env.timeout(t - self.env.now)
            self.lifecycle.advance(t)
            self.recorder.sample(t)
            k += 1

    def _warmup(self) -> Generator[simpy.events.Event, object, None]:
        yield self.env.timeout(self.scenario.warmup)
        self.lifecycle.advance(self.scenario.warmup)
        self.recorder.start_window(self.scenario.warmup)

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
        self.recorder.sample(duration)
        wall = time.perf_counter() - started
        summary = self.summary(wall)
        series = {c: np.asarray(self.recorder.series[c]) for c in SERIES_COLUMNS}
        series["time_s"] = series["time_s"].astype(float)
        self.recorder.probes.flush()
        self.recorder.reuse.flush()
        return RunResult(
            scenario=self.scenario.with_changes(seed=self.seed, replications=1, portsim_version=version()),
            summary=summary,
            series=series,
            probe_counts=self.recorder.probes.counts.copy(),
            reuse_counts=self.recorder.reuse.counts.copy(),
            reuse_edges=self.recorder.reuse.edges.copy(),
        )

    def summary(self, wall_time: float) -> dict[str, Any]:
        """The figures of summary.json for this replication (see the README)."""
        scenario = self.scenario
        host = scenario.host
        rec = self.recorder
        end = scenario.duration
        mean_est, mean_tw, mean_ports = rec.time_means(end)
        attempts = rec.counted("attempts")
        established = rec.counted("established")
        failures = rec.counted("failures")
        d_attempts = rec.counted("dest_attempts")
        d_established = rec.counted("dest_established")
        d_failures = rec.counted("dest_failures")
        prediction = predict(scenario)
        failed_at = [t for t in rec.first_failure if t is not None]

        workloads = {}
        errors = {ERRNO_CONNECT: 0, ERRNO_BIND: 0}
        for i, w in enumerate(scenario.workloads):
            errno = ERRNO_BIND if w.bind else ERRNO_CONNECT
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
                "peak_connections": rec.dest_peak_held[j],
                "peak_time_wait": rec.dest_peak_time_wait[j],
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
            "connections_established": {"peak": rec.peak_established, "mean": mean_est},
            "time_wait": {"peak": rec.peak_time_wait, "mean": mean_tw},
            "ports_in_use": {"peak": rec.peak_ports, "mean": mean_ports},
            "probes": {
                "mean": rec.probes.mean(),
                "p99": rec.probes.quantile(0.99),
                "max": rec.probes.max(),
            },
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
                "total_ports": host.usable_ports * host.source_addresses,
                "policy": host.policy,
                "sharing": host.sharing,
                "time_wait_s": host.time_wait,
            },
            "erlang_b": prediction.to_dict(),
            "workloads": workloads,
            "destinations": destinations,
        }


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    replication: int = 0,
    progress: ProgressCallback | None = None,
) -> RunResult:
    """Run one replication of ``scenario``."""
    return PortModel(scenario, seed, replication).run(progress)
