"""This machine's settings: read from /proc/sys on Linux and sysctl on macOS, "unknown" where unreadable."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sim.machine.settings import LINUX_TIME_WAIT, PROC_IPV4, read_settings

LINUX_FILES = {
    "ip_local_port_range": "32768\t60999\n",
    "ip_local_reserved_ports": "8080,40000-40009\n",
    "tcp_tw_reuse": "2\n",
    "tcp_timestamps": "1\n",
    "tcp_fin_timeout": "30\n",
    "tcp_max_tw_buckets": "262144\n",
}


def proc_tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_linux_values_are_read_from_proc_sys(tmp_path: Path) -> None:
    s = read_settings(system="Linux", release="6.1.0", proc=proc_tree(tmp_path, LINUX_FILES), root=False)
    assert s.port_range.value == (32768, 60999)
    assert s.port_range.source == str(tmp_path / "ip_local_port_range")
    assert s.reserved.value == "8080,40000-40009"
    assert s.reserved_ports == frozenset({8080, *range(40000, 40010)})
    assert (s.tw_reuse.value, s.timestamps.value, s.fin_timeout.value) == (2, True, 30.0)
    assert s.max_tw_buckets.value == 262144
    assert s.time_wait.value == LINUX_TIME_WAIT
    assert s.range_size == 28232
    assert s.usable_ports() == 28232 - 10  # 8080 lies outside the range
    assert (s.in_range(32768), s.in_range(60999), s.in_range(61000), s.in_range(22)) == (True, True, False, False)


def test_an_empty_reserved_list_is_none_reserved(tmp_path: Path) -> None:
    s = read_settings(system="Linux", proc=proc_tree(tmp_path, {**LINUX_FILES, "ip_local_reserved_ports": "\n"}))
    assert s.reserved.value == ""
    assert s.reserved_ports == frozenset()
    assert s.usable_ports() == 28232


def test_unreadable_or_odd_values_are_unknown_with_the_reason(tmp_path: Path) -> None:
    files = {**LINUX_FILES, "ip_local_port_range": "60999 32768\n", "tcp_tw_reuse": "7\n"}
    del files["tcp_fin_timeout"]
    s = read_settings(system="Linux", proc=proc_tree(tmp_path, files))
    assert s.port_range.value is None
    assert "unexpected content" in s.port_range.problem
    assert s.tw_reuse.value is None
    assert s.fin_timeout.value is None
    assert s.fin_timeout.problem == "unreadable: No such file or directory"
    assert s.in_range(40000) is None
    assert s.usable_ports() is None
    assert s.to_json()["fin_timeout"] == {
        "value": None,
        "source": str(tmp_path / "tcp_fin_timeout"),
        "problem": "unreadable: No such file or directory",
    }


def test_macos_values_come_from_sysctl() -> None:
    values = {"net.inet.ip.portrange.first": "49152\n", "net.inet.ip.portrange.last": "65535\n"}
    values |= {"net.inet.tcp.msl": "15000\n", "net.inet.tcp.rfc1323": "1\n"}
    asked: list[str] = []

    def sysctl(name: str) -> str:
        asked.append(name)
        if name not in values:
            raise OSError(f"unknown oid '{name}'")
        return values[name]

    s = read_settings(system="Darwin", release="23.1.0", sysctl=sysctl, root=False)
    assert s.port_range.value == (49152, 65535)
    assert s.time_wait.value == 30.0  # 2 x MSL
    assert s.timestamps.value is True
    assert s.tw_reuse.value is None
    assert not s.tw_reuse.applicable
    assert s.reserved_ports is None
    assert set(asked) == set(values)


def test_a_failing_sysctl_makes_the_value_unknown() -> None:
    def sysctl(name: str) -> str:
        raise OSError("sysctl: permission denied")

    s = read_settings(system="FreeBSD", release="14.0", sysctl=sysctl)
    assert s.port_range.value is None
    assert "permission denied" in s.port_range.problem
    assert s.time_wait.value is None


def test_other_systems_are_unknown_throughout() -> None:
    s = read_settings(system="Windows", release="10")
    assert all(v["value"] is None for k, v in s.to_json().items() if isinstance(v, dict))
    assert s.port_range.source == "not read on Windows"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads this machine's /proc/sys (Linux)")
def test_this_machine_matches_its_own_proc_files() -> None:
    s = read_settings()
    low, high = (int(x) for x in (PROC_IPV4 / "ip_local_port_range").read_text().split())
    assert s.port_range.value == (low, high)
    assert s.tw_reuse.value == int((PROC_IPV4 / "tcp_tw_reuse").read_text())
    assert s.max_tw_buckets.value == int((PROC_IPV4 / "tcp_max_tw_buckets").read_text())
