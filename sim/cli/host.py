"""``portsim host``: this machine's ephemeral range, TIME_WAIT settings, sockets per state and the destinations
holding the most ports; ``--scenario FILE`` writes a scenario of it, estimated from two snapshots."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.errors import ScenarioError, shown
from .files import write_atomic

if TYPE_CHECKING:
    from ..machine.host import HostReport

WIDTH = 110
"""Columns the text is wrapped at."""
SAMPLE_S = 5.0
MAX_SAMPLE_S = 3600.0
MAX_TOP = 1000
EXIT_NOTHING = 1


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a number of seconds") from None
    if not 0 < value <= MAX_SAMPLE_S:
        raise argparse.ArgumentTypeError(f"{shown(text)}: give seconds above 0 and at most {MAX_SAMPLE_S:g}")
    return value


def _top(text: str) -> int:
    if not text.strip().isdigit() or not 1 <= int(text) <= MAX_TOP:
        raise argparse.ArgumentTypeError(f"{shown(text)}: give a whole number from 1 to {MAX_TOP}")
    return int(text)


def add_parser(sub: Any) -> None:
    """The ``host`` command's options."""
    parser = sub.add_parser(
        "host",
        help="this machine's ephemeral range, TIME_WAIT settings, sockets per state and busiest destinations",
        description="This machine's ephemeral port range, reserved ports and TIME_WAIT settings (read from "
        "/proc/sys or sysctl), its TCP sockets per state, the destinations holding the most local ports and the "
        "headroom toward each; --scenario writes a portsim scenario of this host.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--top", type=_top, default=10, metavar="N", help="destinations listed (default 10)")
    parser.add_argument(
        "--scenario",
        metavar="FILE",
        help="write a scenario YAML of this host, its workloads estimated from two snapshots --sample apart",
    )
    parser.add_argument(
        "--sample",
        type=_seconds,
        metavar="SECONDS",
        help=f"with --scenario: seconds between the two snapshots (default {SAMPLE_S:g})",
    )
    parser.add_argument("--overwrite", action="store_true", help="with --scenario: replace FILE if it exists")


def run(args: argparse.Namespace) -> int:
    """Run ``portsim host``; returns the exit status."""
    from ..machine.host import host_report
    from ..machine.settings import read_settings
    from ..machine.sockets import take_snapshot

    if args.scenario is None and (args.sample is not None or args.overwrite):
        raise ScenarioError(f"host: {'--sample' if args.sample is not None else '--overwrite'} needs --scenario FILE")
    out = Path(args.scenario) if args.scenario is not None else None
    if out is not None:
        _check_writable(out, args.overwrite)
    settings = read_settings()
    first = take_snapshot(settings.root)
    scenario: dict[str, Any] | None = None
    if out is None:
        report = host_report(settings, first, args.top)
    else:
        interval = args.sample if args.sample is not None else SAMPLE_S
        if sys.stderr.isatty():
            print(f"portsim host: sampling this host's sockets for {interval:g} s ...", file=sys.stderr)
        time.sleep(max(0.0, first.time + interval - time.monotonic()))
        second = take_snapshot(settings.root)
        report = host_report(settings, second, args.top)
        scenario = _write_scenario(out, settings, report, first, second, args.top)
        if scenario is None:
            if not args.json:
                print(host_text(report))
            return EXIT_NOTHING
    if args.json:
        data = report.to_json()
        if scenario is not None:
            data["scenario"] = scenario
        print(json.dumps(data, indent=2))
    else:
        print(host_text(report))
        if scenario is not None:
            print(
                f"scenario      {scenario['file']}: {len(scenario['workloads'])} workload(s) estimated from two "
                f"snapshots {scenario['sample_s']:.3g} s apart (how: the comment at its top); "
                f"portsim run {scenario['file']}"
            )
    return 0


def _check_writable(out: Path, overwrite: bool) -> None:
    """Refuse, before sampling, a FILE that cannot or may not be written."""
    if out.is_dir():
        raise ScenarioError(f"{shown(str(out))}: is a directory; give the scenario file to write")
    if out.exists() and not overwrite:
        raise ScenarioError(f"{shown(str(out))}: exists; --overwrite replaces it")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise ScenarioError(f"{shown(str(out))}: no such folder {shown(str(folder))}")
    if not os.access(folder, os.W_OK):
        raise ScenarioError(f"{shown(str(out))}: cannot write in {shown(str(folder))}")


