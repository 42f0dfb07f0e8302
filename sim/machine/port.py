"""What one port number is: its IANA tier, its service name, the presets and the machine whose range holds it,
and the sockets using it here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .preset import presets_holding
from .services import service_name
from .settings import MachineSettings
from .sockets import Snapshot, Socket
from .tiers import SOURCE, Tier, tier_of


@dataclass(frozen=True)
class PortReport:
    """Everything ``portsim port`` says about one port."""

    port: int
    tier: Tier
    service: str | None
    presets: tuple[str, ...]
    in_machine_range: bool | None
    """None when this machine's range is unknown."""
    reserved: bool | None
    """Whether this machine's ip_local_reserved_ports holds it (None when unknown or not applicable)."""
    local: tuple[Socket, ...]
    """Sockets here whose local port it is."""
    remote: tuple[Socket, ...]
    """Sockets here whose remote port it is (connections to that port elsewhere)."""
    limits: tuple[str, ...]

    @property
    def used(self) -> bool:
        """Whether any socket seen uses the port, at either end."""
        return bool(self.local or self.remote)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "port": self.port,
            "tier": {
                "name": self.tier.name,
                "range": [self.tier.low, self.tier.high],
                "label": self.tier.label,
                "source": SOURCE,
            },
            "service": self.service,
            "presets": list(self.presets),
            "in_machine_range": self.in_machine_range,
            "reserved": self.reserved,
            "local": [s.to_json() for s in self.local],
            "remote": [s.to_json() for s in self.remote],
            "limits": list(self.limits),
        }


def describe_port(port: int, settings: MachineSettings, snapshot: Snapshot) -> PortReport:
    """What ``port`` is, on this machine, at the moment of ``snapshot`` (PortError outside 0-65535)."""
    tier = tier_of(port)
    reserved_ports = settings.reserved_ports
    ordered = sorted(snapshot.sockets, key=lambda s: (s.state != "LISTEN", s.state, s.local, s.remote or s.local))
    return PortReport(
        port=port,
        tier=tier,
        service=service_name(port),
        presets=tuple(presets_holding(port)),
        in_machine_range=settings.in_range(port),
        reserved=None if reserved_ports is None else port in reserved_ports,
        local=tuple(s for s in ordered if s.local.port == port),
        remote=tuple(s for s in ordered if s.remote is not None and s.remote.port == port and s.local.port != port),
        limits=snapshot.limits,
    )
