"""The host's fixes for port exhaustion: a wider range, tcp_tw_reuse, more source addresses, who closes, bind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from ..config.host import MAX_SOURCE_ADDRESSES
from ..config.scenario import Scenario
from ..config.workload import Workload
from ..core.arrivals import Trace
from ..core.host import ResolvedHost
from .fix import Fix, NotApplicableError, register_fix

WIDEST_RANGE = (1024, 65535)
WINDOWS_LOWEST = 1025
"""Windows' dynamic port range starts at 1025 at the lowest (Microsoft KB 929851, ``netsh ... dynamicport``)."""
RANGE_SETTINGS = {
    "linux": "sysctl net.ipv4.ip_local_port_range='{low} {high}'",
    "windows": "netsh int ipv4 set dynamicport tcp start={low} num={count}",
    "bsd": "sysctl net.inet.ip.portrange.first={low} net.inet.ip.portrange.last={high}",
    "netbsd": "sysctl -w net.inet.ip.anonportmin={low} net.inet.ip.anonportmax={high}",
}
"""Each OS family's setting for the ephemeral range (Linux ip-sysctl.rst; KB 929851; FreeBSD and macOS inet(4)
``portrange``; NetBSD sysctl(7) ``anonportmin``)."""


def os_family(host: ResolvedHost) -> str:
    """Whose settings a host's preset takes: linux, windows, bsd (FreeBSD, macOS), netbsd, or iana (no OS)."""
    preset = host.preset
    if preset.startswith("linux"):
        return "linux"
    return {"windows": "windows", "freebsd": "bsd", "macos": "bsd", "netbsd": "netbsd"}.get(preset, "iana")


def widest(family: str) -> tuple[int, int]:
    """The widest ephemeral range an OS family (``os_family``) allows."""
    return (WINDOWS_LOWEST if family == "windows" else WIDEST_RANGE[0]), WIDEST_RANGE[1]


def _widened(host: ResolvedHost) -> list[int]:
    """The host's range widened to the widest its OS allows (unchanged where it is already wider)."""
    low, high = widest(os_family(host))
    return [min(host.low, low), max(host.high, high)]


def on_every_host(scenario: Scenario, key: str, value: Callable[[ResolvedHost], Any]) -> dict[str, Any]:
    """The changes that set host ``key`` to ``value(host)`` on every host: the scenario's ``host``, and each host
    group with a ``host`` of its own that writes the key or whose value differs (another OS: the others take the
    scenario's)."""
    top = value(scenario.host.resolved)
    changes = {f"host.{key}": top}
    for spec, group in zip(scenario.hosts or [], scenario.fleet, strict=False):
        if spec.host is None:
            continue
        own = value(group.host)
        if key in spec.host.written() or own != top:
            changes[f"hosts.{group.name}.host.{key}"] = own
    return changes


def _hosts(scenario: Scenario) -> list[ResolvedHost]:
    """Every host group's settings (the scenario's host alone without groups)."""
    return [g.host for g in scenario.fleet]


def _client_closers(scenario: Scenario) -> list[int]:
    return [i for i, w in enumerate(scenario.workloads) if w.close == "client"]


def _own_closer(w: Workload) -> str:
    """Why the workload's ``close`` key does not decide who closes its connections ("" when it does)."""
    if w.pool is not None and w.pool.keep_alive:
        return f"{w.name}'s pool closes its kept-alive connections itself (idle timeout, surplus, max_requests)"
    if isinstance(w.arrivals, Trace) and w.arrivals.facts.sides:
        return f"{w.name}'s trace says who closes each connection (its close column)"
    return ""


def _closers(scenario: Scenario, sides: tuple[str, ...]) -> list[int]:
    """Workloads closing on one of ``sides`` whose ``close`` key decides it; NotApplicableError when none."""
    closing = [i for i, w in enumerate(scenario.workloads) if w.close in sides]
    reasons = [_own_closer(scenario.workloads[i]) for i in closing]
    chosen = [i for i, reason in zip(closing, reasons, strict=True) if not reason]
    if not chosen and any(reasons):
        raise NotApplicableError("; ".join(r for r in reasons if r))
    return chosen


@register_fix
class WiderPortRange(Fix):
    name = "wider-port-range"
    description = "the widest ephemeral range: ip_local_port_range 1024-65535 (Windows: 1025-65535)"
    source = "Linux ip-sysctl.rst, ip_local_port_range; Microsoft KB 929851 (netsh dynamicport)"

    def changes(self, scenario: Scenario) -> dict[str, Any]:
        if all(_widened(h) == [h.low, h.high] for h in _hosts(scenario)):
            host = scenario.fleet_host
            raise NotApplicableError(f"port_range is already {host.low}-{host.high}")
        return on_every_host(scenario, "port_range", _widened)

    def describe(self, scenario: Scenario) -> str:
        families = dict.fromkeys(os_family(h) for h in _hosts(scenario))
        settings = []
        for family in families:
            low, high = widest(family)
            if family == "iana":
                settings.append(f"the range {low}-{high}")
            else:
                settings.append(RANGE_SETTINGS[family].format(low=low, high=high, count=high - low + 1))
        return "; ".join(settings)


