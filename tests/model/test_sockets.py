"""SocketHost: socket calls one at a time, on the parts ``build_host`` makes for the simulator too."""

from __future__ import annotations

import pytest

from sim.core.hooks import Connection
from sim.model.sockets import SocketHost


def test_a_socket_is_registered_under_its_own_id_and_opening_time() -> None:
    """connect at 5, close at 6: one second ESTABLISHED (issue 7, defect 3)."""
    host = SocketHost("iana", port_range=(40000, 40003), time_wait=2.0)
    released: list[Connection] = []
    host.lifecycle.on_release(lambda conn, t: released.append(conn))
    sock = host.connect("10.0.0.1", 80, at=5.0)
    other = host.connect("10.0.0.1", 80, at=5.5)
    assert (sock.ident, other.ident) == (0, 1)
    assert sock.opened == 5.0
    host.close(sock, "server", at=6.0)
    assert host.seconds_established == pytest.approx(1.0)
    assert [conn[4] for conn in released] == [sock.ident]
    assert released[0][5] == 5.0
    host.close(other, "client", at=7.0)
    assert host.seconds_established == pytest.approx(2.5)
    assert host.time_wait == 1
    host.advance(9.0)
    assert [conn[4] for conn in released] == [0, 1]


def test_socket_host_and_the_simulator_share_one_builder() -> None:
    host = SocketHost("linux", port_range=(40000, 40063))
    assert host.parts.host == host.host.resolved
    assert host.lifecycle.timers.granularity == pytest.approx(2.048)  # the kernel's timer wheel by default
    assert host.policy.layout == host.pool.layout == "parity"


def test_tw_reuse_takes_over_on_the_right_source_address() -> None:
    """One port per address: the second address's TIME_WAIT is taken over there, not on the first."""
    host = SocketHost("linux", port_range=(40000, 40000), source_addresses=2, tw_reuse=1, tw_reuse_delay=0.5)
    first = host.connect("10.0.0.1", 80, source=1, at=0.0)
    host.close(first, "client", at=1.0)
    again = host.connect("10.0.0.1", 80, source=1, at=2.0)
    assert (again.ok, again.port) == (True, 40000)
    assert host.time_wait == 0
    other = host.connect("10.0.0.1", 80, source=0, at=2.0)
    assert other.ok  # the first address's port was never touched
