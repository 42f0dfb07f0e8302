"""``portsim capacity``: the largest load a host sustains at a target blocking probability, by simulation."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..config.errors import ScenarioError
from ..config.limits import CLI_HINTS
from ..experiments.cache import TaskCache
from ..experiments.capacity import find_capacity
from ..experiments.executor import Executor
from ..experiments.runner import resolve
from ..output.capacity_plot import percent
from ..output.folders import CACHE_FOLDER, CAPACITY_ENTRIES, check_replaceable, owned_by, staged_folder
from ..output.results import PlotError
from ..report.capacity import CapacityReport
from ..version import version
from .options import execution_options, limit_options, limits


def target_value(text: str) -> float:
    """A blocking target from ``0.01`` or ``1%``."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (e.g. 0.01 or 1%)") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must lie strictly between 0 and 1 (e.g. 0.01 or 1%)")
    return value


def add_parser(sub: Any) -> None:
    """The ``capacity`` command's options."""
    parser = sub.add_parser(
        "capacity", help="find, by simulation, the largest load at which blocking stays at or below a target"
    )
    parser.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    parser.add_argument(
        "--target", type=target_value, default=0.01, metavar="P", help="blocking probability (default 0.01, or 1%%)"
    )
    parser.add_argument(
        "--workload",
        action="append",
        default=None,
        metavar="NAME",
        help="scale only this workload's rate (repeatable; default: all of them, together)",
    )
    parser.add_argument("--destination", metavar="ADDR:PORT", help="blocking toward this destination only")
    parser.add_argument("--replications", type=int, metavar="N", help="replications per load (default 3)")
    parser.add_argument("--out", metavar="DIR", help="results folder (default: results/<scenario name>)")
    parser.add_argument("--seed", type=int, metavar="N", help="random seed (overrides the file's seed)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE", help="override one value"
    )
    parser.add_argument("--variant", action="append", default=[], metavar="NAME", help="only this variant (repeatable)")
    parser.add_argument("--no-plots", action="store_true", help="skip capacity.png")
    parser.add_argument("--quiet", action="store_true", help="no progress and no result on stdout")
    execution_options(parser)
    limit_options(parser)


def run(args: argparse.Namespace) -> int:
    """Run ``portsim capacity``; returns the exit status."""
    if args.replications is not None and not 2 <= args.replications <= 64:
        raise ScenarioError(f"--replications {args.replications}: must be between 2 and 64 per load")
    if args.seed is not None and args.seed < 0:
        raise ScenarioError(f"--seed {args.seed}: must be zero or positive")
    if args.out is not None and not args.out.strip():
        raise ScenarioError("--out: the results folder path is empty")
    base = resolve(args.scenario, args.seed, None, args.overrides)
    names = list(dict.fromkeys(args.variant)) or [v.name for v in base.variants]
    for name in names:
        base.variant(name)
    scenarios = {name: base.variant(name, args.overrides) for name in names} if names else {base.name: base}
    out = Path(args.out) if args.out is not None else Path("results") / base.name
    executor = Executor(args.workers, args.scheduler)
    executor.check()
    check_replaceable(out)
    cache = TaskCache(out / CACHE_FOLDER, read=not args.fresh)
    show = not args.quiet and sys.stderr.isatty()
    reports: list[CapacityReport] = []
    for label, scenario in scenarios.items():

        def progress(runs: int, rate: float | None, label: str = label) -> None:
            if show:
                where = f"{label}: " if names else ""
                estimate = f"about {rate:,.4g} conn/s" if rate is not None else "bracketing"
                print(f"\r\x1b[Kcapacity: {where}{runs} simulation runs, {estimate}", end="", file=sys.stderr)

        try:
            reports.append(
                find_capacity(
                    scenario,
                    target=args.target,
                    workloads=args.workload,
                    destination=args.destination,
                    replications=args.replications,
                    executor=executor,
                    cache=None,
                    progress=progress,
                    limits=limits(args),
                    task_cache=cache,
                    hints=CLI_HINTS,
                )
            )
        finally:
            if show:
                print("\r\x1b[K", end="", file=sys.stderr)
    failed: list[str] = []
    with staged_folder(out, owns=owned_by(CAPACITY_ENTRIES)) as tmp:
        write_capacity(reports, base.to_yaml(), tmp, not args.no_plots, failed)
    if not args.quiet:
        print(capacity_text(reports, out))
    if failed:
        raise PlotError(f"{out}: data written, but plot {failed[0]}")
    return 0


def capacity_data(reports: list[CapacityReport]) -> dict[str, Any]:
    """capacity.json: one search, or one per variant under ``variants``."""
    if len(reports) == 1 and reports[0].variant is None:
        return reports[0].to_json()
    first = reports[0]
    return {
        "scenario": first.scenario,
        "target": first.target,
        "version": version(),
        "variants": {r.variant or r.scenario: r.to_json() for r in reports},
    }


def write_capacity(
    reports: list[CapacityReport], scenario_yaml: str, folder: Path, plots: bool, failed: list[str]
) -> None:
    """capacity.yaml and capacity.json, then capacity.png."""
    header = f"# Resolved scenario written by portsim {version()} for portsim capacity.\n"
    (folder / "capacity.yaml").write_text(header + scenario_yaml, encoding="utf-8")
    (folder / "capacity.json").write_text(json.dumps(capacity_data(reports), indent=2) + "\n", encoding="utf-8")
    if plots:
        try:
            from ..output.capacity_plot import capacity_figure

            capacity_figure([r.to_json() for r in reports]).savefig(folder / "capacity.png")
        except Exception as exc:
            failed.append(f"capacity.png: {type(exc).__name__}: {exc}")


def capacity_text(reports: list[CapacityReport], out: Path) -> str:
    """What the search found, a line per search."""
    lines = []
    for r in reports:
        name = f"{r.variant}: " if r.variant else f"{r.scenario}: "
        toward = f" toward {r.destination}" if r.destination else ""
        if r.rate is None:
            lines.append(f"{name}no capacity found at {percent(r.target)} blocking{toward} ({r.note})")
            continue
        interval = f" [{r.ci95[0]:,.4g}, {r.ci95[1]:,.4g}] (95% CI)" if r.ci95 else ""
        lines.append(
            f"{name}{r.rate:,.4g} conn/s{interval} of {', '.join(r.workloads)} at {percent(r.target)} blocking{toward}"
        )
        scale = r.scale or 0.0
        lines.append(
            f"  {scale:.3g} times the scenario's {r.base_rate:,.4g} conn/s; {r.simulation_runs} simulation runs"
        )
        if r.erlang_b_rate is not None:
            lines.append(f"  inverse Erlang B: {r.erlang_b_rate:,.4g} conn/s")
        if not r.converged:
            lines.append(f"  warning: {r.note}")
    lines.append(f"results in {out}/ (capacity.json, capacity.png)")
    return "\n".join(lines)
