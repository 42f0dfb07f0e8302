"""The live kernel of this machine, measured by sim.kernel, shows the laws of kernel.md section 3.

Skipped, with the reason, where no private network namespace can be created. measure() runs once per module.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from itertools import pairwise
from typing import Any

import pytest

from sim.kernel.measure import EXPERIMENTS, kernel_support, measure

pytestmark = pytest.mark.kernel

_REASON = kernel_support()
if _REASON is not None:
    pytest.skip(_REASON, allow_module_level=True)

INCREMENT_SET = frozenset(range(2, 17, 2))
INCREMENT_MEAN, INCREMENT_SD = 9.0, 4.58  # uniform on {2, 4, ..., 16} (fact 3)
Z = 4.0  # two-sided p ~ 6e-5: a false alarm once in ~16 000 runs


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    """All experiments, measured once."""
    netns = os.readlink("/proc/self/ns/net")
    start = time.monotonic()
    out = measure()
    out["meta"]["total_s"] = time.monotonic() - start
    out["meta"]["parent_netns_unchanged"] = os.readlink("/proc/self/ns/net") == netns
    return out


def result(raw: dict[str, Any], name: str) -> dict[str, Any]:
    """One experiment's results, failing the test with the child's message if it reported an error."""
    res: dict[str, Any] = raw[name]
    assert "error" not in res, f"{name}: {res['error']}"
    return res


def test_every_experiment_reports_within_the_budget(raw: dict[str, Any]) -> None:
    assert set(raw) == {*EXPERIMENTS, "meta"}
    for name in EXPERIMENTS:
        result(raw, name)
    meta = raw["meta"]
    assert meta["namespace"] in {"root", "user"}
    assert set(meta["elapsed_s"]) == set(EXPERIMENTS)
    assert meta["total_s"] < 45
    assert meta["parent_netns_unchanged"]


def test_exhaustion_is_per_destination(raw: dict[str, Any]) -> None:
    # fact 8: exactly 64 per destination in a 64-port range, then EADDRNOTAVAIL; a new destination still works
    res = result(raw, "per_destination")
    low, high = res["range"]
    assert [run["k"] for run in res["runs"]] == [1, 2, 4]
    for run in res["runs"]:
        assert len(run["destinations"]) == run["k"]
        for ports in run["ports"]:
            assert len(ports) == 64
            assert sorted(ports) == list(range(low, high + 1))
        assert run["errno"] == "EADDRNOTAVAIL"
        assert run["new_destination_ok"] is True


def test_destinations_share_the_same_ports(raw: dict[str, Any]) -> None:
    # fact 10: K destinations give K * 64 connections on the same 64 ports, each port shared by exactly K
    res = result(raw, "per_destination")
    low, high = res["range"]
    for run in res["runs"]:
        counts = Counter(port for ports in run["ports"] for port in ports)
        assert sum(counts.values()) == run["k"] * 64
        assert set(counts) == set(range(low, high + 1))
        assert set(counts.values()) == {run["k"]}


def test_low_parity_first(raw: dict[str, Any]) -> None:
    # fact 2: per destination, the 32 ports of the range's low parity (even here) first, then the 32 others
    res = result(raw, "per_destination")
    for run in res["runs"]:
        for ports in run["ports"]:
            assert all(port % 2 == 0 for port in ports[:32]), ports
            assert all(port % 2 == 1 for port in ports[32:]), ports
    assert all(port % 2 == 0 for port in result(raw, "increments")["ports"])


def test_increment_law(raw: dict[str, Any]) -> None:
    # fact 3: consecutive ports to one destination advance by delta uniform on {2, 4, ..., 16}
    res = result(raw, "increments")
    low, high = res["range"]
    ports = res["ports"]
    assert len(ports) == 2000
    size = high - low + 1
    deltas = [(b - a) % size for a, b in pairwise(ports)]
    in_set = [d for d in deltas if d in INCREMENT_SET]
    assert len(in_set) >= 0.98 * len(deltas)
    half_width = Z * INCREMENT_SD / math.sqrt(len(in_set))
    mean = sum(in_set) / len(in_set)
    assert abs(mean - INCREMENT_MEAN) <= half_width, f"mean {mean:.3f} outside 9 ± {half_width:.3f}"
    counts = Counter(in_set)
    assert set(counts) == INCREMENT_SET
    assert min(counts.values()) >= len(in_set) / 8 * 0.6  # every value common, none missing


def test_bind_exhaustion_is_per_local_address(raw: dict[str, Any]) -> None:
    # fact 13 (with fact 12's parity): 64 bind(0)s, 32 odd first; then bind() fails EADDRINUSE; ports owned
    # by bind() are not shared with a plain connect() (EADDRNOTAVAIL); another local address still binds
    res = result(raw, "bind_exhaustion")
    low, high = res["range"]
    ports = res["ports"]
    assert len(ports) == 64
    assert sorted(ports) == list(range(low, high + 1))
    assert all(port % 2 == 1 for port in ports[:32]), ports
    assert res["errno"] == "EADDRINUSE"
    assert res["connect_new_destination_errno"] == "EADDRNOTAVAIL"
    assert res["other_address_bind_ok"] is True


def test_time_wait_blocks_only_its_destination(raw: dict[str, Any]) -> None:
    # fact 15: 16 TIME_WAITs toward A block A (EADDRNOTAVAIL) but not B, which gets one of those same ports
    res = result(raw, "time_wait_scope")
    low, high = res["range"]
    assert res["time_wait"] == 16
    assert res["same_destination_errno"] == "EADDRNOTAVAIL"
    assert res["other_destination_ok"] is True
    assert low <= res["other_destination_port"] <= high


def test_tw_reuse_waits_for_the_delay(raw: dict[str, Any]) -> None:
    # fact 17: with tcp_tw_reuse=1 a TIME_WAIT is taken over only once it is older than tcp_tw_reuse_delay
    res = result(raw, "tw_reuse")
    delay = res["delay_ms"]
    assert delay == (200 if res["delay_configurable"] else 1000)
    assert res["reused"] == 16
    first, last_failure = res["first_success_age_ms"], res["last_failure_age_ms"]
    assert first is not None
    assert last_failure is not None
    assert last_failure <= first
    assert delay <= first <= delay + 50
    assert last_failure >= delay - 50  # polling did fail up to just before the threshold
