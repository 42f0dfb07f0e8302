"""The trace file: one row per connection that happened, read as a stream and checked row by row.

A trace is CSV text (ASCII, comma-separated, no quoting) with a header line naming its columns, in any
order: ``start`` (seconds from the start of the run), either ``duration`` (seconds ESTABLISHED) or
``end`` (the time it closed), ``destination`` (``address:port``, IPv6 addresses in brackets:
``[2001:db8::1]:443``) and, optionally, ``close`` (``client``, ``server``, ``reset`` or ``half``; an
empty cell takes the workload's ``close``). Rows are in order of ``start``; blank lines are skipped.

A trace file is untrusted input and may be large: it is read in chunks, never whole, and refused past
``MAX_BYTES`` bytes, ``MAX_ROWS`` rows, a line longer than ``MAX_LINE`` bytes or more than
``MAX_DESTINATIONS`` distinct destinations. Every problem is a ``TraceError`` naming the file and the
line (the header is line 1).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import stat
from collections.abc import Iterable, Iterator
from typing import Annotated, BinaryIO

from pydantic import Field

from .spec import MAX_SECONDS, Spec
from .transitions import CLOSES, Close

MAX_BYTES = 10 << 30
"""Bytes a trace file may have: 10 GiB (MAX_ROWS rows of about 100 bytes)."""
MAX_ROWS = 100_000_000
"""Rows a trace may have (10^8 connections: the default limit of a whole job's attempts)."""
MAX_LINE = 1024
"""Bytes a line may have (a row needs about 100)."""
MAX_DESTINATIONS = 1024
"""Distinct destinations a trace may name: the most a workload may list."""
CHUNK = 1 << 18
"""Bytes read at a time (memory holds about two chunks' lines)."""
COLUMNS = ("start", "duration", "end", "destination", "close")
DEFAULT_CLOSE = -1
"""The close side of a row that closes on the workload's side (no ``close`` column, or an empty cell)."""
_SPELLINGS = 4096
"""Destination spellings remembered with their canonical form (IPv6 has many spellings of one address)."""
_BOM = b"\xef\xbb\xbf"


class TraceError(ValueError):
    """A trace file that cannot be replayed: ``file:line: problem``."""


Row = tuple[int, float, float, str, int]
"""One connection of a trace: (line, start, duration, destination, close).

``line``: the line of the file it is on (the header is line 1); ``destination``: ``address:port`` in
canonical form (as ``Destination.label``); ``close``: its close side as an index into ``CLOSES``, or
DEFAULT_CLOSE for the workload's. A plain tuple: millions are made.
"""


class TraceFacts(Spec):
    """What reading a trace file found: filled in when a scenario is validated, never written by hand.

    ``file``, ``size`` and ``mtime_ns`` tell whether the file changed since (then it is read again);
    ``sha256`` is its content, so that results of another content are never reused.
    """

    file: Annotated[str, Field(min_length=1, max_length=4096)]
    """The file these facts are of (absolute)."""
    size: Annotated[int, Field(ge=0, le=MAX_BYTES)]
    mtime_ns: int
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    rows: Annotated[int, Field(ge=1, le=MAX_ROWS)]
    first_start: Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]
    last_start: Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]
    mean_duration: Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]
    destinations: Annotated[list[str], Field(min_length=1, max_length=MAX_DESTINATIONS)]
    """Every destination the trace names, in order of first appearance."""
    destination_lines: Annotated[list[int], Field(min_length=1, max_length=MAX_DESTINATIONS)]
    """The line on which each destination first appears."""
    sides: Annotated[list[Close], Field(max_length=len(CLOSES))] = Field(default_factory=list)
    """The close sides the ``close`` column names (empty: none, every row closes on the workload's side)."""


