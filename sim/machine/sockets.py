"""This machine's TCP sockets right now, through psutil: what ``ss -tanp`` (or ``lsof -i``) shows.

Without root, psutil sees every socket on Linux but not which process owns other users' sockets; on macOS it
sees only the sockets of this user's processes. A snapshot says, in one line each, what it could not see.
TIME_WAIT sockets, and connections the process already closed (FIN_WAIT, LAST_ACK), belong to no process.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

OWNED_STATES = frozenset({"LISTEN", "ESTABLISHED", "SYN_SENT", "CLOSE_WAIT"})
"""States in which a socket normally has a process (an accepted connection not yet accept()ed aside)."""
NO_PROCESS_STATES = frozenset({"TIME_WAIT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "CLOSING", "LAST_ACK"})
"""States in which a socket may belong to no process: the kernel keeps it after close(), or before accept()."""
STATE_ORDER = (
    "LISTEN",
    "SYN_SENT",
    "SYN_RECV",
    "ESTABLISHED",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "CLOSE_WAIT",
    "CLOSING",
    "LAST_ACK",
    "TIME_WAIT",
    "CLOSE",
    "NONE",
)
"""TCP states in the order of a connection's life (psutil's names)."""


@dataclass(frozen=True, order=True)
class Endpoint:
    """An address and a port; IPv4-mapped IPv6 addresses are written as IPv4."""

    address: str
    port: int

    def __str__(self) -> str:
        return f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"

    @classmethod
    def of(cls, address: str, port: int) -> Endpoint:
        """An endpoint, with ``::ffff:a.b.c.d`` unmapped to ``a.b.c.d``."""
        try:
            parsed = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            return cls(address, port)
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
            return cls(str(parsed.ipv4_mapped), port)
        return cls(address, port)

    def is_loopback(self) -> bool:
        """Whether the address is a loopback address."""
        try:
            return ipaddress.ip_address(self.address.split("%")[0]).is_loopback
        except ValueError:
            return False


@dataclass(frozen=True)
class Socket:
    """One TCP socket: its state, its two ends, and its process where visible."""

    state: str
    local: Endpoint
    remote: Endpoint | None
    pid: int | None = None
    process: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The socket as JSON (addresses as ``address:port`` strings)."""
        return {
            "state": self.state,
            "local": str(self.local),
            "remote": str(self.remote) if self.remote else None,
            "pid": self.pid,
            "process": self.process,
        }


@dataclass(frozen=True)
class Snapshot:
    """The TCP sockets seen at one moment, and what could not be seen."""

    time: float
    """time.monotonic() when it was taken."""
    sockets: tuple[Socket, ...]
    limits: tuple[str, ...] = field(default=())
    """One line each: what this snapshot could not see, and why."""

    def listening_ports(self) -> frozenset[int]:
        """Local ports some socket listens on."""
        return frozenset(s.local.port for s in self.sockets if s.state == "LISTEN")

    def states(self) -> dict[str, int]:
        """How many sockets are in each state, in the order of a connection's life."""
        counts: dict[str, int] = {}
        for s in self.sockets:
            counts[s.state] = counts.get(s.state, 0) + 1
        ordered = {state: counts.pop(state) for state in STATE_ORDER if state in counts}
        return {**ordered, **dict(sorted(counts.items()))}


def take_snapshot(root: bool) -> Snapshot:
    """This machine's TCP sockets now (``root``: whether this process may see every socket's owner)."""
    import psutil

    limits: list[str] = []
    try:
        raw: list[Any] = list(psutil.net_connections(kind="tcp"))
        taken = time.monotonic()
    except psutil.AccessDenied:
        raw = _own_processes_sockets()
        taken = time.monotonic()
        limits.append(
            "not root: only the sockets of this user's processes are listed (no other users', no TIME_WAIT); "
            "root sees them all"
        )
    except OSError as exc:
        return Snapshot(time.monotonic(), (), (f"cannot list sockets: {exc.strerror or exc}",))
    names = _names(c.pid for c in raw)
    sockets = tuple(_socket(c, names) for c in raw)
    hidden = sum(1 for s in sockets if s.pid is None and s.state in OWNED_STATES)
    if hidden and not root:
        limits.append(
            f"not root: {hidden} of this machine's {len(sockets)} sockets show no process: "
            "other users' processes are visible to root only"
        )
    return Snapshot(taken, sockets, tuple(limits))


def _own_processes_sockets() -> list[Any]:
    """Each process's own TCP sockets, for the processes this user may inspect (macOS without root)."""
    import psutil

    out: list[Any] = []
    for proc in psutil.process_iter():
        try:
            conns = proc.net_connections(kind="tcp")
        except (psutil.Error, OSError):
            continue
        out.extend(_WithPid(c, proc.pid) for c in conns)
    return out


@dataclass(frozen=True)
class _WithPid:
    """A per-process connection (which has no pid field) with its process's pid."""

    conn: Any
    pid: int

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def _names(pids: Iterable[int | None]) -> dict[int, str]:
    """Process names by pid, for the processes that still exist and may be inspected."""
    import psutil

    names: dict[int, str] = {}
    for pid in set(pids):
        if pid is None:
            continue
        try:
            names[pid] = psutil.Process(pid).name()
        except (psutil.Error, OSError):
            continue
    return names


def _socket(conn: Any, names: dict[int, str]) -> Socket:
    local = Endpoint.of(conn.laddr.ip, conn.laddr.port) if conn.laddr else Endpoint("*", 0)
    remote = Endpoint.of(conn.raddr.ip, conn.raddr.port) if conn.raddr else None
    pid = conn.pid if isinstance(conn.pid, int) else None
    return Socket(str(conn.status), local, remote, pid, names.get(pid) if pid is not None else None)
