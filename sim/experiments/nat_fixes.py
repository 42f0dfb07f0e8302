"""The translator's fixes, registered beside the host's: more public addresses, more ports per host, dynamic
allocation, and a keep-alive pool for request workloads that open a connection per request.

RST close (``rst-close``) is the host's fix and helps the translator too: its mappings then stay for the
kind's time after an RST (conntrack CLOSE 10 s, Azure's 16 s cooldown, Cloud NAT's transitory 30 s) instead
of after a FIN. Sources are the kinds' (README, "NAT and cloud").
"""

from __future__ import annotations

import math
from typing import Any

from ..config.scenario import Scenario
from ..nat.kinds import GCP_PORTS_PER_ADDRESS, AwsNatGateway, AzureLbOutbound, AzureNatGateway, GcpCloudNat, LinuxSnat
from .fix import Fix, NotApplicableError, register_fix

ADDRESS_KEYS: dict[type, tuple[str, int]] = {
    LinuxSnat: ("addresses", 256),
    AwsNatGateway: ("addresses", 8),
    AzureNatGateway: ("addresses", 16),
    GcpCloudNat: ("addresses", 300),
    AzureLbOutbound: ("frontend_addresses", 600),
}
"""Per kind: the key that counts its public addresses, and the most the service allows."""


def _translator(scenario: Scenario) -> Any:
    if scenario.nat is None:
        raise NotApplicableError("the scenario has no translator (nat:)")
    return scenario.nat


@register_fix
class TwiceThePublicAddresses(Fix):
    name = "2x-public-addresses"
    description = "twice the translator's public addresses (within the service's limit)"
    source = "AWS: up to 8 addresses; Azure NAT Gateway: 16; Cloud NAT: per gateway; netfilter: the SNAT range"

    def changes(self, scenario: Scenario) -> dict[str, Any]:
        kind = _translator(scenario)
        key, most = ADDRESS_KEYS[type(kind)]
        now = kind.public_addresses
        if now >= most:
            raise NotApplicableError(f"{kind.name} already has {now} addresses, the most it allows")
        if (
            isinstance(kind, AzureLbOutbound)
            and kind.ports_per_host is None
            and kind.pool_size(scenario.fleet_hosts) >= 1024
        ):
            raise NotApplicableError("the default table already gives each host its cap of 1,024 ports")
        if isinstance(kind, GcpCloudNat) and not kind.dynamic:
            raise NotApplicableError("with static ports per VM more addresses add VMs, not ports per VM")
        if isinstance(kind, LinuxSnat) and len(scenario.destinations) == 1 and scenario.fleet_hosts == 1:
            raise NotApplicableError("one host to one destination keeps one address (a fixed hash of the pair)")
        return {f"nat.{key}": min(2 * now, most)}


@register_fix
class MorePortsPerHost(Fix):
    name = "more-ports-per-host"
    description = (
        "up to four times the translator's ports per host, as far as its addresses have them (Azure Load Balancer "
        "by hand, Cloud NAT's minimum)"
    )
    source = "azure-docs load-balancer-outbound-connections.md (manual ports); Cloud NAT min_ports_per_vm"

    def describe(self, scenario: Scenario) -> str:
        try:
            changes = self.changes(scenario)
        except NotApplicableError:
            return self.description
        kind = _translator(scenario)
        if isinstance(kind, AzureLbOutbound):
            ports, before = changes["nat.ports_per_host"], kind.pool_size(scenario.fleet_hosts)
            return f"the outbound rule's allocatedOutboundPorts: {ports} per instance (from {before})"
        ports = changes["nat.min_ports_per_host"]
        return f"Cloud NAT's minPortsPerVm: {ports} (from {kind.min_ports_per_host})"

    def changes(self, scenario: Scenario) -> dict[str, Any]:
        kind = _translator(scenario)
        hosts = scenario.fleet_hosts
        if isinstance(kind, AzureLbOutbound):
            ports = 4 * kind.pool_size(hosts)
            room = 64_000 * kind.frontend_addresses // hosts // 8 * 8
            if min(ports, room) <= kind.pool_size(hosts):
                raise NotApplicableError(f"{hosts} hosts already share the frontend addresses' ports")
            return {"nat.ports_per_host": min(ports, room)}
        if isinstance(kind, GcpCloudNat):
            if kind.dynamic:
                raise NotApplicableError("dynamic allocation already grows a host's ports")
            fit = kind.addresses * GCP_PORTS_PER_ADDRESS // hosts
            ports = min(4 * kind.min_ports_per_host, 1 << int(math.log2(fit)) if fit else 0)
            if ports <= kind.min_ports_per_host:
                raise NotApplicableError(f"{hosts} hosts x more ports would not fit the addresses' ports")
            return {"nat.min_ports_per_host": ports}
        raise NotApplicableError(f"{kind.name} does not reserve ports per host")


@register_fix
class DynamicPortAllocation(Fix):
    name = "dynamic-port-allocation"
    description = "Cloud NAT dynamic port allocation (32 to 65,536 ports per VM)"
    source = "Cloud NAT docs: dynamic port allocation (excludes endpoint-independent mapping)"

    def changes(self, scenario: Scenario) -> dict[str, Any]:
        kind = _translator(scenario)
        if not isinstance(kind, GcpCloudNat):
            raise NotApplicableError(f"{kind.name} has no dynamic port allocation")
        if kind.dynamic:
            raise NotApplicableError("dynamic allocation is already on")
        return {
            "nat.dynamic": True,
            "nat.min_ports_per_host": max(32, kind.min_ports_per_host),
            "nat.max_ports_per_host": 65_536,
            "nat.endpoint_independent": False,
        }


@register_fix
class KeepAlivePool(Fix):
    name = "keep-alive-pool"
    description = "reuse connections: a keep-alive pool sized for the requests in flight"
    source = "README, Clients (Go's MaxIdleConnsPerHost, nginx upstream keepalive)"

    def changes(self, scenario: Scenario) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for i, w in enumerate(scenario.workloads):
            if w.requests is None or (w.pool is not None and w.pool.keep_alive):
                continue
            in_flight = w.offered.mean_rate * w.holding.expected * len(w.destinations)
            idle = max(2, math.ceil(2 * in_flight / len(w.destinations)))
            changes[f"workloads.{i}.pool"] = {"preset": "go", "max_idle_per_host": idle, "max_idle_total": None}
        if not changes:
            raise NotApplicableError("no request workload opens a connection per request")
        return changes
