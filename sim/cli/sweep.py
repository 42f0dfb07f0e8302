"""``portsim sweep``: a scenario over a grid of values, every point replicated, in parallel."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from ..config.errors import ScenarioError
from ..config.limits import CLI_HINTS
from ..config.scenario import MAX_REPLICATIONS
from ..config.sweep import LARGE_GRID, parse_over
from ..experiments.batch import summaries
from ..experiments.cache import TaskCache
from ..experiments.executor import Executor
from ..experiments.runner import resolve
from ..experiments.sweep import axes, check_grid, grid_points, points, table, tasks_of
from ..output.folders import CACHE_FOLDER, SWEEP_ENTRIES, check_replaceable
from ..output.sweep import sweep_data, write_sweep
from .options import (
    check_scenario_options,
    execution_options,
    limit_options,
    limits,
    only_variants,
    scenario_options,
    warn_scenarios,
)
from .progress import task_bar
from .results import write_results
from .text import sig3


def add_parser(sub: Any) -> None:
    """The ``sweep`` command's options."""
    parser = sub.add_parser(
        "sweep",
        help="run a scenario over a grid of values (its sweep: section, or --over) and plot blocking against them",
    )
    scenario_options(parser, "replications per point (default: the file's)")
    parser.add_argument(
        "--over",
        action="append",
        default=[],
        metavar="KEY=VALUES",
        help="a key to sweep: KEY=v1,v2,... or KEY=from:to:steps[:log] (repeatable; added to the file's sweep:)",
    )
    parser.add_argument(
        "--variant", action="append", default=[], metavar="NAME", help="sweep only this variant (repeatable)"
    )
    parser.add_argument("--yes", action="store_true", help=f"run a grid above {LARGE_GRID:,} points")
    parser.add_argument("--no-plots", action="store_true", help="skip sweep.png")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no table on stdout")
    execution_options(parser)
    limit_options(parser)


def run(args: argparse.Namespace) -> int:
    """Run ``portsim sweep``; returns the exit status."""
    check_scenario_options(args, (1, MAX_REPLICATIONS))
    over = dict(parse_over(text) for text in args.over)
    base = resolve(args.scenario, args.seed, args.replications, args.overrides)
    if args.variant:
        base = only_variants(base, args.variant)
    keys = list(axes(base, over))
    count = grid_points(base, over)
    runs = count * base.replications
    if count > LARGE_GRID and not args.yes:
        raise ScenarioError(
            f"{args.scenario}: the grid has {count:,} points ({runs:,} runs with {base.replications} replication(s)); "
            "add --yes to run it"
        )
    executor = Executor(args.workers, args.scheduler)
    executor.check()
    grid = points(base, over, args.overrides)
    check_grid(base, grid, limits(args), CLI_HINTS)
    written = base.with_changes(
        source="--over", sweep={k: _written(v) for k, v in {**(base.sweep or {}), **over}.items()}
    )
    out = Path(args.out) if args.out is not None else Path("results") / base.name
    check_replaceable(out)
    warn_scenarios(base.expand(args.overrides).values())
    cache = TaskCache(out / CACHE_FOLDER, read=not args.fresh)
    tasks = tasks_of(grid, base.replications)
    show = not args.quiet and sys.stderr.isatty()
    progress, stop = task_bar(f"sweep: {count:,} points × {base.replications}") if show else (None, lambda: None)
    try:
        results = summaries(tasks, executor, cache, progress)
    finally:
        stop()
    frame = table(grid, results, base.replications, keys)
    write_results(
        out,
        SWEEP_ENTRIES,
        lambda folder, failed: write_sweep(frame, written, keys, folder, not args.no_plots, failed),
        lambda: sweep_text(sweep_data(frame, written, keys), out, not args.no_plots),
        args.quiet,
    )
    return 0


def _written(axis: object) -> object:
    """A sweep axis as the resolved scenario.yaml writes it."""
    dump = getattr(axis, "model_dump", None)
    return dump(by_alias=True) if callable(dump) else axis


def sweep_text(data: dict[str, object], out: Path, plotted: bool = True) -> str:
    """The table printed after a sweep: blocking per point, with its interval and Erlang B."""
    keys = list(data["keys"])  # type: ignore[call-overload]
    points = list(data["points"])  # type: ignore[call-overload]
    head = (["variant"] if data.get("variants") else []) + keys
    widths = [max(len(h), *(len(_cell(p["values"][h])) for p in points)) for h in head]
    requests = any(_finite(p["mean"].get("request_failure_probability")) for p in points)
    lines = [
        f"{data['scenario']}: {len(points)} points, {data['replications']} replication(s) each, seed {data['seed']}",
        "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))
        + "  blocking   95% CI              Erlang B  attempts"
        + ("  req fail     new/s" if requests else ""),
    ]
    for p in points:
        mean, ci = p["mean"], p["ci95"]["blocking_probability"]
        cells = "  ".join(_cell(p["values"][h]).ljust(w) for h, w in zip(head, widths, strict=True))
        interval = f"[{_pct(ci[0])}, {_pct(ci[1])}]" if ci else "-"
        lines.append(
            f"{cells}  {_pct(mean['blocking_probability']):>8}   {interval:<18}  {_pct(mean['erlang_b']):>8}  "
            f"{_num(mean['attempts']):>8}"
            + (
                f"  {_pct(mean['request_failure_probability']):>8}  {_rate(mean['new_connections_per_s']):>8}"
                if requests
                else ""
            )
        )
    files = "sweep.csv, sweep.json, sweep.png" if plotted else "sweep.csv, sweep.json"
    lines.append(f"results in {out}/ ({files})")
    return "\n".join(lines)


def _rate(value: object) -> str:
    return sig3(float(value)) if _finite(value) else "-"  # type: ignore[arg-type]


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _cell(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _pct(value: object) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    number = float(value)  # type: ignore[arg-type]
    return f"{number:.3%}" if number < 0.01 else f"{number:.2%}"


def _num(value: object) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{float(value):,.0f}"  # type: ignore[arg-type]
