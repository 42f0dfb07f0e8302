"""Saved ``ss -tanH`` snapshots turned into a first approximation of a trace (``portsim trace --from-ss``).

Input: the output of ``ss -tanH`` (state, Recv-Q, Send-Q, local address:port, peer address:port, and
anything after, which is ignored), several times, each snapshot preceded by a line holding only its
time in seconds, as ``while sleep 1; do date +%s.%N; ss -tanH; done > ss.log`` writes it. Files are
read in the order given, as one sequence of snapshots. With ``interval``, each file without time lines
is one snapshot instead, file k taken ``k * interval`` seconds after the first.

A connection is a 4-tuple seen ESTAB or in a later state (FIN-WAIT-1, FIN-WAIT-2, CLOSING, TIME-WAIT,
CLOSE-WAIT, LAST-ACK); the same 4-tuple seen ESTAB again after it closed or went missing is a new
connection. Kept are the connections this host opened: the local port is not one any snapshot shows
listening, and it lies in the ephemeral range. Its destination is the peer's address and port.

What snapshots cannot tell is guessed, and counted:

- start: a connection first seen in snapshot k > 0 opened halfway between snapshots k-1 and k; one
  already there in the first snapshot starts at 0 (the first snapshot's time, the origin of the trace);
- end: it closed halfway between the last snapshot that shows it ESTAB and the next one; one never
  seen ESTAB (only closing) opened and closed at once (duration 0); one still ESTAB in the last
  snapshot ends there, with its close side left empty (the workload's);
- close side: ``client`` when a snapshot shows it in FIN-WAIT-1, FIN-WAIT-2, CLOSING or TIME-WAIT here
  (this host closed first), ``server`` when in CLOSE-WAIT or LAST-ACK; one that vanished from ESTAB
  without a closing state seen is guessed ``server`` (a TIME-WAIT here would have lasted long enough
  to be seen, with snapshots closer together than TIME_WAIT).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from ..core.trace import MAX_DESTINATIONS, destination_label, shown_path
from .errors import ScenarioError

MAX_INPUT_BYTES = 1 << 30
"""Bytes one snapshot file may have: 1 GiB."""
MAX_LINE = 4096
"""Bytes one line of ss output may have."""
MAX_CONNECTIONS = 2_000_000
"""Distinct connections followed over all snapshots (about 500 MB)."""
MAX_SNAPSHOTS = 1_000_000
EPHEMERAL = (32768, 60999)
"""Linux's default ip_local_port_range."""
OPENING = frozenset({"SYN-SENT", "SYN-RECV", "NEW-SYN-RECV"})
"""States before ESTAB: not (yet) connections."""
CLIENT_CLOSING = frozenset({"FIN-WAIT-1", "FIN-WAIT-2", "CLOSING", "TIME-WAIT"})
SERVER_CLOSING = frozenset({"CLOSE-WAIT", "LAST-ACK"})
IGNORED = frozenset({"LISTEN", "CLOSE", "UNCONN", "UNKNOWN"}) | OPENING
STATES = frozenset({"ESTAB"}) | CLIENT_CLOSING | SERVER_CLOSING | IGNORED


class SnapshotError(ScenarioError):
    """Snapshots that cannot be read: ``file:line: problem``."""


@dataclass
class _Connection:
    first: int
    """The snapshot it was first seen in."""
    last_seen: int
    last_estab: int = -1
    """The last snapshot showing it ESTAB (-1: none)."""
    side: str = ""
    """``client`` or ``server`` once a closing state has been seen."""


@dataclass(frozen=True)
class TraceRow:
    """One connection of the converted trace (seconds from the first snapshot)."""

    start: float
    duration: float
    destination: str
    close: str


@dataclass
class Conversion:
    """The converted trace, and what had to be guessed."""

    rows: list[TraceRow] = field(default_factory=list)
    snapshots: int = 0
    span: float = 0.0
    """Seconds from the first snapshot to the last."""
    origin: float = 0.0
    """The first snapshot's time, as written (seconds): time 0 of the trace."""
    before_first: int = 0
    """Connections already there in the first snapshot (start 0)."""
    still_open: int = 0
    """Connections still ESTAB in the last snapshot (end there, close side empty)."""
    seen_once: int = 0
    """Connections seen in one snapshot only."""
    never_established: int = 0
    """Connections seen only closing (opened and closed between two snapshots: duration 0)."""
    client: int = 0
    server: int = 0
    vanished: int = 0
    """Connections gone from ESTAB without a closing state seen: guessed ``server``."""
    accepted: int = 0
    """Connections left out: their local port was listening (this host accepted them)."""
    outside: int = 0
    """Connections left out: their local port lies outside the ephemeral range."""
    opening: int = 0
    """Lines left out: SYN-SENT or SYN-RECV, not yet connections."""
    destinations: dict[str, int] = field(default_factory=dict)
    """Connections per destination, in order of first appearance."""