@register_fix
class TwReuse(Fix):
    name = "tw-reuse"
    description = "net.ipv4.tcp_tw_reuse = 1 (with TCP timestamps)"
    source = "Linux ip-sysctl.rst, tcp_tw_reuse"

    def describe(self, scenario: Scenario) -> str:
        others = sorted({h.preset for h in _hosts(scenario) if os_family(h) not in ("linux", "iana")})
        if not others:
            return self.description
        return f"{self.description}; {', '.join(others)} hosts have no such setting: modelled as if they had"

    def changes(self, scenario: Scenario) -> dict[str, Any]:
        hosts = _hosts(scenario)
        if all(h.tw_reuse == 1 and h.timestamps for h in hosts):
            raise NotApplicableError("tw_reuse is already 1 with timestamps")
        closers = _client_closers(scenario)
        if not closers:
            raise NotApplicableError("no workload closes first, so this host holds no TIME_WAIT")
        if all(scenario.workloads[i].bind is True and not scenario.workloads[i].reuseaddr for i in closers):
            raise NotApplicableError(
                "every workload that closes first binds before connecting without SO_REUSEADDR: bind() passes over "
                "ports in TIME_WAIT, so tcp_tw_reuse never gets to act"
            )
        if all(h.sharing == "none" for h in hosts):
            raise NotApplicableError("the host does not share ports across destinations (sharing: none)")
        return {
            **on_every_host(scenario, "tw_reuse", lambda h: 1),
            **on_every_host(scenario, "timestamps", lambda h: True),
        }


NO_PORT_SETTINGS = {
    "linux": "IP_BIND_ADDRESS_NO_PORT",
    "windows": "SO_REUSE_UNICASTPORT (Windows 10 and later)",
}
"""Per OS family: the socket option that lets bind() to a source address leave the port to connect()."""


class MoreAddresses(Fix):
    factor: ClassVar[int]

    def describe(self, scenario: Scenario) -> str:
        hosts = _hosts(scenario)
        families = dict.fromkeys(os_family(h) for h in hosts)
        named = " or ".join(NO_PORT_SETTINGS[f] for f in families if f in NO_PORT_SETTINGS)
        text = self.description.replace(
            NO_PORT_SETTINGS["linux"], named or "a bind() that leaves the port to connect()"
        )
        others = sorted({h.preset for h in hosts if os_family(h) not in (*NO_PORT_SETTINGS, "iana")})
        if others:
            text += f"; {', '.join(others)} hosts have no such option: modelled as if they had"
        return text

    def changes(self, scenario: Scenario) -> dict[str, Any]:
        addresses = max(h.source_addresses for h in _hosts(scenario)) * self.factor
        if addresses > MAX_SOURCE_ADDRESSES:
            raise NotApplicableError(f"{addresses} source addresses is above the {MAX_SOURCE_ADDRESSES} portsim models")
        changes = on_every_host(scenario, "source_addresses", lambda h: h.source_addresses * self.factor)
        for i, w in enumerate(scenario.workloads):
            if w.bind is not True:
                changes[f"workloads.{i}.bind"] = "no_port"
        return changes


@register_fix
class TwiceTheAddresses(MoreAddresses):
    name = "2x-source-addresses"
    description = "twice the source addresses, connecting with IP_BIND_ADDRESS_NO_PORT"
    source = "Linux ip(7), IP_BIND_ADDRESS_NO_PORT; Windows SO_REUSE_UNICASTPORT (Winsock SOL_SOCKET options)"
    factor = 2


@register_fix
class FourTimesTheAddresses(MoreAddresses):
    name = "4x-source-addresses"
    description = "four times the source addresses, connecting with IP_BIND_ADDRESS_NO_PORT"
    source = "Linux ip(7), IP_BIND_ADDRESS_NO_PORT; Windows SO_REUSE_UNICASTPORT (Winsock SOL_SOCKET options)"
    factor = 4


@register_fix
class ServerClosesFirst(Fix):
    name = "server-closes-first"
    description = "the server closes first, so TIME_WAIT stays on the server"
    source = "RFC 9293 section 3.6 (TIME-WAIT is held by the side that closes first)"

    def changes(self, scenario: Scenario) -> dict[str, Any]:
        closers = _closers(scenario, ("client",))
        if not closers:
            raise NotApplicableError("no workload closes first from this host")
        return {f"workloads.{i}.close": "server" for i in closers}


@register_fix
class ResetClose(Fix):
    name = "rst-close"
    description = "close with RST (SO_LINGER 0): no TIME_WAIT, at the cost of a clean shutdown"
    source = "socket(7), SO_LINGER with a zero timeout"

    def changes(self, scenario: Scenario) -> dict[str, Any]:
        nat = scenario.nat
        # a translator that frees a mapping sooner after an RST than after a FIN gains from any FIN close
        sooner = nat is not None and nat.after_close(True) < nat.after_close(False)
        closing = _closers(scenario, ("client", "half", "server") if sooner else ("client", "half"))
        if not closing:
            raise NotApplicableError(
                "no workload leaves TIME_WAIT or FIN_WAIT2 on this host"
                + (", and the translator holds a mapping as long after an RST as after a FIN" if nat else "")
            )
        return {f"workloads.{i}.close": "reset" for i in closing}


@register_fix
class BindNoPort(Fix):
    name = "bind-no-port"
    description = "bind() with IP_BIND_ADDRESS_NO_PORT instead of a port-owning bind()"
    source = "Linux ip(7), IP_BIND_ADDRESS_NO_PORT; kernel commit 90c337da1524"

    def changes(self, scenario: Scenario) -> dict[str, Any]:
        bound = [i for i, w in enumerate(scenario.workloads) if w.bind is True]
        if not bound:
            raise NotApplicableError("no workload binds before connecting")
        return {f"workloads.{i}.bind": "no_port" for i in bound}
