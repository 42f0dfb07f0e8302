"""A scriptable host: drive the simulated port pool one socket call at a time.

Where a scenario describes workloads in bulk, ``SocketHost`` replays exact sequences of socket calls,
the way the kernel measurements were made::

    host = SocketHost("linux", port_range=(40000, 40063), seed=1)
    first = host.connect("127.0.0.1", 5001)          # a Socket with .port, or .errno on failure
    host.close(first, "client", at=0.5)              # this side closes first: TIME_WAIT for 60 s
    host.advance(62.0)

It is built by the same ``build_host`` as the simulator, so what it shows is what a run does. Times
are seconds and never go backwards.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError

from ..config.errors import ScenarioError, describe, format_path
from ..config.host import Host
from ..config.workload import Destination
from ..core.host import build_host, set_reusable
from ..core.transitions import CLOSES, Close

ERRNO_CONNECT = "EADDRNOTAVAIL"
ERRNO_BIND = "EADDRINUSE"
CLASSES: tuple[tuple[Close, bool], ...] = ((CLOSES[0], False), (CLOSES[0], True))
"""Connection classes: plain connect() and bind() then connect(); the close side is given at each close."""

M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], data: dict[str, Any], what: str) -> M:
    """``model`` validated from ``data``, or a one-line ScenarioError (a ValueError) naming the key."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        path, problem = describe(exc.errors()[0], data, model)
        raise ScenarioError(f"SocketHost {what}: {format_path(path)}: {problem}") from None


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
            host = host.given()
        self.host = _validated(Host, {**dict(host), **overrides}, "host")
        resolved = self.host.resolved
        self.destinations: list[tuple[str, int]] = []
        self._index: dict[tuple[str, int], int] = {}
        self.parts = build_host(
            resolved, self.destinations, CLASSES, np.random.default_rng(seed), n_destinations=max_destinations
        )
        self.space, self.policy, self.pool, self.lifecycle = (
            self.parts.space,
            self.parts.policy,
            self.parts.pool,
            self.parts.lifecycle,
        )
        self._max_destinations = max_destinations
        self._ids = itertools.count()
        self.now = 0.0

    def _destination(self, address: str, port: int) -> int:
        key = _validated(Destination, {"address": address, "port": port}, "destination").endpoint
        index = self._index.get(key)
        if index is None:
            if len(self.destinations) >= self._max_destinations:
                raise ValueError(f"more than {self._max_destinations} destinations")
            index = self._index[key] = len(self.destinations)
            self.destinations.append(key)
            set_reusable(self.parts, CLASSES, index)
        return index

    def advance(self, to: float) -> None:
        """Move the clock to ``to``, applying every close and timer expiry due by then."""
        if not math.isfinite(to):
            raise ValueError(f"time must be a finite number of seconds (got {to})")
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
        if not 0 <= source < self.host.resolved.source_addresses:
            raise ValueError(
                f"source {source}: the host has source addresses 0..{self.host.resolved.source_addresses - 1}"
            )
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
        if recycled is not None:
            self.lifecycle.recycled(recycled, self.now)
        ident = next(self._ids)
        self.lifecycle.start((source, dst, slot, int(bind), ident, self.now))
        port_number = self.host.resolved.low + pool.port_offset(slot)
        return Socket(port_number, None, destination, source, bind, probes, slot, ident, open=True, opened=self.now)

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
        conn = (sock.source, dst, sock.slot, int(sock.bound), sock.ident, sock.opened)
        self.lifecycle.close_now(self.now, conn, how)

    def __repr__(self) -> str:
        host = self.host.resolved
        return (
            f"SocketHost({host.preset!r}, ports {host.low}-{host.high}, policy {host.policy_name}, now={self.now:g} s, "
            f"established={self.lifecycle.established}, time_wait={self.time_wait}, fin_wait2={self.fin_wait2})"
        )

    @property
    def time_wait(self) -> int:
        """4-tuples in TIME_WAIT now."""
        return self.lifecycle.time_wait

    @property
    def fin_wait2(self) -> int:
        """4-tuples in FIN_WAIT2 now."""
        return self.lifecycle.fin_wait2

    @property
    def seconds_established(self) -> float:
        """Seconds connections spent ESTABLISHED, over those already closed."""
        return self.lifecycle.levels.seconds_established
