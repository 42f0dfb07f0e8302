"""The ``portsim`` command line.

Exit status: 0 success, 2 bad input (scenario, option or output folder), 1 anything else (a plot
that failed after the data was written included), 130 interrupted (Ctrl-C), 143 terminated
(SIGTERM). Errors are one line on stderr; set PORTSIM_DEBUG=1 for a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from ..config.errors import ScenarioError, one_line
from ..config.limits import CLI_HINTS, Limits, check
from ..config.presets import PRESETS
from ..config.scenario import MAX_REPLICATIONS, Scenario
from ..core.policies import POLICIES
from ..experiments.executor import Executor
from ..experiments.runner import resolve, run_variants
from ..experiments.runner import run as run_scenario
from ..model import compiled
from ..output.folders import ResultsError, check_replaceable, run_owns, staged_folder
from ..output.results import PlotError, output_bytes, write_comparison, write_into
from ..version import version
from . import capacity as capacity_command
from . import host as host_command
from . import port as port_command
from . import port_map as port_map_options
from . import remedies as remedies_command
from . import sweep as sweep_command
from . import trace as trace_command
from .options import (
    check_scenario_options,
    execution_options,
    limit_options,
    limits,
    only_variants,
    scenario_options,
)
from .progress import progress_bar
from .signals import EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated, terminate
from .text import client_presets_text, comparison_text, nat_kinds_text, summary_text

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


class BadInputError(Exception):
    """A user error detected by the CLI itself (exit status 2)."""


class Parser(argparse.ArgumentParser):
    """argparse, with mistakes reported as one ``portsim: error:`` line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("portsim").strip()
        hint = f"portsim {command} --help" if command else "portsim --help"
        self.exit(EXIT_BAD_INPUT, f"portsim: error: {one_line(message)} (see {hint})\n")


