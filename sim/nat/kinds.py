"""The translators' rulebooks: each NAT kind's parameters, their real limits and their sources.

A kind is a small frozen spec registered by name (``NAT_KINDS``); every value can be overridden, and a value
outside what the real service allows is refused with the key and the limit (``KeyedError``). These specs are
validated data plus the few numbers the translator model (``sim.nat.translator``) and its theory read:
whose pools of mappings there are (``scope``: a public address's or a host's, one per destination), how many
mappings a pool holds (``pool_size``), how long a mapping outlives its connection (``after_close``) and how
long an open mapping without traffic lives (``idle_after``).

Sources (``docs/nat-kernel.md`` for Linux, measured; ``../shared/reference/nat.md`` for the clouds):
- ``linux-snat``: net/netfilter/nf_nat_core.c; nf_conntrack_tcp_timeout_* defaults (TIME_WAIT 120 s, CLOSE 10 s).
- ``aws-nat-gateway``: AWS VPC user guide (NAT gateway troubleshooting): 55,000 simultaneous connections per
  unique destination per address, 1 + 7 secondary addresses, idle timeout 350 s. How long a port stays
  blocked after a close is undocumented (``hold_after_close``, a parameter).
- ``azure-lb-outbound``: azure-docs load-balancer-outbound-connections.md: the default port table by backend
  pool size, manual ports a multiple of 8, idle timeout 4-120 min.
- ``azure-nat-gateway``: azure-docs nat-gateway-resource.md: 64,512 ports per address, up to 16 addresses,
  50,000 concurrent connections to one destination per address, cooldown 65 s after FIN and 16 s after RST,
  TCP idle 4-120 min (4 by default).
- ``gcp-cloud-nat``: Cloud NAT docs: static ports per VM (default 64, a power of two) or dynamic allocation
  (32 to 65,536, powers of two; not with endpoint-independent mapping), TIME_WAIT 120 s (30 s for gateways
  created from 30 Sep 2026), established idle 1,200 s, transitory 30 s.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from ..core.spec import KeyedError, Spec

MINUTE = 60.0

AZURE_LB_TABLE = ((50, 1024), (100, 512), (200, 256), (400, 128), (800, 64), (1000, 32))
"""Azure Load Balancer's default outbound ports per instance by backend pool size: (at most N instances, ports)."""
AZURE_LB_PORTS_PER_ADDRESS = 64_000
"""Ports a frontend address offers for outbound SNAT (azure-docs, manual allocation)."""
GCP_PORTS_PER_ADDRESS = 64_512
"""Ports a Cloud NAT address offers to VMs (Cloud NAT docs: VMs per address = 64,512 / ports per VM)."""
CONNECT_TIMEOUT = 133.5
"""Seconds a Linux client's connect() waits before ETIMEDOUT when every SYN is dropped (6.18 defaults,
tcp_syn_retries 6 and tcp_syn_linear_timeouts 4: measured 133.5 s, docs/nat-kernel.md)."""
Scope = Literal["address", "host"]


def _power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


class NatKind(Spec):
    """A translator kind: its name, its errors' names and its documented numbers."""

    name: ClassVar[str]
    error: ClassVar[str]
    """What the service calls a connection it could not map (its metric or drop reason)."""
    scope: ClassVar[Scope] = "address"
    """Whose pools of mappings there are, one per destination each: a public address's, or a host's."""
    sources: ClassVar[tuple[str, ...]] = ()
    """Where the rules and numbers come from."""

    connect_timeout: Annotated[float, Field(gt=0, le=3600)] = CONNECT_TIMEOUT
    """Seconds a client whose SYN the translator drops holds its host port before connect() fails."""

    @property
    def public_addresses(self) -> int:
        """Public addresses the translator maps to."""
        return 1

    def units(self, hosts: int) -> int:
        """Pools per destination: one per public address, or one per host."""
        return hosts if self.scope == "host" else self.public_addresses

    def pool_size(self, hosts: int) -> int:
        """Mappings one pool (a unit's, toward one destination) holds at once, closing ones included."""
        raise NotImplementedError

    def busy_cap(self, hosts: int) -> int:
        """Open mappings one pool holds at once (below ``pool_size`` where closing ones count apart)."""
        return self.pool_size(hosts)

    def after_close(self, rst: bool) -> float:
        """Seconds a mapping stays after its connection closes (by FIN, or by RST)."""
        raise NotImplementedError

    def idle_after(self) -> float:
        """Seconds after which an open mapping that carries no traffic is dropped."""
        raise NotImplementedError

    def check_fleet(self, hosts: int) -> None:
        """Refuse (``KeyedError``) a fleet of ``hosts`` the service could not serve at all."""

    def contradictions(self) -> list[str]:
        """Keys given that change nothing (valid, but probably not what the author meant)."""
        return []

    @property
    def growing(self) -> bool:
        """Whether pools grow during a run (dynamic allocation: Erlang B does not apply)."""
        return False

    @property
    def pools_by_destination(self) -> bool:
        """Whether each unit has a pool per destination (else one pool for every destination)."""
        return True


