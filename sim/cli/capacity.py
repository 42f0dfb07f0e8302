"""``portsim capacity``: the largest load a host sustains at a target blocking probability, by simulation."""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path
from typing import Any

from ..config.limits import CLI_HINTS
from ..experiments.cache import TaskCache
from ..experiments.capacity import MAX_REPLICATIONS, MIN_REPLICATIONS, find_capacity
from ..experiments.executor import Executor
from ..experiments.runner import resolve
from ..output.capacity import write_capacity
from ..output.folders import CACHE_FOLDER, CAPACITY_ENTRIES, check_replaceable
from ..report.capacity import CapacityReport, percent, rate_text
from .options import (
    check_scenario_options,
    execution_options,
    limit_options,
    limits,
    scenario_options,
    search_options,
    warn_scenarios,
)
from .progress import status_line
from .results import write_results


def add_parser(sub: Any) -> None:
    """The ``capacity`` command's options."""
    parser = sub.add_parser(
        "capacity", help="find, by simulation, the largest load at which blocking stays at or below a target"
    )
    scenario_options(
        parser, f"replications per load ({MIN_REPLICATIONS} to {MAX_REPLICATIONS}, default {MIN_REPLICATIONS})"
    )
    search_options(parser)
    parser.add_argument("--variant", action="append", default=[], metavar="NAME", help="only this variant (repeatable)")
    parser.add_argument("--no-plots", action="store_true", help="skip capacity.png")
    parser.add_argument("--quiet", action="store_true", help="no progress and no result on stdout")
    execution_options(parser)
    limit_options(parser)


def run(args: argparse.Namespace) -> int:
    """Run ``portsim capacity``; returns the exit status."""
    check_scenario_options(args, (MIN_REPLICATIONS, MAX_REPLICATIONS))
    base = resolve(args.scenario, args.seed, None, args.overrides)
    names = list(dict.fromkeys(args.variant)) or [v.name for v in base.variants]
    scenarios = {name: base.variant(name, args.overrides) for name in names} if names else {base.name: base}
    out = Path(args.out) if args.out is not None else Path("results") / base.name
    executor = Executor(args.workers, args.scheduler)
    executor.check()
    check_replaceable(out)
    warn_scenarios(scenarios.values())
    cache = TaskCache(out / CACHE_FOLDER, read=not args.fresh)
    update, stop = status_line("capacity") if not args.quiet and sys.stderr.isatty() else (None, lambda: None)
    reports: list[CapacityReport] = []
    try:
        for label, scenario in scenarios.items():
            progress = None
            if update is not None:
                progress = partial(update, label if names else "")
            reports.append(
                find_capacity(
                    scenario,
                    target=args.target,
                    workloads=args.workload,
                    destination=args.destination,
                    replications=args.replications,
                    executor=executor,
                    cache=cache,
                    progress=progress,
                    limits=limits(args),
                    hints=CLI_HINTS,
                )
            )
    finally:
        stop()
    write_results(
        out,
        CAPACITY_ENTRIES,
        lambda folder, failed: write_capacity(reports, base.to_yaml(), folder, not args.no_plots, failed),
        lambda: capacity_text(reports, out),
        args.quiet,
    )
    return 0


def capacity_text(reports: list[CapacityReport], out: Path) -> str:
    """What the search found, a line per search."""
    lines = []
    for r in reports:
        name = f"{r.variant}: " if r.variant else f"{r.scenario}: "
        toward = f" toward {r.destination}" if r.destination else ""
        if r.rate is None:
            bound = f"at least {rate_text(r.at_least)} {r.unit}; " if r.at_least is not None else ""
            lines.append(f"{name}no capacity found at {percent(r.target)} blocking{toward} ({bound}{r.note})")
            continue
        interval = f" [{rate_text(r.ci95[0])}, {rate_text(r.ci95[1])}] ({r.interval})" if r.ci95 else ""
        lines.append(
            f"{name}{rate_text(r.rate)} {r.unit}{interval} of {', '.join(r.workloads)} "
            f"at {percent(r.target)} blocking{toward}"
        )
        scale = r.scale or 0.0
        lines.append(
            f"  {scale:.3g} times the scenario's {rate_text(r.base_rate)} {r.unit}; {r.simulation_runs} simulation runs"
        )
        if r.erlang_b_rate is not None:
            lines.append(f"  inverse Erlang B: {rate_text(r.erlang_b_rate)} {r.unit}")
        if not r.converged:
            lines.append(f"  warning: {r.note}")
    lines.append(f"results in {out}/ (capacity.json, capacity.png)")
    return "\n".join(lines)
