"""This machine's port pool at one moment: sockets per TCP state, the destinations holding the most local ports,
and how many more connections each could still open."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from ..config.presets import PRESETS
from .preset import closest_preset
from .settings import MachineSettings
from .sockets import Endpoint, Snapshot, Socket

TOP = 10
"""Destinations listed by default."""


@dataclass(frozen=True)
class DestinationUse:
    """The local ports held toward one destination (address, port)."""

    destination: Endpoint
    ports: int
    """Outgoing connections toward it: each holds one local port (its 4-tuple)."""
    states: dict[str, int]
    local_addresses: int
    headroom: int | None
    """Ports of the range a new connect() toward it could still take (None when the range is unknown)."""

    def to_json(self) -> dict[str, Any]:
        """The destination's figures as JSON."""
        return {
            "destination": str(self.destination),
            "address": self.destination.address,
            "port": self.destination.port,
            "ports_held": self.ports,
            "states": self.states,
            "local_addresses": self.local_addresses,
            "headroom": self.headroom,
        }


@dataclass(frozen=True)
class HostReport:
    """Everything ``portsim host`` says about this machine."""

    settings: MachineSettings
    preset: str
    preset_reason: str
    sharing: Literal["per_destination", "none"]
    states: dict[str, int]
    outgoing: int
    """Connections this host opened: local port in the ephemeral range and not a listening port."""
    listening_in_range: int
    """Listening ports inside the ephemeral range: connect() never takes them."""
    destinations: tuple[DestinationUse, ...]
    """The destinations holding the most local ports, most first."""
    destination_count: int
    limits: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "settings": self.settings.to_json(),
            "closest_preset": {"name": self.preset, "why": self.preset_reason},
            "sharing": self.sharing,
            "sockets": sum(self.states.values()),
            "states": self.states,
            "outgoing_connections": self.outgoing,
            "listening_ports_in_range": self.listening_in_range,
            "usable_ports": self.settings.usable_ports(),
            "destinations": [d.to_json() for d in self.destinations],
            "destination_count": self.destination_count,
            "limits": list(self.limits),
        }


def outgoing(snapshot: Snapshot, settings: MachineSettings) -> list[Socket]:
    """The connections this host opened: a remote end, a local port that is not listening and lies in the
    ephemeral range (any local port when the range is unknown)."""
    listening = snapshot.listening_ports()
    return [
        s
        for s in snapshot.sockets
        if s.remote is not None
        and s.state != "LISTEN"
        and s.local.port not in listening
        and settings.in_range(s.local.port) is not False
    ]


def host_report(settings: MachineSettings, snapshot: Snapshot, top: int = TOP) -> HostReport:
    """This machine's pool at the moment of ``snapshot``."""
    preset, why = closest_preset(settings)
    sharing = PRESETS[preset].sharing
    mine = outgoing(snapshot, settings)
    reserved = settings.reserved_ports or frozenset()
    listening_in_range = sum(1 for p in snapshot.listening_ports() if settings.in_range(p) and p not in reserved)
    usable = settings.usable_ports()
    free = None if usable is None else usable - listening_in_range
    by_destination: dict[Endpoint, list[Socket]] = {}
    for s in mine:
        if s.remote is not None:  # always: outgoing() keeps connected sockets only
            by_destination.setdefault(s.remote, []).append(s)
    # sharing none (macOS): a port carries one connection, whatever the destination
    held_everywhere = max(Counter(s.local.address for s in mine).values(), default=0)
    uses = []
    for destination, sockets in by_destination.items():
        per_address = Counter(s.local.address for s in sockets)
        held = held_everywhere if sharing == "none" else max(per_address.values())
        states = Counter(s.state for s in sockets)
        uses.append(
            DestinationUse(
                destination=destination,
                ports=len(sockets),
                states=dict(sorted(states.items(), key=lambda kv: (-kv[1], kv[0]))),
                local_addresses=len(per_address),
                headroom=None if free is None else max(free - held, 0),
            )
        )
    uses.sort(key=lambda u: (-u.ports, u.destination))
    return HostReport(
        settings=settings,
        preset=preset,
        preset_reason=why,
        sharing=sharing,
        states=snapshot.states(),
        outgoing=len(mine),
        listening_in_range=listening_in_range,
        destinations=tuple(uses[:top]),
        destination_count=len(uses),
        limits=snapshot.limits,
    )
