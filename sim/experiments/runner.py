"""Running scenarios: one seed, one or more replications, variants; each a ``RunResult``.

Replication r of a run with seed s draws from streams keyed by (s, r), so replication 0 is the
single run with seed s, and adding replications never changes the earlier ones.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..config.limits import Limits, check
from ..config.load import load_scenario
from ..config.scenario import Scenario
from ..model.model import PortModel, ProgressCallback
from ..model.portmap import PortMapSpec
from ..output.results import RunResult
from ..report.replications import Combiner
from ..report.summary import report
from .executor import Executor
from .tasks import Task, run_report

Progress = Callable[[float, int], None]
"""Called with (fraction of the whole job done, connection attempts so far)."""


def resolve(
    scenario: str | Path | Scenario,
    seed: int | None = None,
    replications: int | None = None,
    overrides: Mapping[str, Any] | Iterable[str] = (),
) -> Scenario:
    """A validated Scenario from a path or an object, with overrides, seed and replications applied."""
    if isinstance(scenario, Scenario):
        resolved = scenario.with_changes(overrides if isinstance(overrides, Mapping) else list(overrides))
    elif isinstance(overrides, Mapping):
        resolved = load_scenario(scenario).with_changes(overrides)
    else:
        resolved = load_scenario(scenario, overrides)
    changes: dict[str, Any] = {}
    if seed is not None:
        changes["seed"] = seed
    if replications is not None:
        changes["replications"] = replications
    return resolved.with_changes(source="--seed/--replications", **changes) if changes else resolved


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    replication: int = 0,
    progress: ProgressCallback | None = None,
    port_map: PortMapSpec | None = None,
) -> RunResult:
    """Run one replication of ``scenario`` (recording the port map's frames with ``port_map``)."""
    return RunResult.of(report(PortModel(scenario, seed, replication, port_map=port_map).run(progress)))


def port_map_spec(port_map: bool | PortMapSpec | None, runs: Iterable[Scenario] = ()) -> PortMapSpec | None:
    """The frames to record: None for False, the defaults for True; checked against each of ``runs``."""
    spec = PortMapSpec() if port_map is True else port_map or None
    if spec is not None:
        for scenario in runs:
            spec.check(scenario)
    return spec


def _replicate_all(
    runs: Mapping[str, Scenario],
    progress: Progress | None,
    executor: Executor,
    port_map: PortMapSpec | None = None,
) -> dict[str, RunResult]:
    """Every replication of every scenario in ``runs`` as tasks on ``executor``; each scenario's combined result.

    ``port_map``: record the frames of replication 0 of each.
    """
    count = sum(scenario.replications for scenario in runs.values())
    if executor.scheduler is None and (executor.workers == 1 or count == 1):
        # in this process the bar follows simulated time within each replication
        results: dict[str, RunResult] = {}
        attempts_before = 0
        for i, (name, scenario) in enumerate(runs.items()):
            shifted = None if progress is None else _shifted(progress, attempts_before)
            results[name] = _replicate(scenario, shifted, i / len(runs), 1 / len(runs), port_map)
            attempts_before += int(results[name].summary.attempts * scenario.replications)
        return results
    tasks = [
        Task(scenario, r, port_map if r == 0 else None)
        for scenario in runs.values()
        for r in range(scenario.replications)
    ]
    weights = [t.scenario.duration for t in tasks]
    total = sum(weights)
    state = {"done": 0.0, "attempts": 0}

    def finished(i: int, report: Any) -> None:
        state["done"] += weights[i]
        state["attempts"] += int(report.summary.attempts)
        if progress is not None:
            progress(state["done"] / total, int(state["attempts"]))

    reports = iter(executor.map(run_report, tasks, finished if progress is not None else None))
    combined: dict[str, RunResult] = {}
    for name, scenario in runs.items():
        combiner = Combiner()
        for _ in range(scenario.replications):
            combiner.add(next(reports))
        combined[name] = RunResult.of(combiner.result())
    return combined


def _replicate(
    scenario: Scenario, progress: Progress | None, done: float, share: float, port_map: PortMapSpec | None = None
) -> RunResult:
    n = scenario.replications
    combiner = Combiner()
    attempts_before = 0
    for r in range(n):
        callback = None
        if progress is not None:
            callback = _scaled(progress, done + share * r / n, share / n, scenario.duration, attempts_before)
        result = simulate(scenario, scenario.seed, r, callback, port_map if r == 0 else None)
        combiner.add(result)
        attempts_before += int(result.summary.attempts)
    return RunResult.of(combiner.result())


def run(
    scenario: str | Path | Scenario,
    seed: int | None = None,
    replications: int | None = None,
    overrides: Mapping[str, Any] | Iterable[str] = (),
    progress: Progress | None = None,
    limits: Limits | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    port_map: bool | PortMapSpec | None = False,
) -> RunResult:
    """Run a scenario (a YAML path or a Scenario) and return its result.

    ``overrides`` are ``{"host.time_wait": 30}`` or ``["host.time_wait=30"]``. With several
    replications the summary holds each figure's mean and its 95% confidence interval (``ci95``).
    Replications run on ``workers`` local processes (default: the machine's cores) or a Dask
    ``scheduler``; the result is the same whatever runs them. A job estimated above ``limits``
    (default ``Limits()``) raises ScenarioError. ``port_map=True`` (or a ``PortMapSpec``) records the
    port map's frames for ``result.port_map()``; every run takes the first-failure still.
    """
    resolved = resolve(scenario, seed, replications, overrides)
    if resolved.variants:
        warnings.warn(
            f"{resolved.name} has variants ({', '.join(v.name for v in resolved.variants)}); run() runs the scenario "
            "as written without them: use run_variants() for all, or run(scenario.variant(name)) for one",
            stacklevel=2,
        )
    check({resolved.name: resolved}, limits or Limits(), resolved.name)
    spec = port_map_spec(port_map, [resolved])
    return _replicate_all({resolved.name: resolved}, progress, Executor(workers, scheduler), spec)[resolved.name]


def run_variants(
    scenario: str | Path | Scenario,
    seed: int | None = None,
    replications: int | None = None,
    overrides: Mapping[str, Any] | Iterable[str] = (),
    progress: Progress | None = None,
    limits: Limits | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    port_map: bool | PortMapSpec | None = False,
) -> dict[str, RunResult]:
    """Run every variant of a scenario (``variants:`` in the file); results by variant name.

    A scenario without variants gives one result under its own name. Every replication of every
    variant is a task for ``workers`` local processes or a Dask ``scheduler``, as in ``run``; ``port_map``
    as in ``run``, for each variant.
    """
    resolved = resolve(scenario, seed, replications, overrides)
    variants = resolved.expand(overrides if isinstance(overrides, Mapping) else list(overrides))
    check(variants, limits or Limits(), resolved.name)
    spec = port_map_spec(port_map, variants.values())
    return _replicate_all(variants, progress, Executor(workers, scheduler), spec)


def _shifted(progress: Progress, attempts_before: int) -> Progress:
    def callback(fraction: float, attempts: int) -> None:
        progress(fraction, attempts_before + attempts)

    return callback


def _scaled(progress: Progress, start: float, share: float, duration: float, attempts_before: int) -> ProgressCallback:
    """Turn one replication's (simulated time, attempts) into the whole job's (fraction, attempts)."""

    def callback(sim_time: float, attempts: int) -> None:
        progress(start + share * sim_time / duration, attempts_before + attempts)

    return callback
