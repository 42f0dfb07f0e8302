"""A portsim scenario of this machine: its range, reserved ports and TIME_WAIT rules as read, and workloads
estimated from two snapshots, with a comment saying what was estimated and how."""

from __future__ import annotations

import json
import re
import textwrap

from ..config.presets import PRESETS
from ..config.scenario import Scenario, validate
from ..config.yamlio import parse
from .estimate import WorkloadEstimate
from .settings import MachineSettings

DURATION = 600.0
"""Seconds simulated at least."""
MAX_ATTEMPTS = 2e7
"""The run is shortened (down to two warm-ups) so that it expects at most this many connection attempts."""


class NothingToModelError(ValueError):
    """No destination had new connections or TIME_WAIT sockets: no workload can be estimated."""


def scenario_text(
    settings: MachineSettings,
    preset: str,
    preset_reason: str,
    estimates: list[WorkloadEstimate],
    interval: float,
    hostname: str,
    written_at: str,
) -> str:
    """The scenario file (YAML with comments), validated; NothingToModelError when no workload has a rate."""
    workloads = [e for e in estimates if e.rate > 0]
    if not workloads:
        held = (
            f"; {len(estimates)} destination(s) held only long-lived connections" if estimates else "; none had sockets"
        )
        raise NothingToModelError(
            f"no destination had new connections or TIME_WAIT sockets in {interval:.3g} s{held}: "
            "nothing to estimate a workload from (try a longer --sample)"
        )
    time_wait = settings.time_wait.value if settings.time_wait.value is not None else PRESETS[preset].time_wait
    longest = max(e.mean_duration for e in workloads)
    warmup = float(round(min(max(2 * (time_wait + longest), 60.0), 3600.0)))
    duration = float(round(max(DURATION, 5 * warmup)))
    total_rate = sum(e.rate for e in workloads)
    if total_rate * duration > MAX_ATTEMPTS:
        duration = float(round(max(2 * warmup, MAX_ATTEMPTS / total_rate)))
    lines = _header(settings, preset, preset_reason, interval, hostname, written_at, estimates, time_wait)
    lines += [
        f"name: {_name(f'host-{hostname}')}",
        f"description: {json.dumps(f'This host ({hostname}) as sampled by portsim host on {written_at}.')}",
        f"duration: {_decimal(duration)}",
        "seed: 1",
        f"warmup: {_decimal(warmup)}             # the pool starts empty",
        "host:",
        *_host_lines(settings, preset),
        "workloads:",
    ]
    for i, e in enumerate(workloads):
        lines += [
            f"  - name: {_name(f'd{i + 1}-{e.destination}')}"
            f"     # {e.ports} port(s) held when sampled: {e.open} open, {e.time_wait} TIME_WAIT; {_how(e, interval)}",
            f"    arrivals: {{kind: poisson, rate: {_decimal(e.rate)}}}",
            f"    duration: {{kind: exponential, mean: {_decimal(e.mean_duration)}}}",
            f"    close: {e.close}",
            "    destinations:",
            f"      - {{address: {json.dumps(e.destination.address)}, port: {e.destination.port}}}",
        ]
    text = "\n".join(lines) + "\n"
    check(text)
    return text


def check(text: str, source: str = "<host scenario>") -> Scenario:
    """The scenario ``text`` describes (ScenarioError if portsim would refuse it)."""
    raw, lines = parse(text, source)
    return validate(raw, source, lines)


def _header(
    settings: MachineSettings,
    preset: str,
    preset_reason: str,
    interval: float,
    hostname: str,
    written_at: str,
    estimates: list[WorkloadEstimate],
    time_wait: float,
) -> list[str]:
    read = [
        name
        for name, s in (
            ("ephemeral range", settings.port_range),
            ("reserved ports", settings.reserved),
            ("tcp_tw_reuse", settings.tw_reuse),
            ("tcp_timestamps", settings.timestamps),
            ("tcp_fin_timeout", settings.fin_timeout),
            ("tcp_max_tw_buckets", settings.max_tw_buckets),
            ("TIME_WAIT length", settings.time_wait),
        )
        if s.value is not None
    ]
    left = [e for e in estimates if e.rate == 0]
    every = f"{interval:.3g} s"
    lines = _comment(
        f"This host ({hostname}), written by `portsim host --scenario` on {written_at}. Read from this machine: "
        f"{', '.join(read) or 'nothing'}; the rest comes from the preset {preset!r}, the closest to it "
        f"({preset_reason})."
    )
    lines += _comment(
        f"Estimated, crudely, from two snapshots of its TCP sockets {every} apart, per destination (among the "
        "connections this host opened: local port in the range and not listening):"
    )
    lines += [
        f"#   rate      new 4-tuples toward it in the second snapshot / {every} (one opened and closed in",
        "#             between still shows in TIME_WAIT when this host closed it); with none new, its",
        f"#             TIME_WAIT sockets / {time_wait:g} s (the close rate over the last TIME_WAIT length).",
        "#             Connections the peer closed between the snapshots leave no trace: a lower bound.",
        "#   duration  its open connections / rate (Little's law); exponential (the distribution is a guess)",
        "#   close     client when TIME_WAIT or FIN_WAIT sockets toward it were seen, else server",
        "#   arrivals  Poisson (two snapshots cannot show burstiness); bind: false (a plain connect())",
    ]
    if left:
        shown = ", ".join(f"{e.destination} ({e.ports})" for e in left[:5])
        more = f" and {len(left) - 5} more" if len(left) > 5 else ""
        lines += _comment(f"Left out, long-lived connections only (ports held): {shown}{more}.")
    return lines


def _comment(text: str) -> list[str]:
    """``text`` as YAML comment lines of at most 110 characters."""
    return ["# " + line for line in textwrap.wrap(text, 108, break_long_words=False, break_on_hyphens=False)]


def _host_lines(settings: MachineSettings, preset: str) -> list[str]:
    lines = [f"  preset: {preset}"]
    if settings.port_range.value is not None:
        low, high = settings.port_range.value
        lines.append(f"  port_range: [{low}, {high}]")
    if settings.reserved.value:
        lines.append(f"  reserved_ports: {json.dumps(settings.reserved.value)}")
    if settings.time_wait.value is not None:
        lines.append(f"  time_wait: {_decimal(settings.time_wait.value)}")
    if settings.tw_reuse.value is not None:
        lines.append(f"  tw_reuse: {settings.tw_reuse.value}")
    if settings.timestamps.value is not None:
        lines.append(f"  timestamps: {'true' if settings.timestamps.value else 'false'}")
    if settings.fin_timeout.value is not None:
        lines.append(f"  fin_timeout: {_decimal(settings.fin_timeout.value)}")
    if settings.max_tw_buckets.value is not None:
        lines.append(f"  max_tw_buckets: {settings.max_tw_buckets.value}")
    return lines


def _how(e: WorkloadEstimate, interval: float) -> str:
    if e.rate_from == "new":
        return f"{e.new} new in {interval:.3g} s"
    return "rate from its TIME_WAIT count"


def _name(text: str) -> str:
    """A scenario or workload name (letters, digits, '.', '_', '-'; at most 64) from free text."""
    flat = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._") or "host"
    return flat[:64].rstrip("-._") or "host"


def _decimal(value: float) -> str:
    """A number in 4 significant digits, written without an exponent (YAML 1.1 reads 1e+03 as text)."""
    rounded = float(f"{value:.4g}")
    if rounded == int(rounded):
        return str(int(rounded))
    return f"{rounded:.12f}".rstrip("0").rstrip(".")
