"""``portsim host``: this machine's settings, the test's own sockets counted per state and destination in a
private namespace, and ``--scenario`` writing a file that portsim validates and runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sim.cli.main import main
from tests.machine.netns import run_in_namespace


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_host_prints_this_machine_s_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["host", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["settings"]) >= {"port_range", "reserved_ports", "tw_reuse", "fin_timeout", "max_tw_buckets"}
    assert data["closest_preset"]["name"]
    assert sum(data["states"].values()) == data["sockets"]
    assert main(["host"]) == 0
    out = capsys.readouterr().out
    for label in ("ephemeral range", "reserved ports", "tcp_tw_reuse", "tcp_fin_timeout", "tcp_max_tw_buckets"):
        assert f"\n  {label}" in out


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["host", "--sample", "2"], "host: --sample needs --scenario FILE"),
        (["host", "--overwrite"], "host: --overwrite needs --scenario FILE"),
        (["host", "--scenario", "there.yaml"], "there.yaml: exists; --overwrite replaces it"),
        (["host", "--scenario", "."], ".: is a directory"),
        (["host", "--scenario", "no/such/dir/h.yaml"], "no such folder"),
    ],
)
def test_bad_requests_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], problem: str
) -> None:
    Path("there.yaml").write_text("keep me\n")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("portsim: error: ")
    assert problem in err
    assert err.count("\n") == 1
    assert Path("there.yaml").read_text() == "keep me\n"


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["host", "--scenario", "h.yaml", "--sample", "0"], "give seconds above 0"),
        (["host", "--scenario", "h.yaml", "--sample", "soon"], "argument --sample: soon is not a number of seconds"),
        (["host", "--top", "0"], "give a whole number from 1 to 1000"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], problem: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert problem in err
    assert err.count("\n") == 1


@pytest.mark.kernel
@pytest.mark.usefixtures("namespace")
def test_host_counts_the_test_s_sockets_and_finds_the_top_destination() -> None:
    got = run_in_namespace(["host", "--json"], open=3, time_wait=4)
    assert got["status"] == 0, got["stderr"]
    data = json.loads(got["stdout"])
    # 3 clients and the 3 connections accepted for them, 4 clients in TIME_WAIT, the listener
    assert data["states"] == {"LISTEN": 1, "ESTABLISHED": 6, "TIME_WAIT": 4}
    assert data["outgoing_connections"] == 7
    (top,) = data["destinations"]
    assert (top["destination"], top["ports_held"]) == (f"127.0.0.1:{got['server_port']}", 7)
    assert top["states"] == {"TIME_WAIT": 4, "ESTABLISHED": 3}
    assert top["headroom"] == data["usable_ports"] - data["listening_ports_in_range"] - 7


@pytest.mark.kernel
@pytest.mark.usefixtures("namespace")
def test_host_text_shows_the_destination_table() -> None:
    got = run_in_namespace(["host"], open=2, time_wait=1)
    lines = got["stdout"].splitlines()
    assert any(line.startswith("TCP sockets        6: LISTEN 1, ESTABLISHED 4, TIME_WAIT 1") for line in lines)
    (row,) = [line.split() for line in lines if line.startswith(f"  127.0.0.1:{got['server_port']}")]
    assert row[1] == "3"
    assert any(line.startswith("headroom: ") for line in lines)


@pytest.mark.kernel
@pytest.mark.usefixtures("namespace")
def test_scenario_of_this_host_validates_and_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "this-host.yaml"
    churn = 20.0
    got = run_in_namespace(
        ["host", "--scenario", str(out), "--sample", "1", "--json"], open=2, time_wait=5, churn=churn
    )
    assert got["status"] == 0, got["stderr"]
    report = json.loads(got["stdout"])["scenario"]
    assert report["file"] == str(out)
    text = out.read_text()
    assert text.startswith("# This host")
    assert "Estimated, crudely" in text
    raw = yaml.safe_load(text)
    assert raw["host"]["port_range"] == json.loads(got["stdout"])["settings"]["port_range"]["value"]
    (workload,) = raw["workloads"]
    assert workload["destinations"] == [{"address": "127.0.0.1", "port": got["server_port"]}]
    assert workload["close"] == "client"
    assert churn / 3 < workload["arrivals"]["rate"] < churn * 3  # about the rate the test opened connections at

    assert main(["validate", str(out)]) == 0
    assert f"# {out}: valid." in capsys.readouterr().out
    assert main(["run", str(out), "--out", str(tmp_path / "results"), "--no-plots", "--quiet", "--workers", "1"]) == 0
    summary = json.loads((tmp_path / "results" / "summary.json").read_text())
    assert summary["attempts"] > 0

    again = run_in_namespace(["host", "--scenario", str(out), "--sample", "1"], open=1)
    assert again["status"] == 2
    assert "exists; --overwrite replaces it" in again["stderr"]
    assert out.read_text() == text


@pytest.mark.kernel
@pytest.mark.usefixtures("namespace")
def test_a_host_with_only_long_lived_connections_has_nothing_to_estimate(tmp_path: Path) -> None:
    out = tmp_path / "idle.yaml"
    got = run_in_namespace(["host", "--scenario", str(out), "--sample", "0.2"], open=2)
    assert got["status"] == 1
    assert got["stderr"].startswith("portsim: error: host --scenario: no destination had new connections")
    assert got["stderr"].count("\n") == 1
    assert not out.exists()