class LinuxSnat(NatKind):
    """netfilter SNAT/MASQUERADE to ``ports`` of ``addresses`` public addresses (see ``sim.nat.snat_search``)."""

    name: ClassVar[str] = "linux-snat"
    error: ClassVar[str] = "insert_failed"
    sources: ClassVar[tuple[str, ...]] = (
        "docs/nat-kernel.md (measured on Linux 6.18, `portsim validate --nat`)",
        "net/netfilter/nf_nat_core.c: nf_nat_l4proto_unique_tuple, nf_nat_used_tuple_harder (v6.5 eviction)",
        "iptables libxt_SNAT.man / libxt_MASQUERADE.man (--random, --random-fully, --persistent)",
    )
    kind: Literal["linux-snat"] = "linux-snat"
    addresses: Annotated[int, Field(ge=1, le=256)] = 1
    ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(
        default_factory=lambda: [1024, 65535], min_length=2, max_length=2
    )
    """The ``to`` port range, [low, high]."""
    mode: Literal["default", "random", "fully-random", "persistent"] = "default"
    time_wait: Annotated[float, Field(ge=0, le=86400)] = 120.0
    close: Annotated[float, Field(ge=0, le=86400)] = 10.0
    evict: Annotated[float, Field(ge=0, le=1)] = 0.5
    """Chance that a closing entry met in a round's last 32 tries is evicted (measured about half)."""
    established: Annotated[float, Field(gt=0, le=1e7)] = 432_000.0
    """nf_conntrack_tcp_timeout_established: 5 days."""

    @model_validator(mode="after")
    def _range(self) -> LinuxSnat:
        if self.ports[0] > self.ports[1]:
            raise KeyedError("ports", f"the range {self.ports[0]}-{self.ports[1]} is empty: give [low, high]")
        return self

    @property
    def public_addresses(self) -> int:
        return self.addresses

    def pool_size(self, hosts: int) -> int:
        return self.ports[1] - self.ports[0] + 1

    def after_close(self, rst: bool) -> float:
        return self.close if rst else self.time_wait

    def idle_after(self) -> float:
        return self.established


class AwsNatGateway(NatKind):
    """AWS NAT Gateway: at most 55,000 connections at once per destination (address, port) per public address."""

    name: ClassVar[str] = "aws-nat-gateway"
    error: ClassVar[str] = "ErrorPortAllocation"
    sources: ClassVar[tuple[str, ...]] = (
        "AWS VPC user guide, nat-gateway-troubleshooting.md: 55,000 connections per destination per address; "
        "idle 350 s",
        "AWS re:Post knowledge center: up to 8 addresses (1 primary + 7 secondary); ErrorPortAllocation",
    )
    kind: Literal["aws-nat-gateway"] = "aws-nat-gateway"
    addresses: Annotated[int, Field(ge=1, le=8, description="1 primary + up to 7 secondary")] = 1
    per_destination: Annotated[int, Field(ge=1, le=55_000)] = 55_000
    idle_timeout: Annotated[float, Field(gt=0, le=350)] = 350.0
    hold_after_close: Annotated[float, Field(ge=0, le=3600)] = 0.0
    """Seconds a port stays blocked after a close: undocumented by AWS, a parameter here."""

    @property
    def public_addresses(self) -> int:
        return self.addresses

    def pool_size(self, hosts: int) -> int:
        return self.per_destination

    def after_close(self, rst: bool) -> float:
        return self.hold_after_close

    def idle_after(self) -> float:
        return self.idle_timeout


