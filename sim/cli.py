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

from .experiment import Progress, compare_summaries, resolve, run_variants
from .experiment import run as run_scenario
from .model import version
from .policies import POLICIES
from .presets import PRESETS
from .results import ResultsError, RunResult, check_replaceable, save_comparison
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
    run.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this variant (repeatable); one variant writes results/<name>/<variant>/",
    )
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument("--quiet", action="store_true", help="no progress bar and no summary on stdout")

    validate = sub.add_parser(
        "validate",
        help="check a scenario and print it with presets applied; or, with --kernel, compare against the live kernel",
    )
    validate.add_argument("scenario", metavar="SCENARIO", nargs="?")
    validate.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE")
    validate.add_argument(
        "--kernel",
        action="store_true",
        help="run small experiments on this Linux kernel (private network namespace) and the simulator, side by side",
    )
    validate.add_argument(
        "--out", metavar="DIR", help="with --kernel: where to write validation.json and validation.png"
    )
    validate.add_argument("--seed", type=int, default=0, metavar="N", help="with --kernel: the simulator's seed")

    sub.add_parser("schema", help="print the JSON Schema of scenario files")
    sub.add_parser("presets", help="list the operating-system presets and what each sets")
    sub.add_parser("policies", help="list the port allocation policies")

    plot = sub.add_parser("plot", help="redraw the plots of an existing results folder")
    plot.add_argument("folder", metavar="DIR")
    return parser


def _progress_bar(total: float) -> tuple[Progress, Any]:
    """A progress callback that shows a bar on a terminal once a run has lasted about a second."""
    from rich.console import Console
    from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress

    started = time.perf_counter()
    duration_label = f"{total:,.0f} s"
    state: dict[str, Any] = {"bar": None, "task": None}

    def update(fraction: float, attempts: int) -> None:
        elapsed = time.perf_counter() - started
        if state["bar"] is None:
            if elapsed < 1.0:
                return
            bar = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("simulated {task.fields[simulated]} of " + duration_label),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task("simulating", total=1.0, rate="", simulated="")
        rate = f"{attempts / elapsed:,.0f} conn/s" if elapsed > 0 else ""
        state["bar"].update(state["task"], completed=fraction, rate=rate, simulated=f"{fraction * total:,.0f}")

    def stop() -> None:
        if state["bar"] is not None:
            state["bar"].stop()

    return update, stop


def _default_out(scenario: Scenario) -> Path:
    return Path("results") / scenario.name


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != 0 and abs(value) < 1e-9:
            return "< 1e-9"
        return f"{value:.4g}"
    return str(value)


def _rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.3g}"


def _erlang(eb: dict[str, Any]) -> str:
    if eb["applicable"]:
        return f"Erlang B: {_fmt(eb['blocking_probability'])}"
    reason = str(eb["note"]).removeprefix("approximate: ").split(";")[0]
    return f"Erlang B: n/a ({reason})"


def _print_summary(result: RunResult, out: Path) -> None:
    s = result.summary
    reps = s.get("replications")
    first = s["first_failure_time_s"]
    lines = [
        f"portsim {s['version']}: {s['scenario']} ({s['sim_time_s']:g} s simulated, seed {result.scenario.seed}"
        + (f", means over {reps} replications" if reps else "")
        + (f", measured from {s['measured_from_s']:g} s" if s["measured_from_s"] else "")
        + ")",
        f"  attempts             {s['attempts']:,.0f}",
        f"  failures             {s['failures']:,.0f}" + (f"  (first at {first:.2f} s)" if first is not None else ""),
        f"  blocking probability {_fmt(s['blocking_probability'])}   {_erlang(s['erlang_b'])}",
        f"  ports in use         peak {s['ports_in_use']['peak']:,.0f} of {s['pool']['total_ports']:,}, "
        f"mean {s['ports_in_use']['mean']:,.1f}",
        f"  TIME_WAIT            peak {s['time_wait']['peak']:,.0f}, mean {s['time_wait']['mean']:,.1f}"
        + (f", {s['time_wait']['recycled']:,.0f} taken over by tw_reuse" if s["time_wait"]["recycled"] else "")
        + (
            f", {s['time_wait']['overflow']:,.0f} closes skipped TIME_WAIT/FIN_WAIT2 (max_tw_buckets)"
            if s["time_wait"]["overflow"]
            else ""
        ),
    ]
    if s["fin_wait2"]["peak"]:
        lines.append(f"  FIN_WAIT2            peak {s['fin_wait2']['peak']:,.0f}, mean {s['fin_wait2']['mean']:,.1f}")
    lines.append(
        f"  connect() cost       {_fmt(s['probes']['mean'])} ports examined on average "
        f"(p99 {_fmt(s['probes']['p99'])}), about {_fmt(s['connect_latency_us']['mean'])} µs"
    )
    for key, cap in list(s["capacity_at_1pct_blocking"].items())[:4]:
        lines.append(
            f"  capacity             {cap['sustainable_rate']:,.0f} conn/s to {key} at 1% blocking "
            f"(offered {_rate(cap['offered_rate'])}; {cap['ports']:,.0f} ports x {cap['source_addresses']:.0f} "
            f"address(es), each held {cap['mean_hold_s']:.3g} s"
            + (f"; ignores {cap['ignores']}" if cap.get("ignores") else "")
            + ")"
        )
    if len(s["workloads"]) > 1:
        for name, w in s["workloads"].items():
            lines.append(
                f"  workload {name:<12} {w['attempts']:,.0f} attempts, {w['failures']:,.0f} failed "
                f"({w['errno']}), blocking {_fmt(w['blocking_probability'])}"
            )
    lines.append(f"  results              {out}/")
    print("\n".join(lines))