def _address(text: str) -> tuple[str, str]:
    """(host, port) of ss's ``address:port`` (``[v6]:port``, ``*:*``, ``host%iface:port``); ValueError if not one."""
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port:
        raise ValueError(f"{text[:60]!r} is not address:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    host = host.partition("%")[0]
    return host, port


class _Reader:
    """Snapshots from the files, in order: (snapshot index, time, line, state, local, peer), one line at a time."""

    def __init__(self, paths: Sequence[str], interval: float | None) -> None:
        self.paths = paths
        self.interval = interval
        self.times: list[float] = []

    def lines(self) -> Iterator[tuple[str, int, list[str]]]:
        """(file name, line number, fields) of every line; times appended to ``times`` as they come."""
        for n, path in enumerate(self.paths):
            name = shown_path(path)
            timed_file = False
            try:
                fh = open(path, "rb")  # noqa: SIM115 (closed below)
            except OSError as exc:
                raise SnapshotError(f"{name}: cannot read: {exc.strerror or exc}") from None
            with fh:
                for number, fields in self._fields(fh, name):
                    if len(fields) == 1:
                        try:
                            t = float(fields[0])
                        except ValueError:
                            raise SnapshotError(
                                f"{name}:{number}: {fields[0][:40]!r} is neither a time nor ss output"
                            ) from None
                        if not 0 <= t < 1e12:
                            raise SnapshotError(f"{name}:{number}: time {t:g} is not seconds since 1970")
                        if self.times and t <= self.times[-1]:
                            raise SnapshotError(
                                f"{name}:{number}: snapshot time {t:.3f} is not after the previous one "
                                f"({self.times[-1]:.3f})"
                            )
                        if self.interval is not None:
                            raise SnapshotError(
                                f"{name}:{number}: a time line, with --interval (give one or the other)"
                            )
                        timed_file = True
                        self._add(t, name, number)
                        continue
                    if not timed_file:
                        if self.interval is None:
                            raise SnapshotError(
                                f"{name}:{number}: ss output before any time line (write one before each snapshot, "
                                "as date +%s.%N does, or give --interval for one snapshot per file)"
                            )
                        if len(self.times) <= n:
                            self._add(n * self.interval, name, number)
                    yield name, number, fields
            if self.interval is not None and len(self.times) <= n:
                self._add(n * self.interval, name, 1)  # an empty snapshot: no connections at all

    def _add(self, t: float, name: str, number: int) -> None:
        if len(self.times) >= MAX_SNAPSHOTS:
            raise SnapshotError(f"{name}:{number}: more than {MAX_SNAPSHOTS:,} snapshots")
        self.times.append(t)

    def _fields(self, fh: BinaryIO, name: str) -> Iterator[tuple[int, list[str]]]:
        total = 0
        number = 0
        while True:
            raw = fh.readline(MAX_LINE + 1)
            if not raw:
                return
            number += 1
            total += len(raw)
            if total > MAX_INPUT_BYTES:
                raise SnapshotError(f"{name}:{number}: larger than {MAX_INPUT_BYTES >> 30} GiB")
            if len(raw) > MAX_LINE:
                raise SnapshotError(f"{name}:{number}: line longer than {MAX_LINE} bytes; not ss output")
            fields = raw.decode("utf-8", errors="replace").split()
            if fields:
                yield number, fields


def convert(paths: Sequence[str], interval: float | None = None, ephemeral: tuple[int, int] = EPHEMERAL) -> Conversion:
    """The trace of the connections this host opened, from saved ``ss -tanH`` snapshots.

    Raises SnapshotError (``file:line: problem``) on input it cannot read.
    """
    reader = _Reader(paths, interval)
    listening: set[int] = set()
    open_now: dict[tuple[str, str], _Connection] = {}
    done: list[tuple[tuple[str, str], _Connection]] = []
    out = Conversion()
    for name, number, fields in reader.lines():
        k = len(reader.times) - 1
        if fields[0] == "tcp" or fields[0] == "tcp6":
            fields = fields[1:]
        elif fields[0] in {"udp", "raw", "u_str", "u_dgr", "u_seq", "nl", "p_raw", "p_dgr", "v_str", "v_dgr", "xdp"}:
            continue
        if len(fields) < 5:
            raise SnapshotError(
                f"{name}:{number}: {len(fields)} fields; ss -tanH gives state, Recv-Q, Send-Q, local, peer"
            )
        state, local, peer = fields[0], fields[3], fields[4]
        if state not in STATES:
            raise SnapshotError(f"{name}:{number}: unknown TCP state {state[:20]!r} (is this ss -tanH output?)")
        try:
            local_port = _address(local)[1]
            peer_host, peer_port = _address(peer)
        except ValueError as exc:
            raise SnapshotError(f"{name}:{number}: {exc}") from None
        if state == "LISTEN":
            if local_port.isdigit():
                listening.add(int(local_port))
            continue
        if state in OPENING:
            out.opening += 1
            continue
        if state in IGNORED:
            continue
        key = (local, peer)
        conn = open_now.get(key)
        if conn is not None and (conn.last_seen < k - 1 or (state == "ESTAB" and conn.side)):
            done.append((key, conn))  # gone for a snapshot, or closed and now established again: a new one
            conn = None
        if conn is None:
            if len(done) + len(open_now) >= MAX_CONNECTIONS:
                raise SnapshotError(f"{name}:{number}: more than {MAX_CONNECTIONS:,} connections")
            try:
                host = f"[{peer_host}]" if ":" in peer_host else peer_host
                destination_label(f"{host}:{peer_port}")
                int(local_port)
            except ValueError as exc:
                raise SnapshotError(f"{name}:{number}: {exc}") from None
            conn = open_now[key] = _Connection(first=k, last_seen=k)
        conn.last_seen = k
        if state == "ESTAB":
            conn.last_estab = k
        elif state in CLIENT_CLOSING:
            conn.side = conn.side or "client"
        else:
            conn.side = conn.side or "server"
    if not reader.times:
        raise SnapshotError(f"{shown_path(paths[0])}: no snapshots")
    done.extend(open_now.items())
    _rows(out, done, reader.times, listening, ephemeral)
    return out


def _rows(
    out: Conversion,
    connections: list[tuple[tuple[str, str], _Connection]],
    times: list[float],
    listening: set[int],
    ephemeral: tuple[int, int],
) -> None:
    """Fill ``out`` with the rows of the connections this host opened, and the counts of what was guessed."""
    origin = times[0]
    last = len(times) - 1
    out.snapshots, out.span, out.origin = len(times), times[-1] - origin, origin

    def midpoint(k: int) -> float:
        """Halfway between snapshots k-1 and k, from the origin."""
        return (times[k - 1] + times[k]) / 2 - origin

    rows: list[tuple[float, int, TraceRow]] = []
    for order, ((local, peer), conn) in enumerate(connections):
        port = int(_address(local)[1])
        if port in listening:
            out.accepted += 1
            continue
        if not ephemeral[0] <= port <= ephemeral[1]:
            out.outside += 1
            continue
        start = 0.0 if conn.first == 0 else midpoint(conn.first)
        out.before_first += conn.first == 0
        out.seen_once += conn.last_seen == conn.first
        side = conn.side
        if conn.last_estab < 0:
            end = start
            out.never_established += 1
        elif conn.last_estab == last:
            end = times[last] - origin
            out.still_open += 1
        else:
            end = midpoint(conn.last_estab + 1)
            if not side:
                side = "server"
                out.vanished += 1
        out.client += side == "client"
        out.server += side == "server"
        peer_host, peer_port = _address(peer)
        destination = destination_label(
            f"[{peer_host}]:{peer_port}" if ":" in peer_host else f"{peer_host}:{peer_port}"
        )
        if destination not in out.destinations and len(out.destinations) >= MAX_DESTINATIONS:
            raise SnapshotError(f"more than {MAX_DESTINATIONS:,} destinations: more than a workload may list")
        out.destinations[destination] = out.destinations.get(destination, 0) + 1
        rows.append((start, order, TraceRow(start, max(end - start, 0.0), destination, side)))
    rows.sort(key=lambda r: (r[0], r[1]))
    out.rows = [row for _, _, row in rows]
