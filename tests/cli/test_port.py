"""``portsim port``: a port's tier, service and ranges, and the test's own sockets found in a private namespace."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from sim.cli.main import main
from tests.machine.netns import NOBODY, other_user_problem, run_in_namespace


def port_json(capsys: pytest.CaptureFixture[str], *ports: str) -> list[dict[str, Any]]:
    assert main(["port", *ports, "--json"]) == 0
    data: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["ports"]
    return data


def test_known_ports_are_classified(capsys: pytest.CaptureFixture[str]) -> None:
    got = {p["port"]: p for p in port_json(capsys, "22", "443", "8080", "49152", "60316", "65535", "0")}
    assert {n: p["tier"]["name"] for n, p in got.items()} == {
        22: "system",
        443: "system",
        8080: "user",
        49152: "dynamic",
        60316: "dynamic",
        65535: "dynamic",
        0: "system",
    }
    assert {n: p["service"] for n, p in got.items() if p["service"]} == {22: "ssh", 443: "https", 8080: "http-alt"}
    assert got[60316]["presets"][:2] == ["iana", "linux"]
    assert "linux" not in got[65535]["presets"]  # Linux's range ends at 60999
    assert got[22]["presets"] == []
    assert got[0]["tier"]["source"] == "RFC 6335 section 6"


def test_the_text_answers_what_is_this_port(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["port", "60316"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("port 60316/tcp\n")
    for phrase in ("dynamic ports (private, ephemeral), 49152-65535", "RFC 6335", "never assigned", "iana, linux"):
        assert phrase in out
    assert "this machine" in out


def test_the_same_port_twice_is_described_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert [p["port"] for p in port_json(capsys, "22", "22", "0022")] == [22]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["port", "70000"], "argument PORT: '70000' is not a port number: TCP ports are 0-65535"),
        (["port", "-1"], "is not a port number"),
        (["port", "ssh"], "'ssh' is not a port number: give a whole number from 0 to 65535"),
        (["port"], "the following arguments are required: PORT"),
    ],
)
def test_bad_ports_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], problem: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("portsim: error: ")
    assert problem in err
    assert err.count("\n") == 1


@pytest.mark.kernel
@pytest.mark.usefixtures("namespace")
def test_port_finds_the_test_s_own_connection_with_its_pid_and_state() -> None:
    got = run_in_namespace(["port", "{open0}", "{tw0}", "--json"], open=2, time_wait=2)
    assert got["status"] == 0, got["stderr"]
    client, waiting = json.loads(got["stdout"])["ports"]
    server = f"127.0.0.1:{got['server_port']}"
    assert client["port"] == got["open"][0]
    assert [(s["state"], s["remote"], s["pid"]) for s in client["local"]] == [("ESTABLISHED", server, got["pid"])]
    # the server's end of the same connection has the client's port as its remote port
    assert [(s["state"], s["local"], s["pid"]) for s in client["remote"]] == [("ESTABLISHED", server, got["pid"])]
    assert client["in_machine_range"] is True
    assert [(s["state"], s["pid"]) for s in waiting["local"]] == [("TIME_WAIT", None)]


@pytest.mark.kernel
@pytest.mark.usefixtures("namespace")
def test_port_lists_a_server_s_sockets_as_ss_would() -> None:
    got = run_in_namespace(["port", "{server}"], open=2, time_wait=1)
    out = got["stdout"]
    assert got["status"] == 0, got["stderr"]
    assert "a server listens on it here" in out
    assert "in use here    6 TCP socket(s)" in out  # the listener, 2 accepted, 2 clients, 1 client in TIME_WAIT
    rows = [line.split() for line in out.splitlines() if line.startswith("    ") and ":" in line]
    assert rows[0][:2] == ["LISTEN", f"127.0.0.1:{got['server_port']}"]
    assert f"(pid {got['pid']})" in out
    assert "TIME_WAIT is kept by the kernel" in out


@pytest.mark.kernel
@pytest.mark.usefixtures("namespace")
def test_a_port_nothing_uses_says_so() -> None:
    got = run_in_namespace(["port", "49999"], open=1)
    assert "in use here    nothing: no TCP socket has port 49999 at either end" in got["stdout"]


@pytest.mark.kernel
@pytest.mark.usefixtures("namespace")
def test_without_root_it_shows_what_it_can_and_says_what_it_cannot() -> None:
    problem = other_user_problem()
    if problem is not None:
        pytest.skip(problem)
    got = run_in_namespace(["port", "{server}", "--json"], open=2, as_user=NOBODY)
    assert got["status"] == 0, got["stderr"]
    (port,) = json.loads(got["stdout"])["ports"]
    sockets = port["local"] + port["remote"]
    assert len(sockets) == 5
    assert all(s["pid"] is None for s in sockets)  # root's process, seen by another user
    assert any(re.search(r"not root: 5 of this machine.s \d+ sockets show no process", line) for line in port["limits"])
