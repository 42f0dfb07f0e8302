"""What one port is on a machine: its tier, service, presets, the machine's range, and who uses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.machine.port import describe_port
from sim.machine.tiers import PortError
from tests.machine.fakes import linux, snap, sock

SOCKETS = (
    sock("LISTEN", "0.0.0.0:22", None, 1),
    sock("ESTABLISHED", "10.0.0.2:22", "192.0.2.7:60316", 1),
    sock("ESTABLISHED", "10.0.0.2:60316", "10.0.0.5:443", 42),
    sock("TIME_WAIT", "10.0.0.2:60316", "10.0.0.6:443"),
    sock("ESTABLISHED", "10.0.0.2:41000", "10.0.0.5:443", 42),
)


def test_a_source_port_in_use_shows_its_connections(tmp_path: Path) -> None:
    r = describe_port(60316, linux(tmp_path), snap(*SOCKETS))
    assert (r.tier.name, r.service, r.in_machine_range, r.reserved) == ("dynamic", None, True, False)
    assert [(s.state, str(s.remote), s.pid) for s in r.local] == [
        ("ESTABLISHED", "10.0.0.5:443", 42),
        ("TIME_WAIT", "10.0.0.6:443", None),
    ]
    assert [str(s.local) for s in r.remote] == ["10.0.0.2:22"]  # another host's source port, connected to us
    assert r.used


def test_a_server_port_lists_the_listener_first(tmp_path: Path) -> None:
    r = describe_port(22, linux(tmp_path), snap(*SOCKETS))
    assert (r.tier.name, r.service, r.presets, r.in_machine_range) == ("system", "ssh", (), False)
    assert [s.state for s in r.local] == ["LISTEN", "ESTABLISHED"]
    assert r.remote == ()


def test_a_destination_port_is_found_at_the_remote_end(tmp_path: Path) -> None:
    r = describe_port(443, linux(tmp_path), snap(*SOCKETS))
    assert r.local == ()
    assert sorted(str(s.local) for s in r.remote) == ["10.0.0.2:41000", "10.0.0.2:60316", "10.0.0.2:60316"]


def test_a_port_nothing_uses(tmp_path: Path) -> None:
    r = describe_port(49152, linux(tmp_path), snap(*SOCKETS))
    assert not r.used
    assert r.to_json()["local"] == []
    assert r.to_json()["remote"] == []


def test_a_reserved_port_says_so(tmp_path: Path) -> None:
    settings = linux(tmp_path, reserved="40000-40009,50000")
    assert describe_port(40005, settings, snap()).reserved is True
    assert describe_port(40010, settings, snap()).reserved is False
    assert describe_port(50000, settings, snap()).reserved is True


def test_an_unknown_range_is_unknown_not_false(tmp_path: Path) -> None:
    r = describe_port(40000, linux(tmp_path, port_range="garbage"), snap())
    assert r.in_machine_range is None


@pytest.mark.parametrize("port", [-1, 65536])
def test_out_of_range_numbers_are_refused(tmp_path: Path, port: int) -> None:
    with pytest.raises(PortError):
        describe_port(port, linux(tmp_path), snap())


def test_port_0_is_a_system_port_no_range_holds(tmp_path: Path) -> None:
    r = describe_port(0, linux(tmp_path), snap(*SOCKETS))
    assert (r.tier.name, r.service, r.presets, r.in_machine_range, r.used) == ("system", None, (), False, False)