def shown_path(path: str, limit: int = 60) -> str:
    """A path for messages: relative to the current folder when inside it, shortened from the left."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        relative = path
    text = path if relative.startswith("..") else relative
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def destination_label(text: str) -> str:
    """The canonical ``address:port`` of ``text`` (IPv6 in brackets); ValueError with the reason if it is not one."""
    host, colon, port = text.rpartition(":")
    if not colon or not host:
        raise ValueError(f"destination {text[:60]!r} is not address:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if ":" not in host:
            raise ValueError(f"destination {text[:60]!r}: brackets are for IPv6 addresses only")
    elif ":" in host:
        raise ValueError(f"destination {text[:60]!r}: an IPv6 address goes in brackets, as [2001:db8::1]:443")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"destination {text[:60]!r}: {host[:50]!r} is not an IPv4 or IPv6 address") from None
    if not (port.isdigit() and len(port) <= 5 and 1 <= int(port) <= 65535):
        raise ValueError(f"destination {text[:60]!r}: the port must be a number from 1 to 65535")
    return f"[{address}]:{int(port)}" if address.version == 6 else f"{address}:{int(port)}"


class TraceReader:
    """The rows of one trace file, read in chunks and checked as they come.

    ``rows()`` may be iterated once. ``sha256`` holds the hash of what was read, and ``size`` and
    ``mtime_ns`` the file's, once it is open.
    """

    def __init__(self, path: str) -> None:
        """``path``: the trace file (its messages show it relative to the current folder)."""
        self.path = path
        self.name = shown_path(path)
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.mtime_ns = 0
        self.close_column = False
        """Whether the file has a ``close`` column."""

    def error(self, line: int | None, problem: str) -> TraceError:
        """A TraceError naming the file and ``line``."""
        return TraceError(f"{self.name}:{line}: {problem}" if line else f"{self.name}: {problem}")

    def _open(self) -> BinaryIO:
        """The file, open, once known to be a regular file within MAX_BYTES (checked before open(), which a FIFO
        would block, and again after)."""
        try:
            self._check(os.stat(self.path))
            fh = open(self.path, "rb")  # noqa: SIM115 (closed by rows())
        except FileNotFoundError:
            raise self.error(None, "no such file") from None
        except OSError as exc:
            raise self.error(None, f"cannot read: {exc.strerror or exc}") from None
        try:
            info = os.fstat(fh.fileno())
            self._check(info)
        except BaseException:
            fh.close()
            raise
        self.size, self.mtime_ns = info.st_size, info.st_mtime_ns
        return fh

    def _check(self, info: os.stat_result) -> None:
        if stat.S_ISDIR(info.st_mode):
            raise self.error(None, "is a directory, not a trace file")
        if not stat.S_ISREG(info.st_mode):
            raise self.error(None, "not a regular file")
        if info.st_size > MAX_BYTES:
            raise self.error(None, f"larger than {MAX_BYTES >> 30} GiB; not a trace portsim replays")

    def _lines(self, fh: BinaryIO) -> Iterator[list[str]]:
        """The file's lines, a chunk's worth at a time, each within MAX_LINE; the hash updated as it goes."""
        rest = b""
        total = 0
        seen = 0
        while True:
            try:
                chunk = fh.read(CHUNK)
            except OSError as exc:
                raise self.error(seen + 1, f"cannot read: {exc.strerror or exc}") from None
            if not chunk:
                break
            total += len(chunk)
            if total > MAX_BYTES:
                raise self.error(seen + 1, f"larger than {MAX_BYTES >> 30} GiB; not a trace portsim replays")
            self.sha256.update(chunk)
            if total == len(chunk):
                chunk = chunk.removeprefix(_BOM)
            block = rest + chunk
            cut = block.rfind(b"\n")
            if cut < 0:
                rest = block
            else:
                rest = block[cut + 1 :]
                lines = self._decode(block[:cut], seen)
                seen += len(lines)
                yield lines
            if len(rest) > MAX_LINE:
                raise self.error(seen + 1, f"line longer than {MAX_LINE} bytes; not a trace row")
        if rest:
            yield self._decode(rest, seen)

    def _decode(self, block: bytes, seen: int) -> list[str]:
        try:
            text = block.decode("ascii")
        except UnicodeDecodeError as exc:
            line = seen + block[: exc.start].count(b"\n") + 1
            raise self.error(line, f"not ASCII text (byte {block[exc.start]:#04x})") from None
        return text.split("\n")

    def _header(self, line: str) -> tuple[int, int, int, int, int]:
        """Column indices of (start, duration, end, destination, close) in the header (-1: absent)."""
        names = [name.strip() for name in line.split(",")]
        for i, name in enumerate(names):
            if name not in COLUMNS:
                raise self.error(
                    1,
                    f"unknown column {name[:40]!r} in the header (columns: start, duration or end, destination, close)",
                )
            if name in names[:i]:
                raise self.error(1, f"column {name!r} appears twice in the header")
        for needed in ("start", "destination"):
            if needed not in names:
                raise self.error(1, f"the header has no {needed!r} column (start, duration or end, destination, close)")
        if ("duration" in names) == ("end" in names):
            raise self.error(1, "the header needs exactly one of 'duration' and 'end'")
        index = {name: i for i, name in enumerate(names)}
        return (
            index["start"],
            index.get("duration", -1),
            index.get("end", -1),
            index["destination"],
            index.get("close", -1),
        )

    def rows(self) -> Iterator[Row]:
        """Every row, checked: in order of start, times within bounds, a known close side, at most MAX_ROWS."""
        with self._open() as fh:
            chunks = self._lines(fh)
            first = next(chunks, None)
            if first is None or not first[0].strip():
                raise self.error(
                    1, "no header: a trace starts with a header line such as start,duration,destination,close"
                )
            yield from self._rows(first, chunks)

    def _rows(self, first: list[str], chunks: Iterator[list[str]]) -> Iterator[Row]:
        header = first[0]
        i_start, i_duration, i_end, i_destination, i_close = self._header(header)
        width = len(header.split(","))
        self.close_column = i_close >= 0
        closes: dict[str, int] = {name: i for i, name in enumerate(CLOSES)}
        closes[""] = DEFAULT_CLOSE
        labels: dict[str, str] = {}
        previous = 0.0
        line = 1
        count = 0
        max_line, max_rows, max_seconds = MAX_LINE, MAX_ROWS, MAX_SECONDS
        for lines in _chain([first[1:]], chunks):
            for text in lines:
                line += 1
                if not text or text == "\r":
                    continue
                if len(text) > max_line:
                    raise self.error(line, f"line longer than {max_line} bytes; not a trace row")
                fields = text.split(",")
                if len(fields) != width:
                    raise self.error(line, f"{len(fields)} fields; the header has {width}")
                try:
                    start = float(fields[i_start])
                except ValueError:
                    raise self.error(line, f"start {fields[i_start][:30]!r} is not a number") from None
                if not 0 <= start <= max_seconds:
                    raise self.error(line, _out_of_bounds("start", start))
                if start < previous:
                    raise self.error(
                        line, f"rows out of order: start {start:g} is before the previous row's start {previous:g}"
                    )
                previous = start
                if i_duration >= 0:
                    try:
                        duration = float(fields[i_duration])
                    except ValueError:
                        raise self.error(line, f"duration {fields[i_duration][:30]!r} is not a number") from None
                    if not 0 <= duration <= max_seconds:
                        raise self.error(line, _out_of_bounds("duration", duration))
                else:
                    try:
                        end = float(fields[i_end])
                    except ValueError:
                        raise self.error(line, f"end {fields[i_end][:30]!r} is not a number") from None
                    if not start <= end <= max_seconds:
                        problem = f"end ({end:g}) is before start ({start:g})" if end < start else None
                        raise self.error(line, problem or _out_of_bounds("end", end))
                    duration = end - start
                written = fields[i_destination]
                label = labels.get(written)
                if label is None:
                    try:
                        label = destination_label(written.strip())
                    except ValueError as exc:
                        raise self.error(line, str(exc)) from None
                    if len(labels) < _SPELLINGS:
                        labels[written] = label
                if i_close >= 0:
                    side = fields[i_close].strip()
                    code = closes.get(side)
                    if code is None:
                        raise self.error(
                            line, f"close {side[:20]!r} is not one of client, server, reset, half (or empty)"
                        )
                else:
                    code = DEFAULT_CLOSE
                count += 1
                if count > max_rows:
                    raise self.error(line, f"more than {max_rows:,} rows; not a trace portsim replays")
                yield line, start, duration, label, code


def _out_of_bounds(column: str, value: float) -> str:
    """Why a time read from a row is refused."""
    if value < 0:
        return f"{column} ({value:g}) is negative"
    return f"{column} ({value:g}) must be a number of seconds from 0 to {MAX_SECONDS:g}"


def _chain(head: Iterable[list[str]], rest: Iterator[list[str]]) -> Iterator[list[str]]:
    yield from head
    yield from rest


def scan(path: str) -> TraceFacts:
    """Read the whole trace once, checking every row; what it holds (TraceError on the first problem)."""
    reader = TraceReader(path)
    count = 0
    first = last = 0.0
    total = 0.0
    seen: dict[str, int] = {}
    sides: set[int] = set()
    for line, start, duration, destination, close in reader.rows():
        if count == 0:
            first = start
        count += 1
        last = start
        total += duration
        if destination not in seen:
            if len(seen) >= MAX_DESTINATIONS:
                raise reader.error(line, f"more than {MAX_DESTINATIONS:,} distinct destinations")
            seen[destination] = line
        if close != DEFAULT_CLOSE:
            sides.add(close)
    if count == 0:
        raise reader.error(None, "has a header but no rows")
    return TraceFacts(
        file=path,
        size=reader.size,
        mtime_ns=reader.mtime_ns,
        sha256=reader.sha256.hexdigest(),
        rows=count,
        first_start=first,
        last_start=last,
        mean_duration=min(total / count, MAX_SECONDS),
        destinations=list(seen),
        destination_lines=list(seen.values()),
        sides=[CLOSES[i] for i in sorted(sides)],
    )
