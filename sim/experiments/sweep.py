"""Sweeps: a scenario run over a grid of values of some of its keys, every point replicated.

Every point uses the scenario's seed, so points differ only by the swept values (common random
numbers: the curve is smoother than independent runs would make it, and so are its differences).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.errors import ScenarioError, echo
from ..config.limits import Limits, check
from ..config.scenario import Scenario
from ..config.sweep import LARGE_GRID, Axis, Range, axis_values, check_key, grid_size
from ..report.records import Summary
from ..report.table import COUNTS, figures, point_summaries
from .batch import TaskProgress, summaries
from .cache import TaskCache
from .executor import Executor
from .runner import resolve
from .tasks import Task

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Point:
    """One point of a sweep: the swept values (and variant), and the scenario they give."""

    index: int
    values: dict[str, Any]
    variant: str | None
    scenario: Scenario


def axes(scenario: Scenario, over: Mapping[str, Axis | Iterable[Any]] | None = None) -> dict[str, list[Any]]:
    """The swept keys and their values: the file's ``sweep:``, with ``over`` added (a key in both: ``over`` wins)."""
    merged: dict[str, Any] = dict(scenario.sweep or {})
    for key, axis in (over or {}).items():
        check_key(key, "over")
        if isinstance(axis, Range | list):
            merged[key] = axis
        elif isinstance(axis, Mapping):
            merged[key] = Range.model_validate(axis)
        else:
            merged[key] = list(axis)
    if not merged:
        raise ScenarioError(f"{scenario.name}: nothing to sweep (add a sweep: section to the file, or --over KEY=...)")
    found = {key: axis_values(axis) for key, axis in merged.items()}
    for key, values in found.items():
        if not values:
            raise ScenarioError(f"sweep {key}: no values")
    dimensions = len(found) + (1 if scenario.variants else 0)
    if dimensions > 3:
        raise ScenarioError(
            f"{scenario.name}: {len(found)} swept keys{' and variants' if scenario.variants else ''}: "
            "at most 3 dimensions (x axis, lines, panels)"
        )
    return found


def points(
    scenario: Scenario,
    over: Mapping[str, Axis | Iterable[Any]] | None = None,
    overrides: Mapping[str, Any] | Iterable[str] = (),
) -> list[Point]:
    """Every point of the sweep, variants outermost, then the keys in order (the first varying slowest)."""
    found = axes(scenario, over)
    given = overrides if isinstance(overrides, Mapping) else list(overrides)
    bases = scenario.expand(given) if scenario.variants else {scenario.name: scenario}
    result: list[Point] = []
    for variant, base in bases.items():
        for combination in itertools.product(*found.values()):
            values = dict(zip(found, combination, strict=True))
            try:
                point = base.with_changes(values, source="sweep", sweep=None)
            except ScenarioError as exc:
                shown = ", ".join(f"{k}={echo(v)}" for k, v in values.items())
                detail = getattr(exc, "detail", None) or str(exc)
                raise ScenarioError(f"sweep point {shown}: {detail}") from None
            result.append(Point(len(result), values, variant if scenario.variants else None, point))
    return result


def grid_points(scenario: Scenario, over: Mapping[str, Axis | Iterable[Any]] | None = None) -> int:
    """How many points the sweep has (variants included), without building them."""
    return grid_size(axes(scenario, over)) * max(1, len(scenario.variants))


def tasks_of(grid: list[Point], replications: int) -> list[Task]:
    """One task per point and replication, point-major."""
    return [Task(p.scenario, r) for p in grid for r in range(replications)]


def table(grid: list[Point], results: list[Summary], replications: int, keys: list[str]) -> pd.DataFrame:
    """The tidy table: a row per point and replication."""
    import pandas as pd

    rows = []
    for i, summary in enumerate(results):
        point = grid[i // replications]
        row: dict[str, Any] = {"point": point.index}
        if point.variant is not None:
            row["variant"] = point.variant
        for key in keys:
            row[key] = _cell(point.values[key])
        row["replication"] = i % replications
        row["seed"] = point.scenario.seed
        row.update(figures(summary))
        rows.append(row)
    frame = pd.DataFrame(rows)
    for name in COUNTS:
        if name in frame and frame[name].notna().all() and (frame[name] % 1 == 0).all():
            frame[name] = frame[name].astype("int64")  # counts of single runs are whole numbers
    frame.attrs["keys"] = keys
    return frame


def _cell(value: Any) -> Any:
    """A swept value as a table cell: lists, mappings and booleans as they are written in YAML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return echo(value, 200)
    return value


def sweep(
    scenario: str | Path | Scenario,
    over: Mapping[str, Axis | Iterable[Any]] | None = None,
    replications: int | None = None,
    seed: int | None = None,
    overrides: Mapping[str, Any] | Iterable[str] = (),
    workers: int | None = None,
    scheduler: str | None = None,
    cache: str | Path | TaskCache | None = None,
    progress: TaskProgress | None = None,
    limits: Limits | None = None,
) -> pd.DataFrame:
    """Run a sweep; a pandas DataFrame with a row per point and replication (the columns of sweep.csv).

    ``over`` maps key paths to values: ``{"workloads.api.arrivals.rate": [100, 200, 400]}`` or
    ``{"host.time_wait": {"from": 30, "to": 120, "steps": 4}}``; it adds to the file's ``sweep:``.
    ``workers`` local processes (default: the machine's cores), or a Dask ``scheduler`` address.
    ``cache``: a folder where completed tasks are kept, so a rerun does only what is missing.
    """
    base = resolve(scenario, seed, replications, overrides)
    grid = points(base, over, overrides)
    check_grid(base, grid, limits or Limits())
    keys = list(axes(base, over))
    n = base.replications
    results = summaries(
        tasks_of(grid, n),
        Executor(workers, scheduler),
        TaskCache.of(cache),
        progress,
    )
    return table(grid, results, n, keys)


def check_grid(base: Scenario, grid: list[Point], limits: Limits, hints: tuple[str, str, str] | None = None) -> None:
    """Refuse a sweep whose points, together, are above ``limits``."""
    runs = {f"point {p.index}": p.scenario for p in grid}
    if hints is None:
        check(runs, limits, base.name)
    else:
        check(runs, limits, base.name, hints)


__all__ = ["LARGE_GRID", "Point", "axes", "grid_points", "point_summaries", "points", "sweep", "table"]