def _write_scenario(
    out: Path, settings: Any, report: HostReport, first: Any, second: Any, top: int
) -> dict[str, Any] | None:
    """Estimate, write and describe the scenario; None (after one line on stderr) when nothing can be estimated."""
    from ..machine.estimate import estimate
    from ..machine.scenario import NothingToModelError, scenario_text

    time_wait = settings.time_wait.value
    if time_wait is None:
        from ..config.presets import PRESETS

        time_wait = PRESETS[report.preset].time_wait
    estimates = estimate(first, second, settings, time_wait, top)
    written_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    try:
        text = scenario_text(
            settings,
            report.preset,
            report.preset_reason,
            estimates,
            second.time - first.time,
            socket.gethostname(),
            written_at,
        )
    except NothingToModelError as exc:
        print(f"portsim: error: host --scenario: {exc}", file=sys.stderr)
        return None
    write_atomic(out, [text])
    return {
        "file": str(out),
        "sample_s": second.time - first.time,
        "workloads": [e.to_json() for e in estimates if e.rate > 0],
        "left_out": [e.to_json() for e in estimates if e.rate == 0],
    }


def host_text(report: HostReport) -> str:
    """What ``portsim host`` prints."""
    from .port import describe_setting

    s = report.settings
    low_high = s.port_range.value
    size = s.range_size
    reserved = s.reserved_ports
    where = "/proc/sys/net/ipv4" if s.system == "Linux" else "sysctl" if s.system in ("Darwin", "FreeBSD") else "-"
    reuse = {0: "0 (off)", 1: "1 (on)", 2: "2 (loopback destinations only)"}
    tw = s.time_wait
    lines = [
        f"this machine       {s.system} {s.release}; closest preset: {report.preset} ({report.preset_reason})",
        f"  settings read from {where}",
        "  ephemeral range    "
        + describe_setting(s.port_range, f"{low_high[0]}-{low_high[1]} ({size:,} ports)" if low_high else ""),
        "  reserved ports     "
        + describe_setting(
            s.reserved,
            f"{s.reserved.value} ({len(reserved or ()):,} ports)" if s.reserved.value else "none",
        ),
        "  tcp_tw_reuse       " + describe_setting(s.tw_reuse, reuse.get(s.tw_reuse.value or 0, "?")),
        "  tcp_timestamps     " + describe_setting(s.timestamps, "on" if s.timestamps.value else "off"),
        "  tcp_fin_timeout    " + describe_setting(s.fin_timeout, f"{s.fin_timeout.value or 0:g} s"),
        "  tcp_max_tw_buckets " + describe_setting(s.max_tw_buckets, f"{s.max_tw_buckets.value or 0:,}"),
        "  TIME_WAIT          " + describe_setting(tw, f"{tw.value or 0:g} s ({tw.source})"),
    ]
    total = sum(report.states.values())
    counts = ", ".join(f"{state} {n:,}" for state, n in report.states.items())
    lines += textwrap.wrap(
        f"TCP sockets        {total:,}" + (f": {counts}" if counts else ""), WIDTH, subsequent_indent=" " * 19
    )
    lines += textwrap.wrap(
        f"outgoing           {report.outgoing:,} connection(s) this host opened, toward "
        f"{report.destination_count:,} destination(s) (local port in the range and not listening)",
        WIDTH,
        subsequent_indent=" " * 19,
    )
    if report.destinations:
        rows = [("DESTINATION", "PORTS HELD", "HEADROOM", "STATES")]
        for d in report.destinations:
            states = ", ".join(f"{k} {v:,}" for k, v in d.states.items())
            headroom = f"{d.headroom:,}" if d.headroom is not None else "unknown"
            rows.append((str(d.destination), f"{d.ports:,}", headroom, states))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for a, b, c, e in rows:
            lines.append(f"  {a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}  {e}")
        if report.destination_count > len(report.destinations):
            lines.append(f"  ... {report.destination_count - len(report.destinations):,} more (--top N)")
        lines += textwrap.wrap(_headroom_note(report), WIDTH, subsequent_indent="  ", break_on_hyphens=False)
    for line in report.limits:
        lines += textwrap.wrap(f"not visible: {line}", WIDTH, subsequent_indent="  ", break_on_hyphens=False)
    return "\n".join(lines)


def _headroom_note(report: HostReport) -> str:
    usable = report.settings.usable_ports()
    base = f"{usable:,} usable ports" if usable is not None else "the range"
    listening = f", less {report.listening_in_range:,} listening in it" if report.listening_in_range else ""
    if report.sharing == "none":
        return (
            f"headroom: {base}{listening}, less every port an outgoing connection holds: on "
            f"{report.preset} a port carries one connection whatever the destination"
        )
    return (
        f"headroom: {base}{listening}, less the ports held toward that destination (from its busiest local "
        "address): a local port is shared across destinations (4-tuples), so each destination has its own"
    )
