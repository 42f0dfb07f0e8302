"""Command-line options shared by several commands: limits, and where tasks run."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence

from ..config.errors import ScenarioError
from ..config.limits import MAX_ATTEMPTS, MAX_MEMORY, Limits
from ..config.scenario import Scenario


def _size(text: str) -> float:
    """Bytes from ``800M``, ``2G``, ``1.5GiB`` or a plain number."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 800M, 2G)")
    scale = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[match[2].upper()]
    return float(match[1]) * scale


def _count(text: str) -> float:
    """A count from ``1e8`` or ``100000000``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be positive")
    return value


def limit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-attempts",
        type=_count,
        default=MAX_ATTEMPTS,
        metavar="N",
        help=f"refuse jobs expected to make more connection attempts (default {MAX_ATTEMPTS:.0e})",
    )
    parser.add_argument(
        "--max-memory",
        type=_size,
        default=MAX_MEMORY,
        metavar="SIZE",
        help=f"refuse runs expected to need more memory (default {MAX_MEMORY / (1 << 30):g}G)",
    )
    parser.add_argument("--force", action="store_true", help="run even above --max-attempts and --max-memory")


def limits(args: argparse.Namespace) -> Limits:
    return Limits(attempts=args.max_attempts, memory=args.max_memory, force=args.force)


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 1024:
        raise argparse.ArgumentTypeError(f"{text}: must be between 1 and 1024")
    return value


def execution_options(parser: argparse.ArgumentParser, cache: bool = True) -> None:
    """--workers, --scheduler and (for commands with a task cache) --fresh."""
    parser.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="local worker processes (default: the machine's cores; 1 runs in this process)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the tasks on a Dask cluster, e.g. tcp://10.0.0.2:8786 (needs pip install 'portsim[dask]')",
    )
    if cache:
        parser.add_argument(
            "--fresh", action="store_true", help="run every task again, ignoring the task cache in the results folder"
        )


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


def scenario_options(parser: argparse.ArgumentParser, replications: str) -> None:
    """SCENARIO, --out, --seed, --set and --replications (``replications``: its help)."""
    parser.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    parser.add_argument("--out", metavar="DIR", help="results folder (default: results/<scenario name>)")
    parser.add_argument("--seed", type=int, metavar="N", help="random seed (overrides the file's seed)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override one scenario value, e.g. --set host.time_wait=30 (repeatable)",
    )
    parser.add_argument("--replications", type=int, metavar="N", help=replications)


def search_options(parser: argparse.ArgumentParser) -> None:
    """--target, --workload and --destination of the capacity searches."""
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


def check_scenario_options(args: argparse.Namespace, replications: tuple[int, int]) -> None:
    """Refuse a --replications outside ``replications`` (inclusive), a negative --seed and an empty --out."""
    low, high = replications
    if args.replications is not None and not low <= args.replications <= high:
        raise ScenarioError(f"--replications {args.replications}: must be between {low} and {high}")
    if args.seed is not None and args.seed < 0:
        raise ScenarioError(f"--seed {args.seed}: must be zero or positive")
    if args.out is not None and not args.out.strip():
        raise ScenarioError("--out: the results folder path is empty")


def warn_scenarios(scenarios: Iterable[Scenario]) -> None:
    """Print each scenario's warnings (``Scenario.warnings``) on stderr, one line each, naming its variant."""
    for scenario in scenarios:
        where = f"variant {scenario.variant_name}: " if scenario.variant_name else ""
        for note in scenario.warnings():
            print(f"portsim: warning: {where}{note}", file=sys.stderr)


def only_variants(scenario: Scenario, names: Sequence[str]) -> Scenario:
    """The scenario with only the named variants (``--variant`` repeated); a clear error for an unknown name."""
    chosen = list(dict.fromkeys(names))
    for name in chosen:
        scenario.variant(name)
    kept = [v.model_dump() for v in scenario.variants if v.name in chosen]
    return scenario.with_changes(source="--variant", variants=kept)
