"""This machine's port and TIME_WAIT settings: /proc/sys on Linux, ``sysctl`` on macOS and FreeBSD.

Each value says where it was read; one that cannot be read is None, with the reason (printed as "unknown").
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from ..config.host import parse_reserved

T = TypeVar("T")

PROC_IPV4 = Path("/proc/sys/net/ipv4")
LINUX_TIME_WAIT = 60.0
"""TCP_TIMEWAIT_LEN (include/net/tcp.h): a constant of the kernel, not a sysctl."""
SYSCTL_TIMEOUT_S = 5.0

Sysctl = Callable[[str], str]
"""Reads one sysctl by name (``sysctl -n NAME``); raises OSError when it cannot."""


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One value of this machine, where it came from, and why it is unknown when it is."""

    value: T | None
    source: str
    problem: str = ""
    applicable: bool = True
    """False for a setting this system does not have (shown as n/a rather than unknown)."""

    def to_json(self) -> dict[str, Any]:
        """The value (None when unknown), its source and any problem."""
        out: dict[str, Any] = {"value": list(self.value) if isinstance(self.value, tuple) else self.value}
        out["source"] = self.source
        if self.problem:
            out["problem"] = self.problem
        if not self.applicable:
            out["applicable"] = False
        return out


@dataclass(frozen=True)
class MachineSettings:
    """What this machine's kernel says about ephemeral ports and TIME_WAIT."""

    system: str
    """``platform.system()``: Linux, Darwin, FreeBSD, ..."""
    release: str
    port_range: Setting[tuple[int, int]]
    reserved: Setting[str]
    """Linux's ``ip_local_reserved_ports`` as written there ("" for none)."""
    tw_reuse: Setting[int]
    timestamps: Setting[bool]
    fin_timeout: Setting[float]
    max_tw_buckets: Setting[int]
    time_wait: Setting[float]
    root: bool
    """Whether this process may see every socket's owner."""

    @property
    def range_size(self) -> int | None:
        """Ports in the ephemeral range, None when unknown."""
        if self.port_range.value is None:
            return None
        low, high = self.port_range.value
        return high - low + 1

    @property
    def reserved_ports(self) -> frozenset[int] | None:
        """The reserved ports, None when unknown."""
        if self.reserved.value is None:
            return None
        return parse_reserved([self.reserved.value]) if self.reserved.value else frozenset()

    def in_range(self, port: int) -> bool | None:
        """Whether ``port`` lies in this machine's ephemeral range (None when the range is unknown)."""
        if self.port_range.value is None:
            return None
        low, high = self.port_range.value
        return low <= port <= high

    def usable_ports(self) -> int | None:
        """Ports of the range a connect() may pick: the range less the reserved ports in it."""
        size, reserved = self.range_size, self.reserved_ports
        if size is None or self.port_range.value is None:
            return None
        low, high = self.port_range.value
        return size - sum(1 for p in reserved or () if low <= p <= high)

    def to_json(self) -> dict[str, Any]:
        """Every value with its source."""
        return {
            "system": self.system,
            "release": self.release,
            "root": self.root,
            "port_range": self.port_range.to_json(),
            "reserved_ports": self.reserved.to_json(),
            "tw_reuse": self.tw_reuse.to_json(),
            "timestamps": self.timestamps.to_json(),
            "fin_timeout": self.fin_timeout.to_json(),
            "max_tw_buckets": self.max_tw_buckets.to_json(),
            "time_wait": self.time_wait.to_json(),
        }


def read_settings(
    *,
    system: str | None = None,
    release: str | None = None,
    proc: Path = PROC_IPV4,
    sysctl: Sysctl | None = None,
    root: bool | None = None,
) -> MachineSettings:
    """This machine's settings (the keywords stand in for the machine, for tests)."""
    system = system or platform.system()
    release = release if release is not None else platform.release()
    root = root if root is not None else (hasattr(os, "geteuid") and os.geteuid() == 0)
    if system == "Linux":
        return _linux(system, release, proc, root)
    if system in ("Darwin", "FreeBSD"):
        return _bsd(system, release, sysctl or _run_sysctl, root)
    unknown = f"not read on {system or 'this system'}"
    return MachineSettings(
        system,
        release,
        Setting(None, unknown),
        Setting(None, unknown),
        Setting(None, unknown),
        Setting(None, unknown),
        Setting(None, unknown),
        Setting(None, unknown),
        Setting(None, unknown),
        root,
    )


