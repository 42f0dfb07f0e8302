"""The run-time state of connection pools: a pool per (workload, host, destination), its connections, its requests."""

from __future__ import annotations

from collections import deque

from ..core.hooks import Connection
from .spec import PoolSpec


class PooledConnection:
    """A connection a pool holds: the lifecycle's connection, requests served, and a stamp that changes
    whenever it enters or leaves the idle set (so a stale idle timeout is recognised)."""

    __slots__ = ("conn", "served", "stamp")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.served = 0
        self.stamp = 0


class Request:
    """A request (or, without a pool, a connection) and its retries: workload, source, destination.

    ``since``: when it began to wait for a connection (-1 when not waiting); ``stamp`` changes when it
    stops waiting, so a stale wait timeout is recognised.
    """

    __slots__ = ("dst", "since", "src", "stamp", "tries", "w")

    def __init__(self, w: int, src: int, dst: int) -> None:
        self.w = w
        self.src = src
        self.dst = dst
        self.since = -1.0
        self.stamp = 0
        self.tries = 0


class Pool:
    """One (workload, host, destination) pool: idle connections oldest first, connections open, requests waiting."""

    __slots__ = ("host", "idle", "open", "spec", "waiters")

    def __init__(self, spec: PoolSpec, host: int = 0) -> None:
        self.spec = spec
        self.host = host
        self.idle: deque[PooledConnection] = deque()
        self.open = 0
        self.waiters: deque[Request] = deque()