def _cmd_run(args: argparse.Namespace) -> int:
    if args.replications is not None and args.replications < 1:
        raise BadInputError(f"--replications {args.replications}: must be at least 1")
    if args.seed is not None and args.seed < 0:
        raise BadInputError(f"--seed {args.seed}: must be zero or positive")
    if args.out is not None and not args.out.strip():
        raise BadInputError("--out: the results folder path is empty")
    scenario = resolve(args.scenario, args.seed, args.replications, args.overrides)
    default_out = _default_out(scenario)
    if args.variant:
        chosen = list(dict.fromkeys(args.variant))
        for name in chosen:
            scenario.variant(name)  # a clear error for an unknown name
        if len(chosen) == 1:
            scenario = scenario.variant(chosen[0], args.overrides)
            default_out = default_out / chosen[0]
        else:
            kept = [v.model_dump() for v in scenario.variants if v.name in chosen]
            scenario = scenario.with_changes(variants=kept)
    out = Path(args.out) if args.out is not None else default_out
    check_replaceable(out, allowed=[v.name for v in scenario.variants])
    _warn_masked_preset(scenario, args.overrides)
    for variant in scenario.expand(args.overrides).values():
        _warn(variant)
    show = not args.quiet and sys.stderr.isatty()
    total = scenario.duration * scenario.replications * max(1, len(scenario.variants))
    progress, stop = _progress_bar(total) if show else (None, lambda: None)
    try:
        if scenario.variants:
            results = run_variants(scenario, overrides=args.overrides, progress=progress)
        else:
            result = run_scenario(scenario, progress=progress)
    finally:
        stop()
    if scenario.variants:
        save_comparison(results, out, plots=not args.no_plots)
        if not args.quiet:
            _print_comparison(results, out)
    else:
        result.save(out, plots=not args.no_plots)
        if not args.quiet:
            _print_summary(result, out)
    return EXIT_OK


def _print_comparison(results: dict[str, RunResult], out: Path) -> None:
    first = next(iter(results.values()))
    print(f"portsim {first.summary['version']}: {first.scenario.name}, {len(results)} variants")
    table = compare_summaries(results)
    width = max(len(n) for n in table)
    print(
        f"  {'variant':<{width}}  {'attempts':>10} {'failures':>9} {'blocking':>9} {'Erlang B':>9} "
        f"{'TIME_WAIT':>9} {'pool':>7}  host"
    )
    for name, row in table.items():
        print(
            f"  {name:<{width}}  {row['attempts']:>10,.0f} {row['failures']:>9,.0f} "
            f"{_fmt(row['blocking_probability']):>9} {_fmt(row['erlang_b']):>9} "
            f"{row['time_wait_mean']:>9,.0f} {row['pool_size']:>7,}  "
            f"preset {row['preset']}, policy {row['policy']}, TIME_WAIT {row['time_wait_s']:g} s"
        )
    print(f"  results              {out}/ (one folder per variant, comparison.json, comparison.png)")


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


def _warn(scenario: Scenario) -> None:
    for note in scenario.warnings():
        print(f"portsim: warning: {note}", file=sys.stderr)


def _cmd_validate(args: argparse.Namespace) -> int:
    if args.kernel:
        return _validate_kernel(args)
    if args.scenario is None:
        raise BadInputError("validate: give a SCENARIO file, or --kernel")
    scenario = resolve(args.scenario, overrides=args.overrides)
    _warn(scenario)
    print(f"# {args.scenario}: valid. Resolved scenario (presets applied):")
    print(scenario.to_yaml(), end="")
    return EXIT_OK


def _validate_kernel(args: argparse.Namespace) -> int:
    from .kernel import kernel_support
    from .validation import run as run_validation

    reason = kernel_support()
    if reason is not None:
        raise BadInputError(f"validate --kernel: cannot measure the kernel here: {reason}")
    out = Path(args.out) if args.out is not None else Path("results") / "kernel-validation"
    check_replaceable(out)
    checks, data = run_validation(out, seed=args.seed)
    kernel = data["kernel"].get("meta", {}).get("kernel", "?")
    print(f"portsim {version()} 'linux' preset against Linux {kernel} (private network namespace, loopback)")
    for c in checks:
        print(f"{'PASS' if c.passed else 'FAIL'}  {c.name}")
        print(f"      kernel:    {c.kernel}")
        print(f"      portsim:   {c.simulator}")
        print(f"      tolerance: {c.tolerance}")
    passed = sum(c.passed for c in checks)
    print(f"{passed}/{len(checks)} checks pass; details in {out}/validation.json and {out}/validation.png")
    return EXIT_OK if passed == len(checks) else EXIT_FAILURE


def _cmd_presets(_: argparse.Namespace) -> int:
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
    from .plots import comparison, save_all
    from .results import load_result

    folder = Path(args.folder)
    if (folder / "comparison.json").is_file():
        names = json.loads((folder / "comparison.json").read_text(encoding="utf-8"))
        results = {name: load_result(folder / name) for name in names}
        for name, result in results.items():
            for path in save_all(result, folder / name / "plots"):
                print(path)
        comparison(results).savefig(folder / "comparison.png")
        print(folder / "comparison.png")
        return EXIT_OK
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
    except (ScenarioError, ResultsError, BadInputError) as exc:
        print(f"portsim: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # the reader went away (portsim schema | head): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
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
