"""Machines and sockets made up for the tests of the pure logic."""

from __future__ import annotations

from pathlib import Path

from sim.machine.settings import MachineSettings, read_settings
from sim.machine.sockets import Endpoint, Snapshot, Socket


def linux(
    tmp_path: Path, reserved: str = "", port_range: str = "32768 60999", system: str = "Linux"
) -> MachineSettings:
    """A Linux 6.18 machine whose /proc/sys holds these values."""
    files = {
        "ip_local_port_range": port_range,
        "ip_local_reserved_ports": reserved,
        "tcp_tw_reuse": "2",
        "tcp_timestamps": "1",
        "tcp_fin_timeout": "60",
        "tcp_max_tw_buckets": "131072",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text + "\n")
    settings = read_settings(system="Linux", release="6.18.0", proc=tmp_path, root=True)
    if system == "Linux":
        return settings
    return MachineSettings(system, "23.0", *list(vars(settings).values())[2:])


def end(text: str) -> Endpoint:
    """``"10.0.0.5:443"`` as an endpoint."""
    address, _, port = text.rpartition(":")
    return Endpoint(address, int(port))


def sock(state: str, local: str, remote: str | None = None, pid: int | None = None) -> Socket:
    """A socket from ``address:port`` strings."""
    return Socket(state, end(local), end(remote) if remote else None, pid, f"proc{pid}" if pid else None)


def snap(*sockets: Socket, at: float = 0.0) -> Snapshot:
    """A snapshot taken at ``at`` seconds."""
    return Snapshot(at, tuple(sockets))
