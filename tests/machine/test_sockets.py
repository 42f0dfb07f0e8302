"""This machine's sockets through psutil: checked against sockets the test opens in a private network namespace,
and, with psutil's answers stood in for, what a snapshot says it could not see."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import psutil
import pytest

from sim.machine.sockets import Endpoint, Snapshot, take_snapshot
from tests.machine.fakes import sock
from tests.machine.netns import run_in_namespace


def conn(status: str, local: tuple[str, int], remote: tuple[str, int] | None, pid: int | None) -> Any:
    addr = SimpleNamespace
    return SimpleNamespace(
        laddr=addr(ip=local[0], port=local[1]),
        raddr=addr(ip=remote[0], port=remote[1]) if remote else (),
        status=status,
        pid=pid,
    )


def test_ipv4_mapped_addresses_are_written_as_ipv4() -> None:
    assert Endpoint.of("::ffff:127.0.0.1", 80) == Endpoint("127.0.0.1", 80)
    assert Endpoint.of("::ffff:127.0.0.1", 80).is_loopback()
    assert str(Endpoint.of("2001:db8::1", 443)) == "[2001:db8::1]:443"
    assert str(Endpoint.of("10.0.0.5", 443)) == "10.0.0.5:443"


def test_states_are_counted_in_the_order_of_a_connection_s_life() -> None:
    s = Snapshot(0.0, (sock("TIME_WAIT", "1.1.1.1:1"), sock("LISTEN", "1.1.1.1:2"), sock("TIME_WAIT", "1.1.1.1:3")))
    assert list(s.states().items()) == [("LISTEN", 1), ("TIME_WAIT", 2)]


def test_without_root_hidden_owners_are_said_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    conns = [
        conn("ESTABLISHED", ("10.0.0.2", 33000), ("10.0.0.5", 443), None),  # another user's
        conn("CLOSE_WAIT", ("10.0.0.2", 33002), ("10.0.0.5", 443), None),  # another user's
        conn("TIME_WAIT", ("10.0.0.2", 33004), ("10.0.0.5", 443), None),  # nobody's, by nature
    ]
    monkeypatch.setattr(psutil, "net_connections", lambda kind: conns)
    (line,) = take_snapshot(root=False).limits
    assert "not root: 2 of this machine's 3 sockets show no process" in line
    assert take_snapshot(root=True).limits == ()


def test_macos_without_root_lists_this_user_s_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(kind: str) -> list[Any]:
        raise psutil.AccessDenied()

    class Proc:
        def __init__(self, pid: int, mine: bool) -> None:
            self.pid, self.mine = pid, mine

        def net_connections(self, kind: str) -> list[Any]:
            if not self.mine:
                raise psutil.AccessDenied(self.pid)
            return [SimpleNamespace(**{**vars(conn("ESTABLISHED", ("10.0.0.2", 50000), ("10.0.0.5", 443), 0))})]

    monkeypatch.setattr(psutil, "net_connections", denied)
    monkeypatch.setattr(psutil, "process_iter", lambda: [Proc(11, True), Proc(12, False)])
    snapshot = take_snapshot(root=False)
    assert [(s.state, s.pid) for s in snapshot.sockets] == [("ESTABLISHED", 11)]
    assert "only the sockets of this user's processes" in snapshot.limits[0]


@pytest.mark.kernel
@pytest.mark.usefixtures("namespace")
def test_a_snapshot_sees_the_test_s_own_sockets_with_their_process() -> None:
    got = run_in_namespace([], snapshot=True, open=3, time_wait=2)
    sockets = json.loads(got["stdout"])["sockets"]
    pid, server = got["pid"], f"127.0.0.1:{got['server_port']}"
    listening = [s for s in sockets if s["state"] == "LISTEN"]
    assert [(s["local"], s["pid"]) for s in listening] == [(server, pid)]
    clients = {s["local"]: s for s in sockets if s["remote"] == server}
    for port in got["open"]:
        s = clients[f"127.0.0.1:{port}"]
        assert (s["state"], s["pid"]) == ("ESTABLISHED", pid)
        assert str(s["process"]).startswith("python")
    for port in got["time_wait"]:
        assert (clients[f"127.0.0.1:{port}"]["state"], clients[f"127.0.0.1:{port}"]["pid"]) == ("TIME_WAIT", None)
    accepted = [s for s in sockets if s["local"] == server and s["state"] == "ESTABLISHED"]
    assert len(accepted) == 3
    assert json.loads(got["stdout"])["limits"] == []


def test_each_process_is_looked_up_once_however_many_sockets_it_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host near exhaustion holds tens of thousands of sockets in a few processes: one lookup per process."""
    conns = [conn("ESTABLISHED", ("10.0.0.2", 33000 + i), ("10.0.0.5", 443), 100 + i % 3) for i in range(3000)]
    looked_up: list[int] = []

    class Process:
        def __init__(self, pid: int) -> None:
            looked_up.append(pid)
            self.pid = pid

        def name(self) -> str:
            return f"p{self.pid}"

    monkeypatch.setattr(psutil, "net_connections", lambda kind: conns)
    monkeypatch.setattr(psutil, "Process", Process)
    snapshot = take_snapshot(root=True)
    assert sorted(looked_up) == [100, 101, 102]
    assert {s.process for s in snapshot.sockets} == {"p100", "p101", "p102"}
