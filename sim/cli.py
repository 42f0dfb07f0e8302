"""The ``portsim`` command line.

Exit status: 0 success, 2 bad input (scenario, option or output folder), 1 anything else,
130 interrupted. Errors are one line on stderr; set PORTSIM_DEBUG=1 for a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .experiment import Progress, resolve
from .experiment import run as run_scenario
from .model import version
from .policies import POLICIES
from .presets import PRESETS
from .results import RunResult
from .scenario import Scenario, ScenarioError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class BadInputError(Exception):
    """A user error detected by the CLI itself (exit status 2)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portsim",
        description="Simulate an operating system's ephemeral port pool. Times in seconds, rates in connections/s.",
    )
    parser.add_argument("--version", action="version", version=f"portsim {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a scenario and write its results folder")
    run.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    run.add_argument("--out", metavar="DIR", help="results folder (default: results/<scenario name>)")
    run.add_argument("--seed", type=int, metavar="N", help="random seed (overrides the file's seed)")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override one scenario value, e.g. --set host.time_wait=30 (repeatable)",
    )
    run.add_argument("--replications", type=int, metavar="N", help="independent replications (default: 1)")
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument("--quiet", action="store_true", help="no progress bar and no summary on stdout")

    validate = sub.add_parser("validate", help="check a scenario and print it with presets applied")
    validate.add_argument("scenario", metavar="SCENARIO")
    validate.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE")

    sub.add_parser("schema", help="print the JSON Schema of scenario files")
    sub.add_parser("presets", help="list the operating-system presets and what each sets")
    sub.add_parser("policies", help="list the port allocation policies")

    plot = sub.add_parser("plot", help="redraw the plots of an existing results folder")
    plot.add_argument("folder", metavar="DIR")
    return parser


def _progress_bar(duration_label: str) -> tuple[Progress, Any]:
    """A progress callback that shows a bar on a terminal once a run has lasted about a second."""
    from rich.console import Console
    from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress

    started = time.perf_counter()
    state: dict[str, Any] = {"bar": None, "task": None}

    def update(fraction: float, attempts: int) -> None:
        elapsed = time.perf_counter() - started
        if state["bar"] is None:
            if elapsed < 1.0:
                return
            bar = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>5.1f}% of " + duration_label),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task("simulating", total=1.0, rate="")
        rate = f"{attempts / elapsed:,.0f} conn/s" if elapsed > 0 else ""
        state["bar"].update(state["task"], completed=fraction, rate=rate)

    def stop() -> None:
        if state["bar"] is not None:
            state["bar"].stop()

    return update, stop


def _default_out(scenario: Scenario) -> Path:
    return Path("results") / scenario.name


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise BadInputError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "summary.json").exists():
        raise BadInputError(
            f"--out {out}: folder holds other files and is not a portsim results folder; not replacing it"
        )


def _print_summary(result: RunResult, out: Path) -> None:
    s = result.summary
    eb = s["erlang_b"]
    reps = s.get("replications")
    lines = [
        f"portsim {s['version']}: {s['scenario']} ({s['sim_time_s']:g} s simulated, seed {result.scenario.seed}"
        + (f", {reps} replications" if reps else "")
        + ")",
        f"  attempts             {s['attempts']:,.0f}",
        f"  failures             {s['failures']:,.0f}"
        + (f"  (first at {s['first_failure_time_s']:.2f} s)" if s["first_failure_time_s"] is not None else ""),
        f"  blocking probability {_fmt(s['blocking_probability'])}   Erlang B: {_fmt(eb['blocking_probability'])}"
        + ("" if eb["applicable"] else " (approximate)"),
        f"  ports in use         peak {s['ports_in_use']['peak']:,.0f} of {s['pool']['total_ports']:,}, "
        f"mean {s['ports_in_use']['mean']:,.1f}",
        f"  TIME_WAIT            peak {s['time_wait']['peak']:,.0f}, mean {s['time_wait']['mean']:,.1f}",
        f"  probes per connect   mean {_fmt(s['probes']['mean'])}, p99 {_fmt(s['probes']['p99'])}, "
        f"max {_fmt(s['probes']['max'])}",
        f"  results              {out}/",
    ]
    print("\n".join(lines))


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _cmd_run(args: argparse.Namespace) -> int:
    if args.replications is not None and args.replications < 1:
        raise BadInputError(f"--replications {args.replications}: must be at least 1")
    if args.seed is not None and args.seed < 0:
        raise BadInputError(f"--seed {args.seed}: must be zero or positive")
    scenario = resolve(args.scenario, args.seed, args.replications, args.overrides)
    out = Path(args.out) if args.out else _default_out(scenario)
    _check_out(out)
    show = not args.quiet and sys.stderr.isatty()
    progress, stop = _progress_bar(f"{scenario.duration:g} s") if show else (None, lambda: None)
    try:
        result = run_scenario(scenario, progress=progress)
    finally:
        stop()
    result.save(out, plots=not args.no_plots)
    if not args.quiet:
        _print_summary(result, out)
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    scenario = resolve(args.scenario, overrides=args.overrides)
    print(f"# {args.scenario}: valid. Resolved scenario (presets applied):")
    print(scenario.to_yaml(), end="")
    return EXIT_OK


def _cmd_presets(_: argparse.Namespace) -> int:
    for p in PRESETS.values():
        low, high = p.port_range
        policy = p.policy if isinstance(p.policy, str) else ", ".join(f"{k}={v}" for k, v in p.policy.items())
        reuse = {0: "off", 1: "on", 2: "loopback only"}[p.tw_reuse]
        print(f"{p.name}")
        print(f"  range       {low}-{high} ({p.size:,} ports)")
        print(f"  algorithm   {p.algorithm}  [policy: {policy}]")
        print(f"  TIME_WAIT   {p.time_wait:g} s; tw_reuse {reuse}; max_tw_buckets {p.max_tw_buckets}")
        print(
            f"  sharing     {'4-tuple: a port is shared across destinations' if p.sharing == 'per_destination' else 'none: a port serves one connection'}"
        )
        print(f"  based on    {p.source}")
    return EXIT_OK


def _cmd_policies(_: argparse.Namespace) -> int:
    width = max(len(n) for n in POLICIES)
    for name, cls in sorted(POLICIES.items()):
        print(f"{name:<{width}}  {cls.description}")
    return EXIT_OK


def _cmd_schema(_: argparse.Namespace) -> int:
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "portsim scenario"
    print(json.dumps(schema, indent=2))
    return EXIT_OK


def _cmd_plot(args: argparse.Namespace) -> int:
    from .plots import save_all
    from .results import load_result

    folder = Path(args.folder)
    if not (folder / "summary.json").is_file():
        raise BadInputError(f"{folder}: not a portsim results folder (no summary.json)")
    for path in save_all(load_result(folder), folder / "plots"):
        print(path)
    return EXIT_OK


COMMANDS = {
    "run": _cmd_run,
    "validate": _cmd_validate,
    "presets": _cmd_presets,
    "policies": _cmd_policies,
    "schema": _cmd_schema,
    "plot": _cmd_plot,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``portsim`` and ``python -m sim``."""
    args = _parser().parse_args(argv)
    debug = bool(os.environ.get("PORTSIM_DEBUG"))
    try:
        return COMMANDS[args.command](args)
    except (ScenarioError, BadInputError) as exc:
        print(f"portsim: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("portsim: interrupted; any previous results folder was left as it was", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if debug:
            raise
        print(f"portsim: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