class AzureLbOutbound(NatKind):
    """Azure Load Balancer outbound rules: ports preallocated per backend instance, one destination each at a time."""

    name: ClassVar[str] = "azure-lb-outbound"
    error: ClassVar[str] = "SNAT port exhaustion"
    sources: ClassVar[tuple[str, ...]] = (
        "azure-docs load-balancer-outbound-connections.md: the default ports table, manual multiples of 8, "
        "64,000 per frontend address, idle 4-120 min",
    )
    scope: ClassVar[Scope] = "host"
    kind: Literal["azure-lb-outbound"] = "azure-lb-outbound"
    frontend_addresses: Annotated[int, Field(ge=1, le=600)] = 1
    ports_per_host: Annotated[int, Field(ge=8, le=64_000)] | None = None
    """None: the default table by pool size; by hand: a multiple of 8."""
    idle_timeout: Annotated[float, Field(ge=4 * MINUTE, le=120 * MINUTE)] = 4 * MINUTE
    hold_after_close: Annotated[float, Field(ge=0, le=3600)] = 0.0
    """Seconds a port waits after a close before reuse: Azure documents a wait without a number, a parameter."""

    @model_validator(mode="after")
    def _ports(self) -> AzureLbOutbound:
        ports = self.ports_per_host
        if ports is not None and ports % 8:
            raise KeyedError("ports_per_host", f"{ports} is not a multiple of 8 (Azure allocates ports in blocks of 8)")
        return self

    @property
    def public_addresses(self) -> int:
        return self.frontend_addresses

    def ports_for(self, hosts: int) -> int:
        """Ports each of ``hosts`` backend instances gets."""
        if self.ports_per_host is not None:
            if self.ports_per_host * hosts > AZURE_LB_PORTS_PER_ADDRESS * self.frontend_addresses:
                raise KeyedError(
                    "ports_per_host",
                    f"{self.ports_per_host} ports x {hosts} hosts is above the {self.frontend_addresses} frontend "
                    f"address(es)' {AZURE_LB_PORTS_PER_ADDRESS * self.frontend_addresses:,} ports",
                )
            return self.ports_per_host
        for most, ports in AZURE_LB_TABLE:
            if hosts <= most:
                return min(ports * self.frontend_addresses, 1024)
        raise KeyedError("ports_per_host", f"{hosts:,} hosts: the default table stops at 1,000; give ports_per_host")

    def check_fleet(self, hosts: int) -> None:
        self.ports_for(hosts)

    def pool_size(self, hosts: int) -> int:
        return self.ports_for(hosts)

    def after_close(self, rst: bool) -> float:
        return self.hold_after_close

    def idle_after(self) -> float:
        return self.idle_timeout


class AzureNatGateway(NatKind):
    """Azure NAT Gateway: a shared pool per public address, reused toward a destination only after a cooldown."""

    name: ClassVar[str] = "azure-nat-gateway"
    error: ClassVar[str] = "SNAT connection failure"
    sources: ClassVar[tuple[str, ...]] = (
        "azure-docs nat-gateway-resource.md: 64,512 ports per address, 16 addresses, 50,000 per destination, "
        "cooldown 65 s FIN / 16 s RST, idle 4 min",
    )
    kind: Literal["azure-nat-gateway"] = "azure-nat-gateway"
    addresses: Annotated[int, Field(ge=1, le=16)] = 1
    ports_per_address: Annotated[int, Field(ge=1, le=64_512)] = 64_512
    per_destination: Annotated[int, Field(ge=1, le=50_000)] = 50_000
    cooldown_fin: Annotated[float, Field(ge=0, le=3600)] = 65.0
    cooldown_rst: Annotated[float, Field(ge=0, le=3600)] = 16.0
    cooldown_counts: bool = True
    """Whether ports in cooldown count against ``per_destination`` (undocumented: a switch). False: only the
    open connections do, and open plus cooling ones against ``ports_per_address``."""
    idle_timeout: Annotated[float, Field(ge=4 * MINUTE, le=120 * MINUTE)] = 4 * MINUTE

    @property
    def public_addresses(self) -> int:
        return self.addresses

    def pool_size(self, hosts: int) -> int:
        return min(self.per_destination, self.ports_per_address) if self.cooldown_counts else self.ports_per_address

    def busy_cap(self, hosts: int) -> int:
        return min(self.per_destination, self.ports_per_address)

    def after_close(self, rst: bool) -> float:
        return self.cooldown_rst if rst else self.cooldown_fin

    def idle_after(self) -> float:
        return self.idle_timeout


