"""The side-by-side comparison of the linux preset with the live kernel."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from sim.cli.main import main
from sim.kernel import validation
from sim.kernel.measure import kernel_support


@pytest.fixture(scope="module")
def simulated() -> dict[str, object]:
    return validation.simulate(seed=1, tw_reuse_delay_ms=200)


def test_simulator_agrees_with_itself(simulated: dict[str, object]) -> None:
    other = validation.simulate(seed=2, tw_reuse_delay_ms=200)
    checks = validation.compare(simulated, other)  # type: ignore[arg-type]
    assert len(checks) == 9
    assert all(c.passed for c in checks), [c for c in checks if not c.passed]


@pytest.mark.parametrize(
    ("experiment", "change", "row"),
    [
        ("per_destination", lambda r: r["runs"][0]["ports"][0].pop(), "connections to one destination"),
        ("increments", lambda r: r.update(ports=list(range(32768, 32768 + 3 * 2000, 3))), "port increments"),
        ("bind_exhaustion", lambda r: r.update(errno="EADDRNOTAVAIL"), "bind(0) exhaustion"),
        ("time_wait_scope", lambda r: r.update(other_destination_ok=False), "TIME_WAIT blocks"),
        ("tw_reuse", lambda r: r.update(first_success_age_ms=150.0), "tw_reuse=1 threshold"),  # reused too early
        ("tw_reuse", lambda r: r.update(last_failure_age_ms=260.0), "tw_reuse=1 threshold"),  # refused too late
    ],
)
def test_a_kernel_that_behaves_differently_fails_its_row(
    simulated: dict[str, object], experiment: str, change: object, row: str
) -> None:
    kernel = copy.deepcopy(simulated)
    change(kernel[experiment])  # type: ignore[operator]
    failed = [c.name for c in validation.compare(kernel, simulated) if not c.passed]  # type: ignore[arg-type]
    assert any(name.startswith(row) for name in failed), failed


def test_a_failed_experiment_is_reported_not_hidden(simulated: dict[str, object]) -> None:
    kernel = copy.deepcopy(simulated)
    kernel["tw_reuse"] = {"error": "timed out"}
    checks = validation.compare(kernel, simulated)  # type: ignore[arg-type]
    assert [c.passed for c in checks if c.name == "tw_reuse"] == [False]


def test_validate_kernel_says_why_it_cannot_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sim.kernel.measure.kernel_support", lambda: "no permission to create a network namespace")
    assert main(["validate", "--kernel"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("portsim: error: validate --kernel: cannot measure the kernel here: no permission")
    assert err.count("\n") == 1


REASON = kernel_support()


@pytest.mark.kernel
@pytest.mark.skipif(REASON is not None, reason=f"live kernel check unavailable: {REASON}")
def test_live_kernel_matches_the_linux_preset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "kv"
    code = main(["validate", "--kernel", "--out", str(out)])
    printed = capsys.readouterr().out
    data = json.loads((out / "validation.json").read_text())
    failed = [c for c in data["checks"] if not c["passed"]]
    assert not failed, failed
    assert code == 0
    assert "9/9 checks pass" in printed
    assert (out / "validation.png").stat().st_size > 20_000