class Version(argparse.Action):
    """``--version``: the version and which model runs, printed as is (argparse would wrap it), looked up only when
    asked (so that other commands never check the compiled build)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(f"portsim {version()}: {compiled.build().describe()}")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="portsim",
        description="Simulate an operating system's ephemeral port pool. Times in seconds, rates in connections/s.",
    )
    parser.add_argument("--version", action=Version, help="show the version and which model runs, and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a scenario and write its results folder")
    scenario_options(run, "independent replications (default: 1)")
    run.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this variant (repeatable); one variant writes results/<name>/<variant>/",
    )
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument("--quiet", action="store_true", help="no progress bar and no summary on stdout")
    port_map_options.add_options(run)
    execution_options(run, cache=False)
    limit_options(run)

    validate = sub.add_parser(
        "validate",
        help="check a scenario and print it with presets applied; or, with --kernel or --nat, compare against the "
        "live kernel",
    )
    validate.add_argument("scenario", metavar="SCENARIO", nargs="?")
    validate.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE")
    validate.add_argument(
        "--kernel",
        action="store_true",
        help="run small experiments on this Linux kernel (private network namespace) and the simulator, side by side",
    )
    validate.add_argument(
        "--nat",
        action="store_true",
        help="run the kernel's netfilter SNAT in private network namespaces (root, nftables, conntrack) and the "
        "linux-snat model, side by side",
    )
    validate.add_argument(
        "--out", metavar="DIR", help="with --kernel or --nat: where to write validation.json and validation.png"
    )
    validate.add_argument(
        "--seed", type=int, default=0, metavar="N", help="with --kernel or --nat: the simulator's seed"
    )
    limit_options(validate)

    sub.add_parser("schema", help="print the JSON Schema of scenario files")
    presets = sub.add_parser(
        "presets",
        help="list the operating-system presets (or, with --clients or --nat, the client presets or NAT kinds)",
    )
    which = presets.add_mutually_exclusive_group()
    which.add_argument(
        "--clients", action="store_true", help="list the client connection-pool presets (pool: NAME) instead"
    )
    which.add_argument("--nat", action="store_true", help="list the translator kinds (nat: {kind: NAME}) instead")
    sub.add_parser("policies", help="list the port allocation policies")

    sweep_command.add_parser(sub)
    capacity_command.add_parser(sub)
    remedies_command.add_parser(sub)
    trace_command.add_parser(sub)
    port_command.add_parser(sub)
    host_command.add_parser(sub)

    plot = sub.add_parser("plot", help="redraw the plots of an existing results folder")
    plot.add_argument("folder", metavar="DIR")
    return parser


def _default_out(scenario: Scenario) -> Path:
    """results/<name>/, or results/<name>/<variant>/ for one variant (its own scenario.yaml run again too)."""
    base = Path("results") / scenario.name
    return base / scenario.variant_name if scenario.variant_name else base


def _cmd_run(args: argparse.Namespace) -> int:
    check_scenario_options(args, (1, MAX_REPLICATIONS))
    scenario = resolve(args.scenario, args.seed, args.replications, args.overrides)
    default_out = _default_out(scenario)
    if args.variant:
        chosen = list(dict.fromkeys(args.variant))
        if len(chosen) == 1:
            scenario = scenario.variant(chosen[0], args.overrides)
            default_out = _default_out(scenario)
        else:
            scenario = only_variants(scenario, chosen)
    out = Path(args.out) if args.out is not None else default_out
    runs = scenario.expand(args.overrides)
    executor = Executor(args.workers, args.scheduler)
    executor.check()
    check(runs, limits(args), args.scenario, CLI_HINTS)
    port_map = port_map_options.spec(args, runs.values())
    check_replaceable(out, allowed=[v.name for v in scenario.variants])
    total = sum(r.duration * r.replications for r in runs.values())
    needed = sum(output_bytes(r, port_map_options.cells(port_map, r)) for r in runs.values())
    failed: list[str] = []
    forced = Limits(force=True)  # checked above, over every variant
    with staged_folder(
        out, allowed=[v.name for v in scenario.variants], needed=needed, keep=_kept(out), owns=run_owns
    ) as tmp:
        # warnings only once the output place is known to work: a refused run prints one line
        _warn_masked_preset(scenario, args.overrides)
        if scenario.sweep:
            print(
                "portsim: warning: the file has a sweep: section; portsim run runs the scenario as written "
                "(portsim sweep runs the grid)",
                file=sys.stderr,
            )
        for name, variant in runs.items():
            _warn(variant, name if scenario.variants else None)
        port_map_options.warn(port_map)
        show = not args.quiet and sys.stderr.isatty()
        progress, stop = progress_bar(total) if show else (None, lambda: None)
        try:
            if scenario.variants:
                results = run_variants(
                    scenario,
                    overrides=args.overrides,
                    progress=progress,
                    limits=forced,
                    workers=executor.workers,
                    scheduler=executor.scheduler,
                    port_map=port_map,
                )
            else:
                result = run_scenario(
                    scenario,
                    progress=progress,
                    limits=forced,
                    workers=executor.workers,
                    scheduler=executor.scheduler,
                    port_map=port_map,
                )
        finally:
            stop()
        if scenario.variants:
            write_comparison(results, tmp, not args.no_plots, failed)
        else:
            write_into(result, tmp, not args.no_plots, failed)
    if port_map is not None and not args.no_plots:
        port_map_options.note_video()
    if not args.quiet:
        print(comparison_text(results, out) if scenario.variants else summary_text(result, out))
    if failed:
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise PlotError(f"{out}: data written, but plot {failed[0]}{more}")
    return EXIT_OK


def _kept(out: Path) -> list[str]:
    """Variant folders of an earlier run in ``out``: kept when this run does not write them."""
    from ..output.folders import is_results_folder

    try:
        return [p.name for p in out.iterdir() if p.is_dir() and is_results_folder(p)] if out.is_dir() else []
    except OSError:
        return []


def _warn_masked_preset(scenario: Scenario, overrides: list[str]) -> None:
    """Warn when --set host.preset cannot change keys that the file writes out itself."""
    if not any(o.partition("=")[0].strip() == "host.preset" for o in overrides):
        return
    pinned = sorted(set(scenario.host.given()) - {"preset", "source_addresses", "reserved_ports"})
    if pinned:
        print(
            f"portsim: warning: --set host.preset: the scenario file sets host {', '.join(pinned)} itself; "
            "those keep their values (add --set host.KEY=null to take them from the preset)",
            file=sys.stderr,
        )


def _warn(scenario: Scenario, variant: str | None = None) -> None:
    where = f"variant {variant}: " if variant else ""
    for note in scenario.warnings():
        print(f"portsim: warning: {where}{note}", file=sys.stderr)


def _cmd_validate(args: argparse.Namespace) -> int:
    if args.kernel and args.nat:
        raise BadInputError("validate: give --kernel or --nat, not both")
    if args.kernel:
        return _validate_kernel(args)
    if args.nat:
        return _validate_nat(args)
    if args.scenario is None:
        raise BadInputError("validate: give a SCENARIO file, or --kernel, or --nat")
    scenario = resolve(args.scenario, overrides=args.overrides)
    runs = scenario.expand(args.overrides)
    cost = check(runs, limits(args), args.scenario, CLI_HINTS)
    _warn_masked_preset(scenario, args.overrides)
    for name, variant in runs.items():
        _warn(variant, name if scenario.variants else None)
    print(f"# {args.scenario}: valid. Resolved scenario (presets applied):")
    print(
        f"# estimated: {cost.attempts:,.0f} connection attempts, {cost.memory / (1 << 20):,.0f} MiB "
        f"per replication (limits {args.max_attempts:,.0f} and {args.max_memory / (1 << 20):,.0f} MiB)"
    )
    print(scenario.to_yaml(), end="")
    return EXIT_OK


def _print_checks(checks: Sequence[Any], out: Path) -> int:
    """A row per law (kernel, portsim, tolerance) and the tally; the exit status."""
    for c in checks:
        print(f"{'PASS' if c.passed else 'FAIL'}  {c.name}")
        print(f"      kernel:    {c.kernel}")
        print(f"      portsim:   {c.simulator}")
        print(f"      tolerance: {c.tolerance}")
    passed = sum(c.passed for c in checks)
    print(f"{passed}/{len(checks)} checks pass; details in {out}/validation.json and {out}/validation.png")
    return EXIT_OK if passed == len(checks) else EXIT_FAILURE


def _validate_kernel(args: argparse.Namespace) -> int:
    from ..kernel.measure import kernel_support
    from ..kernel.validation import run as run_validation

    reason = kernel_support()
    if reason is not None:
        raise BadInputError(f"validate --kernel: cannot measure the kernel here: {reason}")
    out = Path(args.out) if args.out is not None else Path("results") / "kernel-validation"
    check_replaceable(out)
    checks, data = run_validation(out, seed=args.seed)
    kernel = data["kernel"].get("meta", {}).get("kernel", "?")
    print(f"portsim {version()} 'linux' preset against Linux {kernel} (private network namespace, loopback)")
    return _print_checks(checks, out)


def _validate_nat(args: argparse.Namespace) -> int:
    from ..kernel.nat_probe import nat_support
    from ..kernel.nat_validation import run as run_nat_validation

    reason = nat_support()
    if reason is not None:
        raise BadInputError(f"validate --nat: cannot run netfilter here: {reason}")
    out = Path(args.out) if args.out is not None else Path("results") / "nat-validation"
    check_replaceable(out)
    checks, data = run_nat_validation(out, seed=args.seed)
    meta = data["kernel"].get("meta", {})
    print(
        f"portsim {version()} 'linux-snat' model against netfilter on Linux {meta.get('kernel', '?')} "
        f"({meta.get('nft', 'nft')}; snat in private network namespaces, {meta.get('elapsed_s', '?')} s)"
    )
    return _print_checks(checks, out)


def _cmd_presets(args: argparse.Namespace) -> int:
    if args.clients:
        print(client_presets_text())
        return EXIT_OK
    if args.nat:
        print(nat_kinds_text())
        return EXIT_OK
    for p in PRESETS.values():
        low, high = p.port_range
        policy = p.policy if isinstance(p.policy, str) else ", ".join(f"{k}={v}" for k, v in p.policy.items())
        reuse = {0: "off", 1: "on", 2: "loopback only"}[p.tw_reuse]
        print(f"{p.name}")
        print(f"  range       {low}-{high} ({p.size:,} ports)")
        print(f"  algorithm   {p.algorithm}  [policy: {policy}]")
        print(f"  TIME_WAIT   {p.time_wait:g} s; tw_reuse {reuse}; max_tw_buckets {p.max_tw_buckets}")
        sharing = "4-tuple: a port is shared across destinations" if p.sharing == "per_destination" else "none"
        print(f"  sharing     {sharing}")
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
    from ..output.plots import comparison, save_all
    from ..output.results import load_comparison, load_result

    folder = Path(args.folder)
    failed: list[str] = []
    drawn = _experiment_plots(folder, failed)
    if (folder / "comparison.json").is_file():
        results = load_comparison(folder)
        for name, result in results.items():
            written, errors = save_all(result, folder / name / "plots")
            failed.extend(f"{name}/{e}" for e in errors)
            drawn += written
        comparison(results).savefig(folder / "comparison.png")
        drawn.append(folder / "comparison.png")
    elif (folder / "summary.json").is_file() or not drawn:
        written, errors = save_all(load_result(folder), folder / "plots")
        failed += errors
        drawn += written
    for path in drawn:
        print(path)
    if any(path.name == "port_map.gif" for path in drawn):
        port_map_options.note_video()
    if failed:
        raise PlotError(f"{folder}: plot {failed[0]}")
    return EXIT_OK


def _experiment_plots(folder: Path, failed: list[str]) -> list[Path]:
    """Redraw sweep.png, capacity.png and remedies.png from their JSON files, where the folder has them."""
    drawn: list[Path] = []
    if (folder / "sweep.json").is_file():
        from ..output.sweep import load_sweep_points
        from ..output.sweep_plot import sweep_figure

        _draw(lambda: sweep_figure(load_sweep_points(folder)), folder / "sweep.png", drawn, failed)
    if (folder / "capacity.json").is_file():
        from ..output.capacity import load_capacity
        from ..output.capacity_plot import capacity_figure

        reports = load_capacity(folder)
        _draw(lambda: capacity_figure([r.to_json() for r in reports.values()]), folder / "capacity.png", drawn, failed)
    if (folder / "remedies.json").is_file():
        from ..output.remedies import load_remedies
        from ..output.remedies_plot import remedies_figure

        report = load_remedies(folder)
        _draw(lambda: remedies_figure(report.to_json()), folder / "remedies.png", drawn, failed)
    return drawn


def _draw(figure: Callable[[], Any], path: Path, drawn: list[Path], failed: list[str]) -> None:
    try:
        figure().savefig(path)
    except (ResultsError, ScenarioError):
        raise
    except Exception as exc:  # one plot that fails is reported in one line, the others drawn
        failed.append(f"{path.name}: {type(exc).__name__}: {exc}")
        return
    drawn.append(path)


COMMANDS = {
    "run": _cmd_run,
    "validate": _cmd_validate,
    "presets": _cmd_presets,
    "policies": _cmd_policies,
    "schema": _cmd_schema,
    "plot": _cmd_plot,
    "sweep": sweep_command.run,
    "capacity": capacity_command.run,
    "remedies": remedies_command.run,
    "trace": trace_command.run,
    "port": port_command.run,
    "host": host_command.run,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``portsim`` and ``python -m sim``."""
    args = _parser().parse_args(argv)
    debug = bool(os.environ.get("PORTSIM_DEBUG"))
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        return COMMANDS[args.command](args)
    except (ScenarioError, ResultsError, BadInputError) as exc:
        _error(str(exc))
        return EXIT_BAD_INPUT
    except PlotError as exc:
        _error(str(exc))
        return EXIT_FAILURE
    except BrokenPipeError:
        # the reader went away (portsim schema | head): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("portsim: interrupted; any previous results folder was left as it was", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("portsim: terminated; any previous results folder was left as it was", file=sys.stderr)
        return EXIT_TERMINATED
    except Exception as exc:
        if debug:
            raise
        _error(f"{type(exc).__name__}: {exc}")
        return EXIT_FAILURE
    finally:
        signal.signal(signal.SIGTERM, previous)


def _error(message: str) -> None:
    print(f"portsim: error: {one_line(message)}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
