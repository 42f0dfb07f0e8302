"""``portsim port PORT ...``: what a port number is, and what uses it on this machine right now."""

from __future__ import annotations

import argparse
import json
import textwrap
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..machine.port import PortReport
    from ..machine.settings import MachineSettings, Setting
    from ..machine.sockets import Socket

MAX_PORTS = 1024
"""Ports one command may ask about."""
WIDTH = 110
"""Columns the text is wrapped at."""
LABEL = 15


def _port(text: str) -> int:
    from ..machine.tiers import PortError, parse_port

    try:
        return parse_port(text)
    except PortError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub: Any) -> None:
    """The ``port`` command's options."""
    parser = sub.add_parser(
        "port",
        help="what a port number is (IANA tier, service, which ranges hold it) and what uses it here now",
        description="What a TCP port number is: its IANA tier (RFC 6335), its registered service, which presets' "
        "ephemeral ranges and whether this machine's range hold it, and which sockets use it here now "
        "(as ss -tanp would show them).",
    )
    parser.add_argument("ports", nargs="+", type=_port, metavar="PORT", help="a port number, 0-65535")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def run(args: argparse.Namespace) -> int:
    """Run ``portsim port``; returns the exit status."""
    from ..machine.port import describe_port
    from ..machine.settings import read_settings
    from ..machine.sockets import take_snapshot

    ports: list[int] = list(dict.fromkeys(args.ports))
    if len(ports) > MAX_PORTS:
        from ..config.errors import ScenarioError

        raise ScenarioError(f"port: {len(ports)} ports given; at most {MAX_PORTS} at once")
    settings = read_settings()
    snapshot = take_snapshot(settings.root)
    reports = [describe_port(p, settings, snapshot) for p in ports]
    if args.json:
        out = {"machine": settings.to_json(), "ports": [r.to_json() for r in reports], "limits": list(snapshot.limits)}
        print(json.dumps(out, indent=2))
        return 0
    blocks = [port_text(r, settings) for r in reports]
    text = "\n\n".join(blocks)
    if snapshot.limits:
        for line in snapshot.limits:
            text += "\n" + "\n".join(textwrap.wrap(f"not visible: {line}", WIDTH, subsequent_indent="  "))
    print(text)
    return 0


def port_text(report: PortReport, settings: MachineSettings) -> str:
    """The lines ``portsim port`` prints for one port."""
    from ..machine.tiers import SOURCE

    t = report.tier
    lines = [
        f"port {report.port}/tcp",
        *field("IANA tier", f"{t.name}: {t.label}, {t.low}-{t.high} ({SOURCE})"),
        *field("", t.meaning),
        *field("service", _service(report)),
        *field("presets", _presets(report)),
        *field("this machine", _machine(report, settings)),
        *field("reading", _reading(report, settings)),
    ]
    if not report.used:
        lines += field("in use here", f"nothing: no TCP socket has port {report.port} at either end")
        return "\n".join(lines)
    sockets = [*report.local, *report.remote]
    lines += field("in use here", f"{len(sockets)} TCP socket(s), as ss -tanp shows them:")
    lines.extend("    " + row for row in socket_table(sockets))
    return "\n".join(lines)


def field(label: str, text: str, width: int = WIDTH) -> list[str]:
    """``  label          text``, the text wrapped at ``width`` columns under itself."""
    indent = " " * (LABEL + 2)
    return textwrap.wrap(
        text, width, initial_indent=f"  {label:<{LABEL}}", subsequent_indent=indent, break_on_hyphens=False
    )


def socket_table(sockets: list[Socket]) -> list[str]:
    """Aligned rows: state, local and remote address, process."""
    rows = [("STATE", "LOCAL", "REMOTE", "PROCESS")]
    rows += [(s.state, str(s.local), str(s.remote) if s.remote else "*", _process(s)) for s in sockets]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}".rstrip() for a, b, c, d in rows]


def _process(s: Socket) -> str:
    from ..machine.sockets import NO_PROCESS_STATES

    if s.pid is not None:
        return f"{s.process or '?'} (pid {s.pid})"
    if s.state in NO_PROCESS_STATES:
        return f"- (none: {s.state} is kept by the kernel)"
    return "- (not visible)"


def _service(report: PortReport) -> str:
    if report.port == 0:
        return "none: port 0 is reserved; bind() or connect() from port 0 asks the OS to pick an ephemeral port"
    if report.service:
        return f"{report.service} (registered with IANA for TCP)"
    if report.tier.name == "dynamic":
        return "none: dynamic ports are never assigned"
    return "none among the registered services portsim knows (a curated table; IANA's registry lists more)"


def _presets(report: PortReport) -> str:
    from ..config.presets import PRESETS

    if not report.presets:
        return "in none of the presets' ephemeral ranges"
    if len(report.presets) == len(PRESETS):
        return f"in every preset's ephemeral range ({', '.join(report.presets)})"
    ranges = ", ".join(f"{n} {PRESETS[n].port_range[0]}-{PRESETS[n].port_range[1]}" for n in report.presets)
    return f"in the ephemeral range of {ranges}"


def describe_setting(setting: Setting[Any], shown: str) -> str:
    """``shown`` for a known value; else "unknown (why)" or "n/a (why)"."""
    if setting.value is not None:
        return shown
    if not setting.applicable:
        return f"n/a ({setting.source})"
    return f"unknown ({setting.problem or setting.source})"


def _machine(report: PortReport, settings: MachineSettings) -> str:
    r = settings.port_range
    if r.value is None:
        return f"this machine's ephemeral range is {describe_setting(r, '')}"
    where = "inside" if report.in_machine_range else "outside"
    text = f"{where} the ephemeral range {r.value[0]}-{r.value[1]} ({r.source})"
    if report.reserved:
        text += "; reserved (ip_local_reserved_ports): connect() never picks it"
    elif report.reserved is False and report.in_machine_range:
        text += "; not reserved"
    return text


def _reading(report: PortReport, settings: MachineSettings) -> str:
    """What seeing this port in ss or netstat tells you."""
    listening = [s for s in report.local if s.state == "LISTEN"]
    connected = [s for s in report.local if s.state != "LISTEN"]
    if listening:
        return "a server listens on it here: connections to it arrive from other hosts' ephemeral ports"
    if connected and report.in_machine_range:
        return (
            f"the source port of {len(connected)} outgoing connection(s): the OS picked it from the ephemeral range "
            "at connect(); each (source, destination) 4-tuple is one connection"
        )
    if report.remote and not report.local:
        return f"the destination port of {len(report.remote)} connection(s) from here: a server's port elsewhere"
    if report.port == 0:
        return "never seen on a connection"
    if report.in_machine_range:
        text = "as a local port in ss or netstat: a source port the OS picked for an outgoing connection"
        if report.tier.name != "dynamic":
            text += f"; a {report.tier.name} port too: a server listening on it competes with connect()"
        return text
    if report.tier.name == "system":
        return "a server's port: the OS never picks it for outgoing connections"
    return "outside this machine's ephemeral range: as a local port, a server's port or one bound explicitly"
