"""Remedies: the scenario as it is and with each standard fix on its own, ranked by the capacity each gives."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..config.errors import ScenarioError
from ..config.limits import Limits
from ..config.scenario import Scenario
from ..report.remedies import Blocking, RemediesReport, Remedy
from ..stats.intervals import mean_ci
from ..version import version
from .batch import summaries
from .cache import TaskCache
from .capacity import SearchProgress, base_rate, choose_workloads, find_capacity, rate_unit
from .executor import Executor
from .fixes import FIXES, NotApplicableError
from .runner import resolve
from .tasks import Task

AS_IS = "as-is"
CEILING = 16.0
"""Capacity searches stop at this many times the scenario's own load: a fix past it is reported as "at least"."""

RemedyProgress = Callable[[str, int, float | None], None]
"""Called with (fix name, simulation runs of its search so far, current estimate of its capacity)."""


def remedies(
    scenario: str | Path | Scenario,
    target: float = 0.01,
    fixes: Iterable[str] | None = None,
    workloads: Iterable[str] | None = None,
    destination: str | None = None,
    replications: int | None = None,
    seed: int | None = None,
    overrides: Mapping[str, Any] | Iterable[str] = (),
    workers: int | None = None,
    scheduler: str | None = None,
    cache: str | Path | TaskCache | None = None,
    progress: RemedyProgress | None = None,
    limits: Limits | None = None,
    executor: Executor | None = None,
    hints: tuple[str, str, str] | None = None,
) -> RemediesReport:
    """Run the scenario as it is and with each fix (all registered ones by default), each on its own.

    Each gets a capacity search at ``target`` blocking and its blocking at the scenario's own load;
    fixes that do not apply are listed with the reason.
    """
    base = resolve(scenario, seed, None, overrides)
    if base.variants:
        raise ScenarioError(f"{base.name} has variants: find remedies for one of them (scenario.variant(name))")
    names = list(dict.fromkeys(fixes)) if fixes is not None else list(FIXES)
    for name in names:
        if name not in FIXES:
            raise ScenarioError(f"fix {name!r}: unknown (fixes: {', '.join(FIXES)})")
    chosen = choose_workloads(base, workloads)
    executor = executor or Executor(workers, scheduler)
    task_cache = TaskCache.of(cache)
    candidates: list[tuple[str, str, str, dict[str, Any], str]] = [(AS_IS, "the scenario as it is", "", {}, "")]
    for name in names:
        fix = FIXES[name]()
        try:
            changes = fix.changes(base)
            candidates.append((name, fix.describe(base), fix.source, changes, ""))
        except NotApplicableError as exc:
            candidates.append((name, fix.describe(base), fix.source, {}, str(exc) or "does not apply"))
    results: list[Remedy] = []
    baseline: float | None = None
    for name, description, source, changes, reason in candidates:
        if reason:
            results.append(Remedy(name=name, description=description, applies=False, reason=reason, source=source))
            continue
        fixed = base.with_changes(changes, source=f"fix {name}") if changes else base
        searched = _named(progress, name) if progress is not None else None
        capacity = find_capacity(
            fixed,
            target=target,
            workloads=[base.workloads[i].name for i in chosen],
            destination=destination,
            replications=replications,
            executor=executor,
            cache=task_cache,
            progress=searched,
            limits=limits,
            hints=hints,
            max_rate=CEILING * base_rate(base, chosen),
        )
        at_load = _blocking_at_load(fixed, capacity.replications, destination, executor, task_cache)
        if name == AS_IS:
            baseline = capacity.rate
        found = capacity.rate if capacity.rate is not None else capacity.at_least
        gain = found / baseline if found is not None and baseline else None
        results.append(
            Remedy(
                name=name,
                description=description,
                applies=True,
                changes=changes,
                capacity=capacity,
                blocking_at_load=at_load,
                gain=gain,
                source=source,
            )
        )
    return RemediesReport(
        scenario=base.name,
        seed=base.seed,
        version=version(),
        target=target,
        destination=destination,
        workloads=[base.workloads[i].name for i in chosen],
        load=base_rate(base, chosen),
        unit=rate_unit(base, chosen),
        remedies=rank(results),
    )


def _named(progress: RemedyProgress, name: str) -> SearchProgress:
    def searched(runs: int, rate: float | None) -> None:
        progress(name, runs, rate)

    return searched


def rank(results: list[Remedy]) -> list[Remedy]:
    """``as-is`` first; then the fixes that apply, largest capacity first; then those that do not apply."""
    as_is = [r for r in results if r.name == AS_IS]
    applied = [r for r in results if r.name != AS_IS and r.applies]
    applied.sort(key=lambda r: -best(r))
    return as_is + applied + [r for r in results if not r.applies]


def best(remedy: Remedy) -> float:
    """The capacity a fix gives: the rate found, else the rate it was known to sustain (-1 if neither)."""
    capacity = remedy.capacity
    if capacity is None:
        return -1.0
    if capacity.rate is not None:
        return float(capacity.rate)
    return float(capacity.at_least) if capacity.at_least is not None else -1.0


def _blocking_at_load(
    scenario: Scenario, replications: int, destination: str | None, executor: Executor, cache: TaskCache | None
) -> Blocking:
    """Blocking at the scenario's own load, over the same replications the capacity search used."""
    found = summaries([Task(scenario, r) for r in range(replications)], executor, cache)
    values = []
    for summary in found:
        figures = summary.destinations[destination] if destination else summary
        if figures.blocking_probability is not None:
            values.append(float(figures.blocking_probability))
    if not values:
        return Blocking(mean=None, ci95=None, replications=replications)
    mean, low, high = mean_ci(values)
    interval = (low, high) if len(values) > 1 else None
    return Blocking(mean=mean, ci95=interval, replications=replications)
