"""The client layer: requests through connection pools, and retries, in front of the host's lifecycle.

It keeps its own events (requests ending, retries due, idle connections and pool waits timing out)
and applies every one due, in time order and interleaved with the lifecycle's, whenever the clock is
about to be read (``advance``), as the lifecycle does with its calendar. Connections it opens are
counted with ``Lifecycle.start`` and closed with ``Lifecycle.close_now``, so the lifecycle keeps its
rules and the host's figures stay what they are for any connection.

Behind a translator (``Translated``) each request is traffic on its connection when it starts and when it
ends, which restarts the mapping's idle timer. A request handed a pooled connection whose mapping the
translator dropped while it sat idle, or one that outlasts the idle timeout itself (a long poll: no traffic
until its response), meets the translator's RST: the connection closes at once (``nat_idle``) and the request
fails with cause ``reset`` (retried when the workload retries).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..core.hooks import Connection, Driven
from ..core.transitions import Close
from .pools import Pool, PooledConnection, Request
from .recorder import CAUSES, ClientRecorder, ClientRecords
from .retry import Backoff
from .spec import PoolSpec

INF = math.inf
Connect = Callable[[int, int, int, float], Connection | None]
"""connect(workload, source, destination, time): a connection ESTABLISHED and counted, or None on failure."""

DONE, RETRY = 0, 1


class Translated(Protocol):
    """The translator in front of the hosts, as the client layer sees it."""

    def advance(self, now: float) -> None:
        """Bring the hosts and the translator up to ``now``."""

    def mapped(self, conn: Connection) -> bool:
        """Whether ``conn`` still has its mapping (as of the last ``advance``)."""

    def touch(self, conn: Connection, now: float) -> None:
        """Traffic on ``conn`` at ``now``: its mapping's idle timer starts again."""


@dataclass
class ClientWorkload:
    """What the layer needs of one workload."""

    index: int
    destinations: list[int]
    """Destination indices (scenario order) the workload's pools serve."""
    pool: PoolSpec | None
    """None: one connection per attempt, closed at its drawn end by the lifecycle (no pool)."""
    backoff: Backoff | None
    holds: Iterator[float]
    """Request latencies (pooled) or connection durations (no pool)."""
    close: Close


