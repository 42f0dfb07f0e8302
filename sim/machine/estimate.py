"""Workloads estimated from two snapshots of this machine's sockets: new connections per second toward each
destination, how long they stay open, and who closes them. Crude, and it says how.

Per destination, from the connections this host opened (see ``host.outgoing``):

- rate: the 4-tuples toward it in the second snapshot that were not in the first (whatever their state: one
  opened and closed in between still shows, in TIME_WAIT, when this host closed it), plus those in TIME_WAIT in
  the first and open in the second (taken over by tw_reuse), over the time between the snapshots. With none new:
  its TIME_WAIT sockets over the TIME_WAIT length (Little's law: the close rate over the last TIME_WAIT length).
  Connections the peer closed in between leave no trace here and are missed.
- duration: its open connections (SYN_SENT, ESTABLISHED, CLOSE_WAIT) over the rate (Little's law), exponential.
- close: ``client`` when TIME_WAIT, FIN_WAIT or CLOSING sockets toward it were seen, else ``server``.

A destination with neither new connections nor TIME_WAIT holds long-lived connections only: no workload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .host import outgoing
from .settings import MachineSettings
from .sockets import Endpoint, Snapshot

OPEN_STATES = frozenset({"SYN_SENT", "ESTABLISHED", "CLOSE_WAIT"})
CLIENT_CLOSE_STATES = frozenset({"TIME_WAIT", "FIN_WAIT1", "FIN_WAIT2", "CLOSING"})
MIN_DURATION = 0.01
"""Seconds: the shortest mean duration estimated (a destination with nothing open when sampled)."""
MAX_DURATION = 86400.0


@dataclass(frozen=True)
class WorkloadEstimate:
    """What two snapshots say about the connections toward one destination."""

    destination: Endpoint
    rate: float
    """New connections per second."""
    rate_from: Literal["new", "time_wait", "none"]
    """How the rate was estimated: new 4-tuples, the TIME_WAIT count, or not at all (long-lived only)."""
    new: int
    open: int
    time_wait: int
    ports: int
    mean_duration: float
    close: Literal["client", "server"]

    def to_json(self) -> dict[str, Any]:
        """The estimate as JSON."""
        return {
            "destination": str(self.destination),
            "rate": self.rate,
            "rate_from": self.rate_from,
            "new_connections": self.new,
            "open": self.open,
            "time_wait": self.time_wait,
            "ports_held": self.ports,
            "mean_duration": self.mean_duration,
            "close": self.close,
        }


def estimate(
    first: Snapshot, second: Snapshot, settings: MachineSettings, time_wait: float, top: int
) -> list[WorkloadEstimate]:
    """One estimate for each of the ``top`` destinations holding the most ports in ``second``, most first.

    ``time_wait`` is the TIME_WAIT length in seconds. Raises ValueError when ``second`` is not after ``first``.
    """
    interval = second.time - first.time
    if not interval > 0:
        raise ValueError("the second snapshot must be taken after the first")
    before = {(s.local, s.remote): s.state for s in outgoing(first, settings)}
    groups: dict[Endpoint, list[tuple[Endpoint, str]]] = {}
    closing_seen: set[Endpoint] = set()
    for s in outgoing(first, settings):
        if s.remote is not None and s.state in CLIENT_CLOSE_STATES:
            closing_seen.add(s.remote)
    for s in outgoing(second, settings):
        if s.remote is not None:
            groups.setdefault(s.remote, []).append((s.local, s.state))
            if s.state in CLIENT_CLOSE_STATES:
                closing_seen.add(s.remote)
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:top]
    out = []
    for destination, sockets in ranked:
        new = sum(
            1
            for local, state in sockets
            if (local, destination) not in before
            or (before[(local, destination)] == "TIME_WAIT" and state in OPEN_STATES)
        )
        open_now = sum(1 for _, state in sockets if state in OPEN_STATES)
        waiting = sum(1 for _, state in sockets if state == "TIME_WAIT")
        rate_from: Literal["new", "time_wait", "none"]
        if new:
            rate, rate_from = new / interval, "new"
        elif waiting and time_wait > 0:
            rate, rate_from = waiting / time_wait, "time_wait"
        else:
            rate, rate_from = 0.0, "none"
        duration = min(max(open_now / rate, MIN_DURATION), MAX_DURATION) if rate > 0 else MAX_DURATION
        out.append(
            WorkloadEstimate(
                destination=destination,
                rate=rate,
                rate_from=rate_from,
                new=new,
                open=open_now,
                time_wait=waiting,
                ports=len(sockets),
                mean_duration=duration,
                close="client" if destination in closing_seen else "server",
            )
        )
    return out
