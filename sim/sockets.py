"""A scriptable host: drive the simulated port pool one socket call at a time.

Where a scenario describes workloads in bulk, ``SocketHost`` replays exact sequences of socket calls,
the way the kernel measurements were made::

    host = SocketHost("linux", port_range=(40000, 40063), seed=1)
    first = host.connect("127.0.0.1", 5001)          # a Socket with .port, or .errno on failure
    host.close(first, "client", at=0.5)              # this side closes first: TIME_WAIT for 60 s
    host.advance(61.0)

It uses the same pool, allocation policy and lifecycle as the simulator, so what it shows is what a
run does. Times are seconds and never go backwards.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .lifecycle import Close, Lifecycle, Timers
from .policies import Policy, PortSpace, make_policy
from .pool import PortPool
from .scenario import Destination, Host

CLOSES: tuple[Close, ...] = ("client", "server", "reset", "half")
ERRNO_CONNECT = "EADDRNOTAVAIL"
ERRNO_BIND = "EADDRINUSE"


@dataclass
class Socket:
    """The outcome of one connect(): the local port, or the errno of the failure."""

    port: int | None
    errno: str | None
    destination: tuple[str, int]
    source: int
    bound: bool
    probes: int
    slot: int = -1
    ident: int = -1
    open: bool = False
    opened: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the connect() succeeded."""
        return self.errno is None


class SocketHost:
    """One simulated host whose sockets are opened and closed by explicit calls."""

    def __init__(
        self,
        host: Host | Mapping[str, Any] | str = "linux",
        *,
        seed: int = 0,
        max_destinations: int = 256,
        **overrides: Any,
    ) -> None:
        """``host``: a Host, a scenario's ``host`` mapping, or a preset name; ``overrides``: host keys."""
        if isinstance(host, str):
            host = {"preset": host}
        if isinstance(host, Host):
            host = host.model_dump(exclude_none=True)
        self.host = Host.model_validate({**dict(host), **overrides})
        spec = self.host
        assert spec.policy is not None
        self.destinations: list[tuple[str, int]] = []
        self._index: dict[tuple[str, int], int] = {}
        self._loopback: list[bool] = []
        self.space = PortSpace(spec.low, spec.high, spec.source_addresses, self.destinations)
        self.policy: Policy = make_policy(spec.policy, self.space, np.random.default_rng(seed))
        self.pool = PortPool(
            spec.size,
            spec.source_addresses,
            max_destinations,
            sharing=spec.sharing == "per_destination",
            reserved=spec.reserved_offsets,
            layout=self.policy.layout,
        )
        combos = [(close, bound) for bound in (False, True) for close in CLOSES]
        self._combo = {combo: i for i, combo in enumerate(combos)}
        assert spec.time_wait is not None
        assert spec.fin_timeout is not None
        assert spec.tw_reuse_delay is not None
        self.lifecycle = Lifecycle(
            self.pool,
            Timers(
                time_wait=spec.time_wait,
                fin_timeout=spec.fin_timeout,
                granularity=spec.time_wait_granularity or 0.0,
                max_tw_buckets=None if spec.max_tw_buckets == "unlimited" else spec.max_tw_buckets,
                reuse_delay=spec.tw_reuse_delay,
            ),
            [close for close, _ in combos],
            [bound for _, bound in combos],
            [[False] * max_destinations for _ in combos],
        )
        self._max_destinations = max_destinations
        self._ids = itertools.count()
        self.now = 0.0

    def _destination(self, address: str, port: int) -> int:
        key = (Destination(address=address, port=port).address, port)
        index = self._index.get(key)
        if index is None:
            if len(self.destinations) >= self._max_destinations:
                raise ValueError(f"more than {self._max_destinations} destinations")
            index = self._index[key] = len(self.destinations)
            self.destinations.append(key)
            loopback = Destination(address=address, port=port).loopback
            self._loopback.append(loopback)
            spec = self.host
            reusable = bool(spec.tw_reuse) and bool(spec.timestamps) and spec.sharing == "per_destination"
            reusable = reusable and (spec.tw_reuse == 1 or loopback)
            for close in CLOSES:
                self.lifecycle.set_reusable(self._combo[(close, False)], index, reusable)
        return index

    def advance(self, to: float) -> None:
        """Move the clock to ``to``, applying every close and timer expiry due by then."""
        if to < self.now:
            raise ValueError(f"time goes forward only ({to} < {self.now})")
        self.lifecycle.advance(to)
        self.now = to

    def connect(
        self,
        address: str,
        port: int,
        *,
        at: float | None = None,
        bind: bool = False,
        reuseaddr: bool = False,
        source: int = 0,
    ) -> Socket:
        """connect() to (address, port); with ``bind`` a bind(source address, 0) first."""
        if not 0 <= source < self.host.source_addresses:
            raise ValueError(f"source {source}: the host has source addresses 0..{self.host.source_addresses - 1}")
        if at is not None:
            self.advance(at)
        dst = self._destination(address, port)
        pool = self.pool
        if bind:
            slot, probes = self.policy.bind(pool.local[source], source, self.now, reuseaddr)
        else:
            view, _ = pool.request(source, dst)
            slot, probes = self.policy.connect(view, source, dst, self.now)
        destination = self.destinations[dst]
        if slot < 0:
            return Socket(None, ERRNO_BIND if bind else ERRNO_CONNECT, destination, source, bind, probes)
        _, recycled = pool.take(source, dst, slot, bind, self.now)
        if recycled >= 0:
            self.lifecycle.recycled(recycled, dst, self.now)
        offset = pool.port_offset(slot)
        ident = next(self._ids)
        self.lifecycle.start((source, dst, slot, 0, ident, self.now))
        return Socket(self.host.low + offset, None, destination, source, bind, probes, slot, next(self._ids), open=True)

    def close(self, sock: Socket, how: Close = "client", *, at: float | None = None) -> None:
        """Close an open socket: ``client`` (this side first), ``server``, ``reset`` (RST) or ``half``."""
        if how not in CLOSES:
            raise ValueError(f"close {how!r}: expected one of {', '.join(CLOSES)}")
        if not sock.open:
            raise ValueError("socket is not open")
        if at is not None:
            self.advance(at)
        sock.open = False
        dst = self._index[sock.destination]
        combo = self._combo[(how, sock.bound)]
        self.lifecycle.close_now(self.now, (sock.source, dst, sock.slot, combo, sock.ident, sock.opened))

    @property
    def time_wait(self) -> int:
        """4-tuples in TIME_WAIT now."""
        return self.lifecycle.time_wait

    @property
    def fin_wait2(self) -> int:
        """4-tuples in FIN_WAIT2 now."""
        return self.lifecycle.fin_wait2