class GcpCloudNat(NatKind):
    """Google Cloud NAT: ports reserved per VM (static, or dynamic between a minimum and a maximum)."""

    name: ClassVar[str] = "gcp-cloud-nat"
    error: ClassVar[str] = "OUT_OF_RESOURCES"
    sources: ClassVar[tuple[str, ...]] = (
        "Cloud NAT docs: ports per VM (64, powers of two), dynamic port allocation (32-65,536), timeouts "
        "(TIME_WAIT 120 s, established 1,200 s, transitory 30 s)",
        "Cloud NAT announcement: TIME_WAIT 30 s for gateways created from 30 Sep 2026",
    )
    scope: ClassVar[Scope] = "host"
    kind: Literal["gcp-cloud-nat"] = "gcp-cloud-nat"
    addresses: Annotated[int, Field(ge=1, le=300)] = 1
    min_ports_per_host: Annotated[int, Field(ge=2, le=65_536)] = 64
    dynamic: bool = False
    max_ports_per_host: Annotated[int, Field(ge=32, le=65_536)] = 65_536
    endpoint_independent: bool = False
    time_wait: Annotated[float, Field(ge=1, le=86400)] = 120.0
    established_idle: Annotated[float, Field(ge=1, le=86400)] = 1200.0
    transitory_idle: Annotated[float, Field(ge=1, le=86400)] = 30.0

    @model_validator(mode="after")
    def _ports(self) -> GcpCloudNat:
        for key in ("min_ports_per_host", "max_ports_per_host"):
            value = getattr(self, key)
            if not _power_of_two(value):
                raise KeyedError(key, f"{value} is not a power of two (Cloud NAT reserves ports in powers of two)")
        if self.dynamic:
            if self.min_ports_per_host < 32:
                raise KeyedError("min_ports_per_host", "with dynamic allocation it is at least 32")
            if self.max_ports_per_host < self.min_ports_per_host:
                raise KeyedError(
                    "max_ports_per_host",
                    f"{self.max_ports_per_host} is below min_ports_per_host ({self.min_ports_per_host})",
                    ("min_ports_per_host",),
                )
            if self.endpoint_independent:
                raise KeyedError(
                    "endpoint_independent",
                    "dynamic port allocation and endpoint-independent mapping exclude each other",
                )
        return self

    @property
    def public_addresses(self) -> int:
        return self.addresses

    @property
    def pools_by_destination(self) -> bool:
        """Endpoint-independent mapping gives a VM's port to one connection whatever its destination."""
        return not self.endpoint_independent

    def contradictions(self) -> list[str]:
        if self.max_ports_per_host != type(self).model_fields["max_ports_per_host"].default and not self.dynamic:
            return ["max_ports_per_host changes nothing without dynamic: true (static ports per VM)"]
        return []

    @property
    def capacity(self) -> int:
        """Ports the addresses offer to the fleet."""
        return GCP_PORTS_PER_ADDRESS * self.addresses

    def check_fleet(self, hosts: int) -> None:
        if hosts * self.min_ports_per_host > self.capacity:
            raise KeyedError(
                "min_ports_per_host",
                f"{hosts} hosts x {self.min_ports_per_host} ports is above the {self.addresses} address(es)' "
                f"{self.capacity:,} ports (at most {self.capacity // self.min_ports_per_host:,} hosts)",
            )

    def pool_size(self, hosts: int) -> int:
        return min(self.min_ports_per_host, GCP_PORTS_PER_ADDRESS)

    def busy_cap(self, hosts: int) -> int:
        return self.max_ports_per_host if self.dynamic else self.pool_size(hosts)

    def after_close(self, rst: bool) -> float:
        return self.transitory_idle if rst else self.time_wait

    def idle_after(self) -> float:
        return self.established_idle

    @property
    def growing(self) -> bool:
        return self.dynamic


NAT_KINDS: dict[str, type[NatKind]] = {
    cls.name: cls for cls in (LinuxSnat, AwsNatGateway, AzureLbOutbound, AzureNatGateway, GcpCloudNat)
}
"""Every translator kind by name."""

NatSpec = Annotated[
    LinuxSnat | AwsNatGateway | AzureLbOutbound | AzureNatGateway | GcpCloudNat, Field(discriminator="kind")
]
"""A scenario's ``nat:`` entry: one of the kinds, chosen by ``kind``."""

__all__ = [
    "AZURE_LB_TABLE",
    "NAT_KINDS",
    "AwsNatGateway",
    "AzureLbOutbound",
    "AzureNatGateway",
    "GcpCloudNat",
    "LinuxSnat",
    "NatKind",
    "NatSpec",
]
