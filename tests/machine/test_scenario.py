"""The scenario of a machine: what was read, what was estimated (said in a comment), and valid for portsim."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.machine.estimate import WorkloadEstimate
from sim.machine.scenario import MAX_ATTEMPTS, NothingToModelError, check, scenario_text
from sim.machine.settings import MachineSettings
from sim.machine.sockets import Endpoint
from tests.machine.fakes import linux


def workload(address: str, port: int, rate: float, duration: float = 0.5, close: str = "client") -> WorkloadEstimate:
    return WorkloadEstimate(
        destination=Endpoint(address, port),
        rate=rate,
        rate_from="new" if rate else "none",
        new=int(rate * 5),
        open=3,
        time_wait=10,
        ports=13,
        mean_duration=duration,
        close=close,  # type: ignore[arg-type]
    )


def text(settings: MachineSettings, *estimates: WorkloadEstimate) -> str:
    return scenario_text(settings, "linux", "Linux 6.18", list(estimates), 5.0, "web-1.example", "2026-01-01")


def test_the_scenario_holds_the_machine_and_the_workloads(tmp_path: Path) -> None:
    settings = linux(tmp_path, reserved="40000-40009")
    written = text(settings, workload("10.0.0.5", 443, 12.345678), workload("2001:db8::1", 8443, 0.00027, 30, "server"))
    scenario = check(written)
    host = scenario.host.resolve()
    assert (host.low, host.high, host.tw_reuse, host.preset) == (32768, 60999, 2, "linux")
    assert host.reserved == frozenset(range(40000, 40010))
    rates = [w.arrivals.rate for w in scenario.workloads]  # type: ignore[union-attr]
    assert rates == [pytest.approx(12.35), pytest.approx(0.00027)]
    assert [w.close for w in scenario.workloads] == ["client", "server"]
    assert [(d.address, d.port) for w in scenario.workloads for d in w.destinations] == [
        ("10.0.0.5", 443),
        ("2001:db8::1", 8443),
    ]
    assert scenario.name == "host-web-1.example"
    assert scenario.warmup < scenario.duration


def test_a_comment_says_what_was_estimated_and_how(tmp_path: Path) -> None:
    written = text(linux(tmp_path), workload("10.0.0.5", 443, 2.0), workload("10.0.0.9", 22, 0.0))
    comments = [line for line in written.splitlines() if line.startswith("#")]
    joined = " ".join(comments)
    for phrase in ("Estimated", "5 s apart", "Little's law", "lower bound", "Poisson", "10.0.0.9:22 (13)"):
        assert phrase in joined
    assert max(len(line) for line in written.splitlines()) <= 120
    assert len(check(written).workloads) == 1  # the long-lived destination is left out


def test_nothing_to_model_is_said(tmp_path: Path) -> None:
    with pytest.raises(NothingToModelError, match="try a longer --sample"):
        text(linux(tmp_path), workload("10.0.0.9", 22, 0.0))


def test_a_busy_host_is_simulated_for_fewer_seconds(tmp_path: Path) -> None:
    scenario = check(text(linux(tmp_path), workload("10.0.0.5", 443, 5e4, 0.01)))
    assert scenario.expected_attempts <= MAX_ATTEMPTS * 1.01
    assert 2 * scenario.warmup <= scenario.duration < 600


def test_values_the_machine_did_not_give_come_from_the_preset(tmp_path: Path) -> None:
    settings = linux(tmp_path, port_range="?")
    scenario = check(text(settings, workload("10.0.0.5", 443, 3.0)))
    assert (scenario.host.resolve().low, scenario.host.resolve().high) == (32768, 60999)
    assert "port_range" not in text(settings, workload("10.0.0.5", 443, 3.0))
