"""Shared fixtures: small scenarios built from plain data."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.config.scenario import Scenario, validate
from sim.model.model import PortModel
from sim.model.portmap import PortMap
from sim.output.results import RunResult
from sim.report.summary import report
from tests.machine.netns import namespace_problem

ROOT = Path(__file__).resolve().parent.parent

BASE: dict[str, Any] = {
    "name": "tiny",
    "duration": 20.0,
    "seed": 5,
    "host": {"preset": "iana", "port_range": [50000, 50015], "time_wait": 2.0},
    "workloads": [
        {
            "name": "w",
            "arrivals": {"kind": "poisson", "rate": 5.0},
            "duration": {"kind": "exponential", "mean": 1.0},
            "destinations": [{"address": "10.0.0.1", "port": 80}],
        }
    ],
}


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``changes`` into a copy of ``base`` (lists are replaced)."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@pytest.fixture
def make_scenario() -> Callable[..., Scenario]:
    """Build a validated Scenario from BASE with deep-merged changes; ``workload=`` replaces workload keys."""

    def build(workload: dict[str, Any] | None = None, **changes: Any) -> Scenario:
        raw = merge(BASE, changes)
        if workload is not None:
            raw["workloads"] = [{**BASE["workloads"][0], **workload}]
        return validate(raw, source="<test>")

    return build


def simulate(scenario: Scenario, seed: int | None = None, replication: int = 0, *, fast: bool = True) -> RunResult:
    """One replication through the model and the report (``fast=False``: the lifecycle's general path only)."""
    return RunResult.of(report(PortModel(scenario, seed, replication, fast=fast).run()))


@pytest.fixture(scope="module")
def namespace() -> None:
    """Skip, saying why, where a private network namespace cannot be made here (tests/machine/netns.py)."""
    problem = namespace_problem()
    if problem is not None:
        pytest.skip(problem)


def assert_same_port_map(a: PortMap, b: PortMap) -> None:
    """Two recorded port maps equal in every field: the still, the frames and their counts."""
    assert (a.low, a.at_failure, a.source, a.destination, a.fps) == (
        b.low,
        b.at_failure,
        b.source,
        b.destination,
        b.fps,
    )
    sa, sb = a.still, b.still
    assert (sa.time, sa.attempts, sa.failures, sa.source, sa.destination) == (
        sb.time,
        sb.attempts,
        sb.failures,
        sb.source,
        sb.destination,
    )
    for name in ("times", "frames", "attempts", "failures"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert getattr(a, name).dtype == getattr(b, name).dtype, name
    np.testing.assert_array_equal(sa.flags, sb.flags)
    assert sa.flags.dtype == sb.flags.dtype == np.uint8
