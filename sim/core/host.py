"""A resolved host and the one function that builds its parts, for the simulator and ``SocketHost`` alike.

``ResolvedHost`` is a host with every value set (presets applied, the timer grid derived): what the
model needs, with nothing optional. ``build_host`` wires the port space, the allocation policy, the
pool and the lifecycle from it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .accounting import Accounting
from .lifecycle import Lifecycle
from .policies import Policy, PortSpace, make_policy, split_policy
from .pool import PortPool
from .timers import Timers
from .transitions import Close, Transitions

Sharing = Literal["per_destination", "none"]


@dataclass(frozen=True)
class ResolvedHost:
    """A host with every value set (seconds throughout)."""

    preset: str
    low: int
    high: int
    policy: str | Mapping[str, Any]
    sharing: Sharing
    source_addresses: int
    reserved: frozenset[int]
    """Every reserved port, inside the range or not."""
    time_wait: float
    time_wait_granularity: float
    """The TIME_WAIT timer grid actually used (0 = exact expiries)."""
    timer_hz: int
    tw_reuse: Literal[0, 1, 2]
    tw_reuse_delay: float
    timestamps: bool
    max_tw_buckets: int | None
    """None: unlimited."""
    fin_timeout: float
    connect_base_us: float
    probe_cost_ns: float

    @property
    def size(self) -> int:
        """Ports in the range, reserved ones included."""
        return self.high - self.low + 1

    @property
    def reserved_offsets(self) -> frozenset[int]:
        """Reserved ports inside the range, as offsets from ``low``."""
        return frozenset(p - self.low for p in self.reserved if self.low <= p <= self.high)

    @property
    def usable_ports(self) -> int:
        """Ports automatic selection may use, per source address."""
        return self.size - len(self.reserved_offsets)

    @property
    def policy_name(self) -> str:
        """The allocation policy's registered name."""
        return split_policy(self.policy)[0]

    @property
    def shares_ports(self) -> bool:
        """Whether connect() shares a local port across destinations (4-tuple sharing)."""
        return self.sharing == "per_destination"

    def tw_limit_bites(self, n_destinations: int) -> bool:
        """Whether ``max_tw_buckets`` may refuse a TIME_WAIT: it is below the 4-tuples one such host can hold
        toward ``n_destinations``."""
        tuples = self.usable_ports * self.source_addresses * (n_destinations if self.shares_ports else 1)
        return self.max_tw_buckets is not None and self.max_tw_buckets < tuples

    @property
    def timers(self) -> Timers:
        """The TCP timers and reuse rules."""
        return Timers(
            time_wait=self.time_wait,
            fin_timeout=self.fin_timeout,
            granularity=self.time_wait_granularity,
            max_tw_buckets=self.max_tw_buckets,
            reuse_delay=self.tw_reuse_delay,
        )

    def tw_reusable(self, address: str, bound: bool) -> bool:
        """Whether tcp_tw_reuse lets a new connect() take over TIME_WAIT 4-tuples toward ``address``.

        Needs tw_reuse 1 (or 2 with a loopback destination), TCP timestamps, 4-tuple sharing and a port
        chosen by connect() rather than owned through bind() (kernel.md fact 17).
        """
        if not self.tw_reuse or not self.timestamps or not self.shares_ports or bound:
            return False
        return self.tw_reuse == 1 or ipaddress.ip_address(address).is_loopback

    def latency_us(self, probes: float) -> float:
        """Estimated connect() latency: a fixed cost plus a cost per port examined (kernel.md fact 22)."""
        return self.connect_base_us + probes * self.probe_cost_ns / 1000.0


@dataclass
class HostParts:
    """A host's working parts, wired together."""

    host: ResolvedHost
    space: PortSpace
    policy: Policy
    pool: PortPool
    lifecycle: Lifecycle


def build_host(
    host: ResolvedHost,
    destinations: Sequence[tuple[str, int]],
    classes: Sequence[tuple[Close, bool]],
    rng: np.random.Generator,
    *,
    n_destinations: int | None = None,
    fast: bool = True,
    sources: range | None = None,
    levels: Accounting | None = None,
    rules: type[Transitions] = Transitions,
) -> HostParts:
    """Wire a host's port space, policy, pool and lifecycle.

    ``destinations``: the (address, port) of each destination index, known now or appended later (as
    ``SocketHost`` does; then ``n_destinations`` sizes the pool). ``classes``: (close side, bound) of
    each connection class; tcp_tw_reuse eligibility is set for every destination known now, and
    ``set_reusable`` sets it for those added later. ``fast=False`` always takes the lifecycle's
    general path. ``sources``, ``levels`` and ``rules``: a fleet's host group's own source indices, the fleet's
    shared counts and the group's rules (``core.fleet``).
    """
    n = len(destinations) if n_destinations is None else n_destinations
    space = PortSpace(host.low, host.high, host.source_addresses, destinations)
    policy = make_policy(host.policy, space, rng)
    pool = PortPool(
        host.size,
        host.source_addresses,
        n,
        sharing=host.shares_ports,
        reserved=host.reserved_offsets,
        layout=policy.layout,
        sources=sources,
    )
    reusable = [
        [host.tw_reusable(destinations[d][0], bound) if d < len(destinations) else False for d in range(n)]
        for _, bound in classes
    ]
    lifecycle = Lifecycle(
        pool,
        host.timers,
        [close for close, _ in classes],
        [bound for _, bound in classes],
        reusable,
        fast=fast,
        levels=levels,
        rules=rules,
    )
    return HostParts(host, space, policy, pool, lifecycle)


def set_reusable(parts: HostParts, classes: Sequence[tuple[Close, bool]], dst: int) -> None:
    """Set tcp_tw_reuse eligibility of every connection class toward destination ``dst`` (known by now)."""
    address = parts.space.destinations[dst][0]
    for c, (_, bound) in enumerate(classes):
        parts.lifecycle.set_reusable(c, dst, parts.host.tw_reusable(address, bound))