class ClientLayer:
    """Request and retry events for the workloads that need them, applied in time order with the lifecycle's."""

    def __init__(
        self,
        lifecycle: Driven,
        connect: Connect,
        workloads: Sequence[ClientWorkload],
        n_destinations: int,
        translated: Translated | None = None,
        host_of_source: Sequence[int] | None = None,
    ) -> None:
        """``translated``: the translator the connections pass through, if any; ``host_of_source``: per source
        index, its host in a fleet (each host runs its own client, with pools of its own; one host without)."""
        self.lifecycle = lifecycle
        self.translated = translated
        self._host_of = None if host_of_source is None else list(host_of_source)
        self.connect = connect
        self.workloads = {cw.index: cw for cw in workloads}
        self.recorder = ClientRecorder([cw.index for cw in workloads], n_destinations)
        self.pools: dict[tuple[int, int, int], Pool] = {}
        """Per (workload, host, destination), made at its first request."""
        self._pairs = [(cw.index, dst) for cw in workloads if cw.pool is not None for dst in cw.destinations]
        """The (workload, destination) pairs the figures count pools by (over hosts)."""
        self.idle: dict[tuple[int, int], int] = {}
        """Idle connections per (workload, host), over the workload's destinations."""
        self.idle_total = 0
        self._events: list[tuple[float, int, int, object]] = []
        self._seq = 0
        # constant timeouts per workload, so each queue stays in time order: (time, item, stamp)
        self._idle_expiries: list[tuple[deque[tuple[float, PooledConnection, int]], float, bool]] = []
        self._wait_expiries: list[tuple[deque[tuple[float, Request, int]], float]] = []
        self._idle_queue: dict[int, deque[tuple[float, PooledConnection, int]]] = {}
        self._wait_queue: dict[int, deque[tuple[float, Request, int]]] = {}
        for cw in workloads:
            if cw.pool is None:
                continue
            timeout, by_server = cw.pool.idle_close
            if timeout is not None:
                queue: deque[tuple[float, PooledConnection, int]] = deque()
                self._idle_queue[cw.index] = queue
                self._idle_expiries.append((queue, timeout, by_server))
            if cw.pool.wait_timeout is not None and cw.pool.max_per_host is not None:
                waits: deque[tuple[float, Request, int]] = deque()
                self._wait_queue[cw.index] = waits
                self._wait_expiries.append((waits, cw.pool.wait_timeout))

    # ----------------------------------------------------------------- clock

    def advance(self, now: float) -> None:
        """Apply every client event and lifecycle event due at or before ``now``, in time order."""
        events = self._events
        lifecycle = self.lifecycle
        while True:
            t = events[0][0] if events else INF
            source = -1
            for i, (queue, _, _) in enumerate(self._idle_expiries):
                if queue and queue[0][0] < t:
                    t, source = queue[0][0], i
            waited = -1
            for i, (waits, _) in enumerate(self._wait_expiries):
                if waits and waits[0][0] < t:
                    t, waited, source = waits[0][0], i, -1
            if t > now:
                break
            lifecycle.advance(t)
            if waited >= 0:
                _, request, stamp = self._wait_expiries[waited][0].popleft()
                if request.stamp == stamp:
                    self._wait_timed_out(request, t)
            elif source >= 0:
                queue, _, by_server = self._idle_expiries[source]
                _, pc, stamp = queue.popleft()
                if pc.stamp == stamp:
                    self._idle_expired(pc, t, by_server)
            else:
                _, _, kind, item = heapq.heappop(events)
                if kind == DONE:
                    assert isinstance(item, tuple)
                    self._done(item[0], item[1], t)
                else:
                    assert isinstance(item, Request)
                    self._retry(item, t)
        lifecycle.advance(now)

    def _pool(self, w: int, src: int, dst: int) -> Pool:
        """The pool of workload ``w`` on the host of source ``src`` toward ``dst``."""
        key = (w, 0 if self._host_of is None else self._host_of[src], dst)
        pool = self.pools.get(key)
        if pool is None:
            spec = self.workloads[w].pool
            assert spec is not None
            pool = self.pools[key] = Pool(spec, key[1])
        return pool

    def _push(self, t: float, kind: int, item: object) -> None:
        self._seq += 1
        heapq.heappush(self._events, (t, self._seq, kind, item))

    # ----------------------------------------------------------------- arrivals

    def arrive(self, w: int, src: int, dst: int, now: float) -> None:
        """A request (or, without a pool, a connection) of workload ``w`` arrives at ``now``."""
        self.advance(now)
        request = Request(w, src, dst)
        self.recorder.arrived(w, dst)
        self._serve(request, now)

    def _serve(self, request: Request, now: float) -> None:
        cw = self.workloads[request.w]
        if cw.pool is None:
            conn = self.connect(request.w, request.src, request.dst, now)
            if conn is None:
                self._failed(request, "connect", now)
            else:
                self.recorder.opened(request.w, request.dst)
                self.recorder.started(request.w, request.dst, 0.0)
                self.recorder.completed(request.w, request.dst)
                self.lifecycle.open(now + next(cw.holds), conn)
            return
        pool = self._pool(request.w, request.src, request.dst)
        spec = cw.pool
        while pool.idle:
            pc = pool.idle.pop() if spec.order == "lifo" else pool.idle.popleft()
            pc.stamp += 1
            self._idle_change(request.w, pool.host, request.dst, -1, now)
            if spec.max_lifetime is not None and now - pc.conn[5] >= spec.max_lifetime:
                self._close(pool, pc, now, "client", "worn")
                continue
            if self._lost_mapping(request, pool, pc, now):  # dropped while idle: the request meets the RST
                return
            self._start(request, pc, now)
            return
        if spec.max_per_host is None or pool.open < spec.max_per_host:
            self._open(request, pool, now)
        elif spec.when_full == "fail":
            self._failed(request, "pool_full", now)
        else:
            request.since = now
            pool.waiters.append(request)
            waits = self._wait_queue.get(request.w)
            if waits is not None:
                assert spec.wait_timeout is not None
                waits.append((now + spec.wait_timeout, request, request.stamp))

    def _open(self, request: Request, pool: Pool, now: float) -> None:
        conn = self.connect(request.w, request.src, request.dst, now)
        if conn is None:
            self._failed(request, "connect", now)
            return
        self.lifecycle.start(conn)
        pool.open += 1
        self.recorder.opened(request.w, request.dst)
        self._start(request, PooledConnection(conn), now)

    def _start(self, request: Request, pc: PooledConnection, now: float) -> None:
        if self.translated is not None:
            self.translated.touch(pc.conn, now)
        pc.served += 1
        self.recorder.started(request.w, request.dst, now - request.since if request.since >= 0 else 0.0)
        self._push(now + next(self.workloads[request.w].holds), DONE, (request, pc))

    # ----------------------------------------------------------------- ends

    def _done(self, request: Request, pc: PooledConnection, now: float) -> None:
        w, dst = request.w, request.dst
        cw = self.workloads[w]
        spec = cw.pool
        assert spec is not None
        pool = self._pool(w, pc.conn[0], dst)
        if self._lost_mapping(request, pool, pc, now):  # a request longer than the idle timeout: so did its response
            return
        if self.translated is not None:
            self.translated.touch(pc.conn, now)  # the response: traffic
        self.recorder.completed(w, dst)
        if not spec.keep_alive:
            self._close(pool, pc, now, cw.close, "request")
            return
        if (spec.max_requests is not None and pc.served >= spec.max_requests) or (
            spec.max_lifetime is not None and now - pc.conn[5] >= spec.max_lifetime
        ):
            self._close(pool, pc, now, "client", "worn")
            return
        if pool.waiters:
            waiter = pool.waiters.popleft()
            waiter.stamp += 1
            self._start(waiter, pc, now)
            return
        idle_cap, total_cap = spec.max_idle_per_host, spec.max_idle_total
        if (idle_cap is None or len(pool.idle) < idle_cap) and (
            total_cap is None or self.idle.get((w, pool.host), 0) < total_cap
        ):
            pc.stamp += 1
            pool.idle.append(pc)
            self._idle_change(w, pool.host, dst, 1, now)
            queue = self._idle_queue.get(w)
            if queue is not None:
                timeout, _ = spec.idle_close
                assert timeout is not None
                queue.append((now + timeout, pc, pc.stamp))
        else:
            self._close(pool, pc, now, "client", "surplus")

    def _lost_mapping(self, request: Request, pool: Pool, pc: PooledConnection, now: float) -> bool:
        """Whether the translator has dropped ``pc``'s mapping by ``now``: then ``request`` on it meets the
        translator's RST, the connection closes at once and the request fails (``reset``)."""
        translated = self.translated
        if translated is None:
            return False
        translated.advance(now)
        if translated.mapped(pc.conn):
            return False
        self._close(pool, pc, now, "reset", "nat_idle")
        self._failed(request, "reset", now)
        return True

    def _idle_expired(self, pc: PooledConnection, now: float, by_server: bool) -> None:
        w, dst = pc.conn[3], pc.conn[1]
        pool = self._pool(w, pc.conn[0], dst)
        gone = pool.idle.popleft()
        assert gone is pc
        pc.stamp += 1
        self._idle_change(w, pool.host, dst, -1, now)
        self._close(pool, pc, now, "server" if by_server else "client", "server_idle" if by_server else "idle")

    def _close(self, pool: Pool, pc: PooledConnection, now: float, side: Close, reason: str) -> None:
        """Close a pooled connection; a request waiting for room in the pool then opens a new one."""
        self.lifecycle.close_now(now, pc.conn, side)
        pool.open -= 1
        self.recorder.closed(pc.conn[3], pc.conn[1], reason)
        spec = pool.spec
        while pool.waiters and (spec.max_per_host is None or pool.open < spec.max_per_host):
            waiter = pool.waiters.popleft()
            waiter.stamp += 1
            self._open(waiter, pool, now)

    def _idle_change(self, w: int, host: int, dst: int, step: int, now: float) -> None:
        self.idle[(w, host)] = self.idle.get((w, host), 0) + step
        self.idle_total += step
        self.recorder.idle(w, dst, step, now)

    # ----------------------------------------------------------------- failures

    def _wait_timed_out(self, request: Request, now: float) -> None:
        pool = self._pool(request.w, request.src, request.dst)
        gone = pool.waiters.popleft()
        assert gone is request
        request.stamp += 1
        self._failed(request, "pool_timeout", now)

    def _failed(self, request: Request, cause: str, now: float) -> None:
        backoff = self.workloads[request.w].backoff
        if backoff is not None and request.tries < backoff.limit:
            request.tries += 1
            request.since = -1.0
            self._push(now + backoff.wait(request.tries), RETRY, request)
        else:
            self.recorder.failed(request.w, request.dst, cause)

    def _retry(self, request: Request, now: float) -> None:
        self.recorder.retried(request.w, request.dst)
        self._serve(request, now)

    # ----------------------------------------------------------------- measuring

    def start_window(self, now: float) -> None:
        """Count from ``now`` on."""
        self.recorder.start_window(now, self._pairs)

    def records(self, now: float) -> ClientRecords:
        """The figures of the measured window ending at ``now``."""
        waiting: dict[tuple[int, int], int] = {}
        for (w, _, dst), pool in self.pools.items():
            if pool.waiters:
                waiting[(w, dst)] = waiting.get((w, dst), 0) + len(pool.waiters)
        return self.recorder.records(now, waiting)


__all__ = ["CAUSES", "ClientLayer", "ClientWorkload", "Connect"]
