"""``portsim remedies``: which standard fix buys the most capacity."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..config.errors import ScenarioError
from ..config.limits import CLI_HINTS
from ..experiments.cache import TaskCache
from ..experiments.capacity import MAX_REPLICATIONS, MIN_REPLICATIONS
from ..experiments.executor import Executor
from ..experiments.fixes import FIXES
from ..experiments.remedies import AS_IS, remedies
from ..experiments.runner import resolve
from ..output.folders import CACHE_FOLDER, REMEDIES_ENTRIES, check_replaceable
from ..output.remedies import write_remedies
from ..report.capacity import percent, rate_text
from ..report.remedies import RemediesReport
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
    """The ``remedies`` command's options."""
    parser = sub.add_parser(
        "remedies",
        help="rank the standard fixes (wider range, tw_reuse, more addresses, ...) by the capacity each gives",
    )
    scenario_options(
        parser, f"replications per load ({MIN_REPLICATIONS} to {MAX_REPLICATIONS}, default {MIN_REPLICATIONS})"
    )
    search_options(parser)
    parser.add_argument(
        "--fix", action="append", default=None, metavar="NAME", help=f"only this fix (repeatable): {', '.join(FIXES)}"
    )
    parser.add_argument("--variant", metavar="NAME", help="find remedies for this variant of the scenario")
    parser.add_argument("--no-plots", action="store_true", help="skip remedies.png")
    parser.add_argument("--quiet", action="store_true", help="no progress and no table on stdout")
    execution_options(parser)
    limit_options(parser)


def run(args: argparse.Namespace) -> int:
    """Run ``portsim remedies``; returns the exit status."""
    check_scenario_options(args, (MIN_REPLICATIONS, MAX_REPLICATIONS))
    base = resolve(args.scenario, args.seed, None, args.overrides)
    if args.variant:
        base = base.variant(args.variant, args.overrides)
    elif base.variants:
        names = ", ".join(v.name for v in base.variants)
        raise ScenarioError(f"{args.scenario}: has variants ({names}); choose one with --variant")
    out = Path(args.out) if args.out is not None else Path("results") / base.name
    if base.variant_name and args.out is None:
        out = out / base.variant_name
    executor = Executor(args.workers, args.scheduler)
    executor.check()
    check_replaceable(out)
    warn_scenarios([base])
    progress, stop = status_line("remedies") if not args.quiet and sys.stderr.isatty() else (None, lambda: None)
    try:
        report = remedies(
            base,
            target=args.target,
            fixes=args.fix,
            workloads=args.workload,
            destination=args.destination,
            replications=args.replications,
            executor=executor,
            cache=TaskCache(out / CACHE_FOLDER, read=not args.fresh),
            progress=progress,
            limits=limits(args),
            hints=CLI_HINTS,
        )
    finally:
        stop()
    write_results(
        out,
        REMEDIES_ENTRIES,
        lambda folder, failed: write_remedies(report, base.to_yaml(), folder, not args.no_plots, failed),
        lambda: remedies_text(report, out),
        args.quiet,
    )
    return 0


def _interval_head(report: RemediesReport) -> str:
    kinds = {r.capacity.interval for r in report.remedies if r.capacity is not None}
    return "bracket" if kinds == {"bracket"} else "95% CI" if kinds <= {"95% CI"} else "95% CI or bracket"


def remedies_text(report: RemediesReport, out: Path) -> str:
    """The ranking as a table."""
    toward = f" toward {report.destination}" if report.destination else ""
    width = max([22] + [len(r.name) + 2 for r in report.remedies])  # dynamic-port-allocation is 23 letters
    lines = [
        f"{report.scenario}: capacity at {percent(report.target)} blocking{toward}, each fix on its own "
        f"(current load {rate_text(report.load)} {report.unit} of {', '.join(report.workloads)})",
        f"{'fix':<{width}}{'capacity ' + report.unit:>16}  {_interval_head(report):<22}{'gain':>7}"
        f"  {'blocked now':>11}",
    ]
    for r in report.remedies:
        if not r.applies:
            lines.append(f"{r.name:<{width}}{'-':>16}  does not apply: {r.reason}")
            continue
        cap = r.capacity
        rate = "not found"
        if cap is not None and cap.rate is not None:
            rate = f"{rate_text(cap.rate)}"
        elif cap is not None and cap.at_least is not None:
            rate = f"≥ {rate_text(cap.at_least)}"
        interval = f"[{rate_text(cap.ci95[0])}, {rate_text(cap.ci95[1])}]" if cap is not None and cap.ci95 else "-"
        gain = f"×{r.gain:.2f}" if r.gain is not None else "-"
        if cap is not None and cap.rate is None and r.gain is not None:
            gain = f"≥×{r.gain:.1f}"
        now = r.blocking_at_load.mean if r.blocking_at_load is not None else None
        blocked = percent(now) if now is not None else "-"
        lines.append(f"{r.name:<{width}}{rate:>16}  {interval:<22}{gain:>7}  {blocked:>11}")
    described = [r for r in report.remedies if r.applies and r.name != AS_IS and r.description]
    if described:  # what to set on the hosts (each OS's own setting, where it has one)
        lines.append("what each fix sets")
        lines.extend(f"  {r.name:<{width}}{r.description}" for r in described)
    lines.append(f"results in {out}/ (remedies.json, remedies.png)")
    return "\n".join(lines)