def _linux(system: str, release: str, proc: Path, root: bool) -> MachineSettings:
    def port_range(text: str) -> tuple[int, int]:
        low, high = (int(x) for x in text.split())
        if not 0 < low <= high <= 65535:
            raise ValueError(f"not a port range: {text.strip()!r}")
        return low, high

    def reserved(text: str) -> str:
        flat = text.strip()
        parse_reserved([flat] if flat else [])
        return flat

    def tw_reuse(text: str) -> int:
        value = int(text)
        if value not in (0, 1, 2):
            raise ValueError(f"unexpected value {value}")
        return value

    return MachineSettings(
        system,
        release,
        _read_file(proc / "ip_local_port_range", port_range),
        _read_file(proc / "ip_local_reserved_ports", reserved),
        _read_file(proc / "tcp_tw_reuse", tw_reuse),
        _read_file(proc / "tcp_timestamps", lambda t: int(t) != 0),
        _read_file(proc / "tcp_fin_timeout", lambda t: float(int(t))),
        _read_file(proc / "tcp_max_tw_buckets", int),
        Setting(LINUX_TIME_WAIT, "TCP_TIMEWAIT_LEN, a constant of the Linux kernel"),
        root,
    )


def _read_file(path: Path, parse: Callable[[str], T]) -> Setting[T]:
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        return Setting(None, str(path), f"unreadable: {reason}")
    try:
        return Setting(parse(text), str(path))
    except ValueError as exc:
        return Setting(None, str(path), f"unexpected content: {str(exc)[:80]}")


def _bsd(system: str, release: str, sysctl: Sysctl, root: bool) -> MachineSettings:
    first, last = (
        _sysctl(sysctl, "net.inet.ip.portrange.first", int),
        _sysctl(sysctl, "net.inet.ip.portrange.last", int),
    )
    source = "sysctl net.inet.ip.portrange.first, net.inet.ip.portrange.last"
    if first.value is not None and last.value is not None and 0 < first.value <= last.value <= 65535:
        port_range: Setting[tuple[int, int]] = Setting((first.value, last.value), source)
    else:
        port_range = Setting(None, source, first.problem or last.problem or "not a port range")
    msl = _sysctl(sysctl, "net.inet.tcp.msl", int)
    time_wait: Setting[float] = (
        Setting(2 * msl.value / 1000, "2 x sysctl net.inet.tcp.msl (milliseconds)")
        if msl.value is not None
        else Setting(None, msl.source, msl.problem)
    )
    none = f"no such setting on {'macOS' if system == 'Darwin' else system}"
    return MachineSettings(
        system,
        release,
        port_range,
        Setting(None, none, applicable=False),
        Setting(None, none, applicable=False),
        _sysctl(sysctl, "net.inet.tcp.rfc1323", lambda t: int(t) != 0),
        Setting(None, "not read on this system"),
        Setting(None, none, applicable=False),
        time_wait,
        root,
    )


def _sysctl(sysctl: Sysctl, name: str, parse: Callable[[str], T]) -> Setting[T]:
    try:
        text = sysctl(name)
    except OSError as exc:
        return Setting(None, f"sysctl {name}", f"unreadable: {exc.strerror or exc}")
    try:
        return Setting(parse(text.strip()), f"sysctl {name}")
    except ValueError:
        return Setting(None, f"sysctl {name}", f"unexpected content: {text.strip()[:40]!r}")


def _run_sysctl(name: str) -> str:
    """``sysctl -n NAME``."""
    program = shutil.which("sysctl") or "/usr/sbin/sysctl"
    try:
        done = subprocess.run(
            [program, "-n", name], capture_output=True, text=True, timeout=SYSCTL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise OSError(f"sysctl {name} timed out") from None
    if done.returncode != 0:
        raise OSError(done.stderr.strip()[:80] or f"sysctl exit status {done.returncode}")
    return done.stdout
