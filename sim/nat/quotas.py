"""The cloud translators: pools of mappings counted against a quota (AWS, Azure, Google Cloud).

A cloud translator's port numbers are not observable, only how many mappings a pool holds: AWS's 55,000
connections per destination per address, Azure Load Balancer's ports preallocated per host, Azure NAT
Gateway's 50,000 per destination per address with a cooldown, Cloud NAT's ports per VM. So a pool here is
two counters, its open mappings and its mappings still held after their close, each under its cap
(``NatKind.busy_cap`` and ``NatKind.pool_size``).

Address-scoped kinds (AWS, Azure NAT Gateway) try their public addresses from a random one onward and fail
only when every address's pool toward the destination is full (how the services spread flows over
addresses is undocumented). Host-scoped kinds (Azure Load Balancer, Cloud NAT) fail a host at its own
allocation even while other hosts have ports free, which is counted. Cloud NAT's dynamic allocation doubles
a host's ports when a pool of it is full, up to ``max_ports_per_host`` while the addresses have ports left
(it never shrinks them back within a run). With endpoint-independent mapping a host's ports serve one
mapping each whatever the destination (conflicts, ``ENDPOINT_INDEPENDENCE_CONFLICT``, are not modelled).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..core.streams import random_ints
from .kinds import GcpCloudNat, NatKind
from .translator import Translator


class QuotaTranslator(Translator):
    """A cloud translator whose pools are counted against caps (see the module docstring)."""

    def __init__(self, kind: NatKind, hosts: int, n_destinations: int, rng: np.random.Generator) -> None:
        super().__init__(kind, hosts, n_destinations)
        gcp = kind if isinstance(kind, GcpCloudNat) else None
        self._keys = n_destinations if kind.pools_by_destination else 1
        """Pools per unit: one per destination, or one for all (endpoint-independent mapping)."""
        self._host_scoped = kind.scope == "host"
        cells = self.units * self._keys
        self._live = [0] * cells
        self._held = [0] * cells
        """Per pool: open mappings, and open plus closing ones."""
        self._cap = [kind.pool_size(hosts)] * self.units
        self._cap_total = sum(self._cap)
        self._busy_cap = kind.busy_cap(hosts)
        self._key_held = [0] * self._keys
        """Per destination (or one for all): mappings held over every unit (host-scoped kinds only)."""
        self._grow = gcp is not None and gcp.dynamic
        self._max = gcp.max_ports_per_host if gcp is not None else 0
        self._spare = gcp.capacity - hosts * gcp.min_ports_per_host if gcp is not None else 0
        self._starts: Iterator[int] | None = (
            random_ints(rng, self.units) if not self._host_scoped and self.units > 1 else None
        )

    def ports(self, unit: int) -> int:
        """Mappings each pool of ``unit`` may hold now."""
        return self._cap[unit]

    def _take(self, conn: int, host: int, port: int, dst: int, now: float) -> tuple[int, int]:
        key = dst if self._keys > 1 else 0
        keys = self._keys
        if self._host_scoped:
            cell = host * keys + key
            if self._held[cell] >= self._cap[host] and self._grow:
                self._expand(host)
            if self._held[cell] < self._cap[host] and self._live[cell] < self._busy_cap:
                return self._use(cell), host
            return -1, host
        units = self.units
        start = next(self._starts) if self._starts is not None else 0
        for i in range(units):
            unit = (start + i) % units
            cell = unit * keys + key
            if self._held[cell] < self._cap[unit] and self._live[cell] < self._busy_cap:
                return self._use(cell), unit
        return -1, start

    def _use(self, cell: int) -> int:
        self._live[cell] += 1
        self._held[cell] += 1
        if self._host_scoped:
            self._key_held[cell % self._keys] += 1
        return cell

    def _expand(self, host: int) -> None:
        """Cloud NAT's dynamic allocation: double a full host's ports while the maximum and the addresses allow."""
        cap = self._cap[host]
        if cap * 2 <= self._max and self._spare >= cap:
            self._spare -= cap
            self._cap[host] = cap * 2
            self._cap_total += cap

    def _cool(self, token: int) -> None:
        self._live[token] -= 1

    def _free(self, token: int, conn: int, cooled: bool) -> bool:
        if not cooled:
            self._live[token] -= 1
        self._held[token] -= 1
        if self._host_scoped:
            self._key_held[token % self._keys] -= 1
        return True

    def free_elsewhere(self, host: int, dst: int, unit: int) -> float | None:
        if not self._host_scoped or self.units < 2:
            return None
        key = dst if self._keys > 1 else 0
        others = self._cap_total - self._cap[unit]
        held = self._key_held[key] - self._held[unit * self._keys + key]
        return max(0.0, (others - held) / others) if others > 0 else None

    def room_elsewhere(self, host: int, dst: int, unit: int) -> bool:
        # a host-scoped pool is full exactly when it holds its cap (open ones never reach busy_cap first, and
        # caps only grow), so some other host has room exactly when the others' free share is above 0
        return (self.free_elsewhere(host, dst, unit) or 0.0) > 0.0
