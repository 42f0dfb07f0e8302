"""``portsim trace --from-ss``: saved ``ss -tanH`` snapshots to a trace CSV, saying what it had to guess."""

from __future__ import annotations

import argparse
import itertools
import os
from pathlib import Path
from typing import Any

from ..config.errors import ScenarioError, shown
from ..config.snapshots import EPHEMERAL, Conversion, convert
from .files import write_atomic


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a number of seconds") from None
    if not 0 < value <= 1e6:
        raise argparse.ArgumentTypeError(f"{shown(text)}: give seconds above 0 (and at most 1e6)")
    return value


def _range(text: str) -> tuple[int, int]:
    low, dash, high = text.partition("-")
    if not (dash and low.isdigit() and high.isdigit() and 1 <= int(low) <= int(high) <= 65535):
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a port range LOW-HIGH within 1-65535")
    return int(low), int(high)


def add_parser(sub: Any) -> None:
    """The ``trace`` command's options."""
    parser = sub.add_parser(
        "trace", help="turn saved ss -tanH snapshots into a trace CSV for arrivals: {kind: trace, file: ...}"
    )
    parser.add_argument(
        "--from-ss",
        nargs="+",
        required=True,
        metavar="FILE",
        help="ss -tanH output, each snapshot after a line with its time (date +%%s.%%N); read in the order given",
    )
    parser.add_argument("-o", "--out", required=True, metavar="CSV", help="the trace to write")
    parser.add_argument(
        "--interval",
        type=_seconds,
        metavar="SECONDS",
        help="files without time lines: one snapshot each, this far apart",
    )
    parser.add_argument(
        "--ephemeral",
        type=_range,
        default=EPHEMERAL,
        metavar="LOW-HIGH",
        help="the host's ephemeral port range: connections from other local ports are left out (default 32768-60999)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace CSV if it exists")


def run(args: argparse.Namespace) -> int:
    """Run ``portsim trace``; returns the exit status."""
    out = Path(args.out)
    if out.is_dir():
        raise ScenarioError(f"{shown(str(out))}: is a directory; give the CSV file to write")
    if out.exists() and not args.overwrite:
        raise ScenarioError(f"{shown(str(out))}: exists; --overwrite replaces it")
    if any(os.path.abspath(p) == os.path.abspath(out) for p in args.from_ss):
        raise ScenarioError(f"{shown(str(out))}: is one of the snapshot files; write the trace elsewhere")
    result = convert(args.from_ss, args.interval, args.ephemeral)
    if not result.rows:
        raise ScenarioError(
            f"{shown(args.from_ss[0])}: no connection this host opened in {result.snapshots} snapshot(s) "
            f"({result.accepted} accepted on a listening port, {result.outside} from ports outside "
            f"{args.ephemeral[0]}-{args.ephemeral[1]})"
        )
    header = ["start,duration,destination,close\n"]
    rows = (f"{row.start:.6f},{row.duration:.6f},{row.destination},{row.close}\n" for row in result.rows)
    write_atomic(out, itertools.chain(header, rows), encoding="ascii")
    print(summary(result, str(out), args.ephemeral))
    return 0


def summary(result: Conversion, out: str, ephemeral: tuple[int, int]) -> str:
    """A few lines: what was written, what was guessed and how, what was left out, the destinations to list."""
    n = len(result.rows)
    gap = result.span / (result.snapshots - 1) if result.snapshots > 1 else 0.0
    listed = ", ".join(_yaml_destination(d) for d in list(result.destinations)[:4])
    more = f", … ({len(result.destinations)} in all)" if len(result.destinations) > 4 else ""
    lines = [
        f"portsim trace: {n:,} connection(s) this host opened, to {len(result.destinations)} destination(s), "
        f"from {result.snapshots} snapshot(s) over {result.span:.3f} s (every {gap:.3f} s on average) -> {out}",
        f"  time 0 is the first snapshot ({result.origin:.3f}); guessed: a start or an end between two snapshots "
        "is halfway between them",
        f"  {result.before_first:,} already open in the first snapshot (start 0), {result.still_open:,} still open "
        f"in the last (end there, close left empty), {result.seen_once:,} seen in one snapshot only, "
        f"{result.never_established:,} seen only closing (duration 0)",
        f"  close: {result.client:,} client (FIN-WAIT or TIME-WAIT seen here), {result.server - result.vanished:,} "
        f"server (CLOSE-WAIT or LAST-ACK seen), {result.vanished:,} guessed server (gone with no closing state seen)",
        f"  left out: {result.accepted:,} accepted on a listening port, {result.outside:,} from local ports outside "
        f"{ephemeral[0]}-{ephemeral[1]}, {result.opening:,} SYN-SENT/SYN-RECV lines",
        f"  replay with: arrivals: {{kind: trace, file: {out}}} and destinations: [{listed}{more}]",
    ]
    return "\n".join(lines)


def _yaml_destination(label: str) -> str:
    """``address:port`` as a destination entry of a scenario file."""
    host, _, port = label.rpartition(":")
    return f'{{address: "{host.strip("[]")}", port: {port}}}'
