"""A machine's pool at one moment: states, the destinations holding the most ports, headroom per destination."""

from __future__ import annotations

from pathlib import Path

from sim.machine.host import host_report, outgoing
from tests.machine.fakes import linux, snap, sock

A, B = "10.0.0.5:443", "10.0.0.6:80"
SOCKETS = (
    sock("LISTEN", "0.0.0.0:5001", None, 1),
    sock("LISTEN", "0.0.0.0:40000", None, 1),  # a server inside the ephemeral range
    sock("ESTABLISHED", "10.0.0.2:5001", "192.0.2.9:51000", 1),  # accepted: not this host's port
    sock("ESTABLISHED", "10.0.0.2:33000", A, 7),
    sock("ESTABLISHED", "10.0.0.2:33002", A, 7),
    sock("TIME_WAIT", "10.0.0.2:33004", A),
    sock("TIME_WAIT", "10.0.0.2:33000", B),  # the same local port, another destination
    sock("ESTABLISHED", "10.0.0.2:1000", A, 7),  # bound outside the range: not from the pool
)


def test_outgoing_keeps_the_connections_this_host_opened(tmp_path: Path) -> None:
    mine = outgoing(snap(*SOCKETS), linux(tmp_path))
    assert sorted((str(s.local), str(s.remote)) for s in mine) == [
        ("10.0.0.2:33000", A),
        ("10.0.0.2:33000", B),
        ("10.0.0.2:33002", A),
        ("10.0.0.2:33004", A),
    ]


def test_states_destinations_and_headroom(tmp_path: Path) -> None:
    settings = linux(tmp_path, reserved="33010-33019")
    r = host_report(settings, snap(*SOCKETS))
    assert r.states == {"LISTEN": 2, "ESTABLISHED": 4, "TIME_WAIT": 2}
    assert (r.outgoing, r.destination_count, r.listening_in_range, r.sharing) == (4, 2, 1, "per_destination")
    a, b = r.destinations
    assert (str(a.destination), a.ports, a.states) == (A, 3, {"ESTABLISHED": 2, "TIME_WAIT": 1})
    assert (str(b.destination), b.ports) == (B, 1)
    usable = 28232 - 10 - 1  # the range, less the reserved ports and the listener in it
    assert (a.headroom, b.headroom) == (usable - 3, usable - 1)
    assert r.to_json()["usable_ports"] == 28232 - 10


def test_top_cuts_the_list_but_not_the_count(tmp_path: Path) -> None:
    r = host_report(linux(tmp_path), snap(*SOCKETS), top=1)
    assert [str(d.destination) for d in r.destinations] == [A]
    assert r.destination_count == 2


def test_without_sharing_every_connection_counts_against_every_destination(tmp_path: Path) -> None:
    r = host_report(linux(tmp_path, port_range="49152 65535", system="Darwin"), snap(*SOCKETS))
    assert (r.preset, r.sharing) == ("macos", "none")
    # macOS's range 49152-65535 holds none of these local ports: nothing is outgoing
    assert r.outgoing == 0
    shifted = [sock("ESTABLISHED", "10.0.0.2:50000", A, 7), sock("TIME_WAIT", "10.0.0.2:50001", B)]
    r = host_report(linux(tmp_path, port_range="49152 65535", system="Darwin"), snap(*shifted))
    assert [d.headroom for d in r.destinations] == [16384 - 2, 16384 - 2]


def test_headroom_counts_the_busiest_local_address(tmp_path: Path) -> None:
    sockets = [sock("ESTABLISHED", f"10.0.0.{2 + i % 2}:{33000 + i}", A, 7) for i in range(5)]
    (d,) = host_report(linux(tmp_path), snap(*sockets)).destinations
    assert (d.ports, d.local_addresses, d.headroom) == (5, 2, 28232 - 3)


def test_an_unknown_range_gives_unknown_headroom(tmp_path: Path) -> None:
    r = host_report(linux(tmp_path, port_range="?"), snap(*SOCKETS))
    assert all(d.headroom is None for d in r.destinations)
