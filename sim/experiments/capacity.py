"""The capacity finder: the largest scaling of some workloads' rates at which blocking stays at a target.

Blocking rises with load; the search finds where it crosses the target, by simulation, so it holds
where Erlang B does not (coupled pools, several source addresses, tw_reuse, max_tw_buckets, on/off and
constant arrivals). It starts from the inverse Erlang B load where that applies (else from the
scenario's own load, doubling or halving), then narrows in by the secant of logit(blocking) against
log(rate) between the nearest evaluated loads on either side of the target. Every load runs the same
replications (same seed and replication index): common random numbers, so the curve it fits is smooth.

The 95% interval of the rate comes from the replications: each replication's own curve crosses the
target at its own rate, and their spread (Student t) gives the interval. The search stops when that
interval is within ``tolerance`` of the rate (adding replications where only noise is left), or after
``max_evaluations`` loads.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config.errors import ScenarioError, echo
from ..config.limits import Limits, check
from ..config.scenario import Scenario
from ..core.spec import MAX_RATE
from ..report.capacity import CapacityEvaluation, CapacityReport, CapacityRun, rate_text
from ..report.nat import translator_blocking
from ..report.records import Summary
from ..report.theory import hold_time, predict
from ..stats.intervals import mean_ci
from ..version import version
from .batch import summaries
from .cache import TaskCache
from .executor import Executor
from .runner import resolve
from .tasks import Task

TOLERANCE = 0.02
"""Stop when the 95% interval of the rate is within this fraction of it."""
MAX_EVALUATIONS = 24
"""Loads evaluated at most."""
MAX_REPLICATIONS = 64
"""Replications per load at most (the search doubles them where only noise is left)."""
MIN_REPLICATIONS = 3
"""Replications per load at the start (the scenario's own count, if larger)."""
LOCAL = 0.1
"""Bracket (as a log ratio of its loads) within which the secant is trusted to give the answer."""
MIN_SCALE = 1e-6
MAX_RUNS = 400
"""Simulation runs a search may make (the cache's runs included) before it gives up and says so."""
WARMUP_CYCLES = 5.0
WINDOW_CYCLES = 20.0

SearchProgress = Callable[[int, float | None], None]
"""Called after each evaluated load with (simulation runs so far, current estimate of the rate or None)."""


@dataclass
class _Load:
    scale: float
    duration: float = 0.0
    runs: list[tuple[int, float, float]] = field(default_factory=list)  # (replication, attempts, failures)

    def blocking(self) -> list[float]:
        return [f / a if a > 0 else math.nan for _, a, f in self.runs]

    def mean(self) -> float:
        values = [b for b in self.blocking() if math.isfinite(b)]
        return sum(values) / len(values) if values else math.nan


def _surely(runs: Sequence[tuple[int, float, float]], target: float) -> int:
    """-1 when the pooled blocking of ``runs`` is below ``target`` with 95% confidence (Clopper-Pearson), +1 when
    above, 0 otherwise (or without attempts)."""
    attempts = sum(a for _, a, _ in runs)
    failures = sum(f for _, _, f in runs)
    if attempts <= 0:
        return 0
    from scipy import stats

    upper = 1.0 if failures >= attempts else float(stats.beta.ppf(0.975, failures + 1, attempts - failures))
    lower = 0.0 if failures <= 0 else float(stats.beta.ppf(0.025, failures, attempts - failures + 1))
    return -1 if upper < target else 1 if lower > target else 0


def _logit_and_weight(runs: Sequence[tuple[int, float, float]]) -> tuple[float, float] | None:
    """logit of the blocking of ``runs`` pooled (half a count away from 0 and 1) and its binomial information."""
    attempts = sum(a for _, a, _ in runs)
    if attempts <= 0:
        return None
    p = (sum(f for _, _, f in runs) + 0.5) / (attempts + 1.0)
    return math.log(p / (1 - p)), attempts * p * (1 - p)


def scaled(scenario: Scenario, factor: float, workloads: Sequence[int], shorten: bool = False) -> Scenario:
    """The scenario with the chosen workloads' rates multiplied by ``factor``.

    ``shorten``: above the scenario's own load, simulate proportionally less time, so that a run makes
    about as many attempts as at scale 1; never less than WARMUP_CYCLES slowest cycles of warm-up and
    WINDOW_CYCLES measured (a cycle: a connection's hold with its TIME_WAIT, or an on/off period). Not
    for workloads with start or stop times.
    """
    changes: dict[str, Any] = {}
    for i in workloads:
        for key, value in scenario.workloads[i].offered.scaled(factor).items():
            changes[f"workloads.{i}.{scenario.workloads[i].arrivals_key}.{key}"] = value
    fields: dict[str, Any] = {}
    if shorten and factor > 1 and all(w.start == 0 and w.stop is None for w in scenario.workloads):
        cycle = slowest_cycle(scenario)
        window = max((scenario.duration - scenario.warmup) / factor, WINDOW_CYCLES * cycle)
        warmup = max(scenario.warmup / factor, min(scenario.warmup, WARMUP_CYCLES * cycle))
        if warmup + window < scenario.duration:
            fields = {"duration": warmup + window, "warmup": warmup, "sample_interval": None}
    return scenario.with_changes(changes, source=f"capacity scale {factor:.6g}", **fields)


def slowest_cycle(scenario: Scenario) -> float:
    """The longest time scale of the scenario: a connection's mean hold of its port, or an on/off cycle."""
    cycles = [hold_time(scenario, i) for i in range(len(scenario.workloads))]
    for w in scenario.workloads:
        cycles.append(getattr(w.offered, "mean_on", 0.0) + getattr(w.offered, "mean_off", 0.0))
    return max(cycles)


def rate_unit(scenario: Scenario, workloads: Sequence[int]) -> str:
    """What the chosen workloads' rates count: requests, connections, or both (``arrivals/s``)."""
    kinds = {scenario.workloads[i].requests is not None for i in workloads}
    return "arrivals/s" if len(kinds) > 1 else "req/s" if kinds == {True} else "conn/s"


def base_rate(scenario: Scenario, workloads: Sequence[int]) -> float:
    """Mean arrivals per second (connections, or requests) of the chosen workloads: per host in a fleet of one
    group, over every host with several groups (whose hosts differ, so that no one host's rate is the load)."""
    if len(scenario.fleet) > 1:
        w = scenario.workloads
        return sum(w[i].offered.mean_rate * scenario.hosts_running(w[i]) for i in workloads)
    return sum(scenario.workloads[i].offered.mean_rate for i in workloads)


def erlang_scale(
    scenario: Scenario, target: float, workloads: Sequence[int], destination: str | None
) -> tuple[float | None, str]:
    """The scale at which Erlang B gives the target blocking, where it applies; else None, and why."""
    prediction = predict(scenario)
    if destination is not None:
        applicable = prediction.destination_applicable.get(destination, False)
    else:
        applicable = prediction.applicable
    if not applicable:
        return None, prediction.note
    translator, why = translator_blocking(scenario)
    if translator is None:
        return None, why
    from scipy.optimize import brentq

    def gap(log_scale: float) -> float:
        s = scaled(scenario, math.exp(log_scale), workloads)
        p = predict(s)
        value = p.per_destination[destination]["blocking_probability"] if destination else p.blocking_probability
        dropped = translator_blocking(s)[0] or 0.0  # an attempt passes its host, then the translator
        return 1.0 - (1.0 - float(value)) * (1.0 - dropped) - target

    low, high = math.log(1e-4), math.log(1e4)
    high = min(high, math.log(MAX_RATE / max(base_rate(scenario, workloads), 1e-300)) - 1e-9)
    try:
        if gap(low) > 0 or gap(high) < 0:
            return None, "Erlang B does not reach the target within 1e-4 to 1e4 times the scenario's load"
        return math.exp(brentq(gap, low, high, xtol=1e-7)), prediction.note
    except ScenarioError:
        return None, "Erlang B could not be evaluated at the loads it needed"


def _blocking_counts(summary: Summary, destination: str | None) -> tuple[float, float]:
    if destination is None:
        return float(summary.attempts), float(summary.failures)
    figures = summary.destinations[destination]
    return float(figures.attempts), float(figures.failures)


class _Search:
    def __init__(
        self,
        scenario: Scenario,
        target: float,
        workloads: list[int],
        destination: str | None,
        replications: int,
        tolerance: float,
        executor: Executor,
        cache: TaskCache | None,
        limits: Limits,
        progress: SearchProgress | None,
        hints: tuple[str, str, str] | None,
    ) -> None:
        self.scenario = scenario
        self.target = target
        self.workloads = workloads
        self.destination = destination
        self.replications = replications
        self.tolerance = tolerance
        self.executor = executor
        self.cache = cache
        self.limits = limits
        self.progress = progress
        self.hints = hints
        self.loads: dict[float, _Load] = {}
        self.runs = 0
        self.base = base_rate(scenario, workloads)
        self.unit = rate_unit(scenario, workloads)

    def evaluate(self, scale: float, replications: Iterable[int]) -> _Load:
        load = self.loads.setdefault(scale, _Load(scale))
        wanted = [r for r in replications if r not in {run[0] for run in load.runs}]
        if not wanted:
            return load
        scenario = scaled(self.scenario, scale, self.workloads, shorten=True)
        load.duration = scenario.duration
        cost = {"capacity": scenario.with_changes(replications=len(wanted))}
        if self.hints is None:
            check(cost, self.limits, self.scenario.name)
        else:
            check(cost, self.limits, self.scenario.name, self.hints)
        results = summaries([Task(scenario, r) for r in wanted], self.executor, self.cache)
        for r, summary in zip(wanted, results, strict=True):
            attempts, failures = _blocking_counts(summary, self.destination)
            load.runs.append((r, attempts, failures))
        load.runs.sort()
        self.runs += len(wanted)
        return load

    def contradicted(self, scale: float) -> bool:
        """Whether an evaluated load contradicts ``scale`` as the answer: one above it whose blocking is surely
        (95%, pooled replications) below the target, or one below it whose blocking is surely above."""
        for load in self.loads.values():
            side = _surely(load.runs, self.target)
            if (side < 0 and load.scale > scale) or (side > 0 and load.scale < scale):
                return True
        return False

    def sides(self) -> tuple[_Load | None, _Load | None]:
        """The highest load at or below the target and the lowest above it."""
        below = [x for x in self.loads.values() if x.mean() <= self.target]
        above = [x for x in self.loads.values() if x.mean() > self.target]
        return (
            max(below, key=lambda x: x.scale) if below else None,
            min(above, key=lambda x: x.scale) if above else None,
        )

    def window(self) -> list[_Load]:
        """The loads the curve is fitted to: those between the two sides of the target, and within LOCAL of them."""
        low, high = self.sides()
        if low is None or high is None:
            return []
        a, b = sorted((math.log(low.scale), math.log(high.scale)))
        return [x for x in self.loads.values() if a - LOCAL <= math.log(x.scale) <= b + LOCAL]

    def line(self, loads: list[_Load], replication: int | None = None) -> tuple[float, float, float] | None:
        """Weighted means of log(scale) and logit(blocking) over ``loads``, and the least-squares slope (NaN
        with a single load); of one replication's runs when given.

        Weights are the binomial information of each load's pooled logit (attempts x p x (1 - p), p taken
        half a count away from 0 and 1). A replication is weighed with the pooled weights too, so that
        every replication's level is read at the same place on the curve.
        """
        points = []
        for load in loads:
            pooled = _logit_and_weight(load.runs)
            if pooled is None:
                continue
            own = pooled if replication is None else _logit_and_weight([r for r in load.runs if r[0] == replication])
            if own is not None:
                points.append((math.log(load.scale), own[0], pooled[1]))
        if not points:
            return None
        total = sum(w for _, _, w in points)
        mx = sum(w * x for x, _, w in points) / total
        my = sum(w * y for _, y, w in points) / total
        sxx = sum(w * (x - mx) ** 2 for x, _, w in points)
        sxy = sum(w * (x - mx) * (y - my) for x, y, w in points)
        return mx, my, (sxy / sxx if sxx > 0 else math.nan)

    def fit(self, loads: list[_Load]) -> float | None:
        """log(scale) where the fitted line meets the target; None unless blocking rises with load."""
        found = self.line(loads)
        if found is None or not found[2] > 0:
            return None
        mx, my, slope = found
        return mx + (self.goal - my) / slope

    @property
    def goal(self) -> float:
        """The target as a logit."""
        return math.log(self.target / (1 - self.target))

    def estimate(self) -> tuple[float, tuple[float, float] | None] | None:
        """The scale at the target and its 95% interval, from the loads around it.

        The interval is a jackknife over the replications (each left out in turn, the line fitted again):
        it carries the uncertainty of both the level and the slope, with Student t on n - 1 degrees of freedom.
        """
        loads = self.window()
        centre = self.fit(loads)
        if centre is None:
            return None
        shared = sorted(set.intersection(*({r for r, _, _ in x.runs} for x in loads)))
        leave_out = []
        for r in shared:
            rest = [_Load(x.scale, runs=[run for run in x.runs if run[0] != r]) for x in loads]
            root = self.fit(rest)
            if root is None:
                return math.exp(centre), None
            leave_out.append(root)
        n = len(leave_out)
        if n < 2:
            return math.exp(centre), None
        from scipy import stats

        mean = sum(leave_out) / n
        spread = math.sqrt((n - 1) / n * sum((x - mean) ** 2 for x in leave_out))
        half = float(stats.t.ppf(0.975, n - 1)) * spread
        return math.exp(centre), (math.exp(centre - half), math.exp(centre + half))

    def next_step(self, start: float | None) -> tuple[float, int] | None:
        """The next load to run and how many replications it needs; None to add replications instead."""
        low, high = self.sides()
        if low is None and high is None:
            return (start if start is not None else 1.0), self.bracketing
        if high is None:
            assert low is not None
            return self._step(low, up=True), self.bracketing
        if low is None:
            return self._step(high, up=False), self.bracketing
        a, b = sorted((math.log(low.scale), math.log(high.scale)))
        centre = self.fit(self.window())
        if centre is None or not math.isfinite(centre):
            return math.exp((a + b) / 2), self.replications
        if self.contradicted(math.exp(centre)):
            return math.exp((a + b) / 2), self.replications  # blocking jumps here: bisect the bracket
        margin = 0.05 * (b - a)
        x = min(max(centre, a + margin), b - margin) if b - a > LOCAL else centre
        nearest = min(abs(math.log(load.scale) - x) for load in self.loads.values())
        if nearest <= self.tolerance / 2:
            return None
        return math.exp(x), self.replications

    def _step(self, edge: _Load, up: bool) -> float:
        """Past the loads evaluated so far: extrapolate the curve where two loads show it, else double (halve)."""
        same_side = sorted(self.loads.values(), key=lambda x: x.scale, reverse=up)[:2]
        factor = 2.0
        if len(same_side) == 2 and all(x.mean() > 0 for x in same_side):
            x = self.fit(same_side)
            if x is not None and math.isfinite(x):
                jump = abs(x - math.log(edge.scale))
                factor = min(4.0, max(1.0 + self.tolerance, math.exp(jump * 1.1)))
        elif len(self.loads) == 1 and self.erlang_guided:
            factor = 1.0 + 4 * self.tolerance
        return edge.scale * factor if up else edge.scale / factor

    erlang_guided = False

    @property
    def bracketing(self) -> int:
        """Replications per load while looking for the two sides of the target: one, unless Erlang B guides
        the search (its first loads are then close to the answer and kept)."""
        return self.replications if self.erlang_guided else 1

    def top_up(self) -> None:
        """Give every load around the target the current number of replications."""
        for load in self.window():
            if len(load.runs) < self.replications:
                self.evaluate(load.scale, range(self.replications))


def find_capacity(
    scenario: str | Path | Scenario,
    target: float = 0.01,
    workloads: Iterable[str] | None = None,
    destination: str | None = None,
    replications: int | None = None,
    seed: int | None = None,
    overrides: Mapping[str, Any] | Iterable[str] = (),
    workers: int | None = None,
    scheduler: str | None = None,
    cache: str | Path | TaskCache | None = None,
    tolerance: float = TOLERANCE,
    max_evaluations: int = MAX_EVALUATIONS,
    from_erlang: bool = True,
    max_rate: float | None = None,
    max_runs: int = MAX_RUNS,
    progress: SearchProgress | None = None,
    limits: Limits | None = None,
    executor: Executor | None = None,
    hints: tuple[str, str, str] | None = None,
) -> CapacityReport:
    """The largest rate of ``workloads`` (all by default) at which blocking stays at or below ``target``.

    Blocking is over all connections, or toward ``destination`` ("10.0.0.5:443"). The rate is the
    chosen workloads' connections per second together, with a 95% confidence interval. ``cache``: a
    folder (or a TaskCache) where completed runs are kept, so that a rerun does only what is missing.
    ``from_erlang=False`` starts from the scenario's own load even where Erlang B gives a better first guess.
    ``max_rate``: stop looking above this many connections per second (the report then gives ``at_least``).
    """
    base = resolve(scenario, seed, None, overrides)
    if base.variants:
        raise ScenarioError(
            f"{base.name} has variants: find the capacity of one (scenario.variant(name)), "
            "or of each with portsim capacity"
        )
    if not 0 < target < 1:
        raise ScenarioError(f"target {echo(target)}: must lie strictly between 0 and 1 (e.g. 0.01 for 1%)")
    if not 0 < tolerance < 1:
        raise ScenarioError(f"tolerance {echo(tolerance)}: must lie strictly between 0 and 1")
    chosen = choose_workloads(base, workloads)
    if destination is not None:
        labels = [d.label for d in base.destinations]
        if destination not in labels:
            shown = ", ".join(labels[:5]) + (", ..." if len(labels) > 5 else "")
            raise ScenarioError(f"destination {echo(destination)}: not in the scenario (destinations: {shown})")
    if replications is not None and not MIN_REPLICATIONS <= replications <= MAX_REPLICATIONS:
        raise ScenarioError(
            f"replications {replications}: {MIN_REPLICATIONS} to {MAX_REPLICATIONS} per load "
            "(the interval is a jackknife over them)"
        )
    reps = max(MIN_REPLICATIONS, replications if replications is not None else base.replications)
    if reps > MAX_REPLICATIONS:
        raise ScenarioError(f"replications {reps}: at most {MAX_REPLICATIONS} per load")
    search = _Search(
        base,
        target,
        chosen,
        destination,
        reps,
        tolerance,
        executor or Executor(workers, scheduler),
        TaskCache.of(cache),
        limits or Limits(),
        progress,
        hints,
    )
    ceiling = min(MAX_RATE, max_rate) if max_rate is not None else MAX_RATE
    fastest = min(base.workloads[i].offered.max_factor for i in chosen)
    top = min(ceiling / search.base, fastest)
    if all(w.offered.replays for w in base.workloads):
        return _bisect(search, top, fastest, max_evaluations)
    erlang, erlang_note = erlang_scale(base, target, chosen, destination)
    start = erlang if from_erlang else None
    search.erlang_guided = start is not None
    converged = False
    note = ""
    for _ in range(max_evaluations):
        if search.runs >= max_runs:
            note = (
                f"stopped after {search.runs} simulation runs without an interval within ±{tolerance:.0%}: blocking "
                "moves little with this load here (scale other workloads, or raise the target)"
            )
            break
        step = search.next_step(start)
        if step is None:
            # a load already sits at the estimate: what is left is noise, so add replications around it
            if search.replications >= MAX_REPLICATIONS:
                note = f"the interval stays wider than ±{tolerance:.0%} with {MAX_REPLICATIONS} replications per load"
                break
            search.replications = min(MAX_REPLICATIONS, search.replications * 2)
            for load in search.window():
                search.evaluate(load.scale, range(search.replications))
        else:
            scale = step[0]
            if scale < MIN_SCALE:
                note = f"blocking stays above the target even at {MIN_SCALE:g} times the scenario's load"
                break
            if scale > top:
                if top in search.loads:
                    note = _ceiling_note(search, top, fastest)
                    break
                scale = top  # the ceiling itself, once: the answer may lie just below it
            search.evaluate(scale, range(step[1]))
            search.top_up()
        found = search.estimate()
        if progress is not None:
            progress(search.runs, found[0] * search.base if found else None)
        low, high = search.sides()
        if found is None or found[1] is None or low is None or high is None:
            continue
        centre, (lo, hi) = found[0], found[1]
        precise = max(hi / centre, centre / lo) - 1 <= tolerance
        local = abs(math.log(high.scale / low.scale)) <= LOCAL
        if search.contradicted(centre):
            if abs(math.log(high.scale / low.scale)) <= math.log1p(tolerance):
                converged = True  # blocking jumps within the bracket: the bracket is the answer
                break
            continue
        if precise and local:
            converged = True
            break
    else:
        note = f"stopped after {max_evaluations} loads without an interval within ±{tolerance:.0%}"
    return _report(search, erlang, erlang_note, converged, note)


def _report(
    search: _Search, erlang: float | None, erlang_note: str, converged: bool, note: str, exact: bool = False
) -> CapacityReport:
    """The search's answer. ``exact``: the loads' blocking has no noise, so the answer is the highest load
    evaluated that meets the target, and its interval runs to the lowest that does not."""
    base, target = search.scenario, search.target
    found = search.estimate() if not exact else None
    low, high = search.sides()
    if found is not None and low is not None and high is not None and search.contradicted(found[0]):
        # no smooth curve fits where blocking jumps (a pool that fills at once): answer with the bracket
        found, exact = None, True
        note = (
            f"blocking jumps from {low.mean():.3g} to {high.mean():.3g} between these loads, where no smooth curve "
            "fits: the rate is the highest load that met the target, the interval the bracket to the lowest that did "
            f"not ({search.runs} simulation runs)"
        )
    rate = ci = scale_found = None
    if found is not None:
        scale_found = found[0]
        rate = scale_found * search.base
        ci = (found[1][0] * search.base, found[1][1] * search.base) if found[1] else None
    if exact and low is not None and high is not None:
        scale_found, rate = low.scale, low.scale * search.base
        ci = (min(rate, high.scale * search.base), max(rate, high.scale * search.base))
    passed = [x.scale * search.base for x in search.loads.values() if x.mean() <= target]
    at_least = max(passed) if rate is None and passed else None
    if converged and not exact and found is not None:
        note = f"95% interval within ±{search.tolerance:.0%} after {search.runs} simulation runs"
    elif not note:
        note = "no interval yet"
    return CapacityReport(
        scenario=base.name,
        variant=base.variant_name,
        seed=base.seed,
        version=version(),
        target=target,
        destination=search.destination,
        workloads=[base.workloads[i].name for i in search.workloads],
        unit=search.unit,
        interval="bracket" if exact else "95% CI",
        base_rate=search.base,
        rate=rate,
        ci95=ci,
        at_least=at_least,
        scale=scale_found,
        converged=converged,
        note=note,
        simulation_runs=search.runs,
        replications=search.replications,
        erlang_b_rate=erlang * search.base if erlang is not None else None,
        erlang_b_note=erlang_note,
        evaluations=[_evaluation(x, search.base) for x in sorted(search.loads.values(), key=lambda x: x.scale)],
    )


def _ceiling_note(search: _Search, top: float, fastest: float) -> str:
    """Why the search stopped at ``top``: the arrivals cannot be scaled past ``fastest``, or its ceiling."""
    why = "the fastest it can go" if top >= fastest else "where the search stops"
    return f"blocking stays at or below the target up to {rate_text(top * search.base)} {search.unit}, {why}"


def _bisect(search: _Search, top: float, fastest: float, max_evaluations: int) -> CapacityReport:
    """The capacity where every run makes the same attempts (traces): one replication per load, bracketing by
    doubling (halving), then bisecting in log(rate) until the bracket is within the tolerance."""
    search.replications = 1
    scale = min(1.0, top)
    note = ""
    for _ in range(max_evaluations):
        search.evaluate(scale, [0])
        low, high = search.sides()
        if high is None:
            if scale >= top:
                note = _ceiling_note(search, top, fastest)
                break
            scale = min(scale * 2, top)
        elif low is None:
            if scale <= MIN_SCALE:
                note = f"blocking stays above the target even at {MIN_SCALE:g} times the scenario's load"
                break
            scale = max(scale / 2, MIN_SCALE)
        elif abs(math.log(high.scale / low.scale)) <= math.log1p(search.tolerance):
            note = (
                "every run replays the same connections (a trace): one run per load, bisected to within "
                f"±{search.tolerance:.0%} after {search.runs} runs; the rate is the highest that met the target"
            )
            return _report(search, None, "a trace: Erlang B does not apply", True, note, exact=True)
        else:
            scale = math.sqrt(low.scale * high.scale)
        if search.progress is not None:
            search.progress(search.runs, None)
    else:
        note = f"stopped after {max_evaluations} loads before the bracket was within ±{search.tolerance:.0%}"
    return _report(search, None, "a trace: Erlang B does not apply", False, note, exact=True)


def choose_workloads(scenario: Scenario, names: Iterable[str] | None) -> list[int]:
    """Indices of the named workloads (all when None); a clear error for a name the scenario lacks."""
    known = [w.name for w in scenario.workloads]
    if names is None:
        return list(range(len(known)))
    chosen = []
    for name in dict.fromkeys(names):
        if name not in known:
            raise ScenarioError(f"workload {echo(name)}: not in the scenario (workloads: {', '.join(known)})")
        chosen.append(known.index(name))
    if not chosen:
        raise ScenarioError("no workload chosen to scale")
    return chosen


def _evaluation(load: _Load, base: float) -> CapacityEvaluation:
    blocking = [b for b in load.blocking() if math.isfinite(b)]
    ci = None
    if len(blocking) > 1:
        _, lo, hi = mean_ci(blocking)
        ci = (max(0.0, lo), min(1.0, hi))
    return CapacityEvaluation(
        scale=load.scale,
        rate=load.scale * base,
        duration_s=load.duration,
        blocking_probability=load.mean() if blocking else None,
        ci95=ci,
        runs=[
            CapacityRun(replication=r, attempts=a, failures=f, blocking_probability=f / a if a > 0 else None)
            for r, a, f in load.runs
        ],
    )
