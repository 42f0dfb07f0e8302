"""The hand-inlined fast paths against the general code they copy (differential and property tests)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.config.scenario import validate
from sim.core.policies import parity_segments, scan_segments
from sim.core.policies.base import PortSpace
from sim.core.policies.linux import Linux, LinuxParams
from tests.conftest import simulate
from tests.strategies import scenarios

SCALE = float(os.environ.get("PORTSIM_EXAMPLES_SCALE", "1"))
"""``make fuzz`` runs ten times the examples, ``make mutants`` a tenth."""


def comparable(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k != "wall_time_s"}


@settings(max_examples=max(10, int(200 * SCALE)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_the_fast_lifecycle_path_gives_the_general_paths_results(raw: dict[str, Any]) -> None:
    """Random multi-workload scenarios (sources, bind modes, close sides, timer grids, max_tw_buckets,
    tw_reuse, small ranges): the inlined loop and the general loop give identical runs."""
    scenario = validate(raw, "<random>")
    fast = simulate(scenario)
    general = simulate(scenario, fast=False)
    assert comparable(fast.summary.to_json()) == comparable(general.summary.to_json())
    assert fast.series.keys() == general.series.keys()
    for column, values in fast.series.items():
        np.testing.assert_array_equal(values, general.series[column], err_msg=column)
    np.testing.assert_array_equal(np.trim_zeros(fast.probe_counts, "b"), np.trim_zeros(general.probe_counts, "b"))
    np.testing.assert_array_equal(fast.reuse_counts, general.reuse_counts)
    np.testing.assert_array_equal(fast.occupancy_attempts, general.occupancy_attempts)


def test_the_fast_path_is_the_one_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without this, the differential test above could compare the general path with itself (the Python
    model's fast path: the compiled one has its own tests in tests/model/test_compiled.py)."""
    monkeypatch.setenv("PORTSIM_PURE", "1")
    raw = {
        "name": "plain",
        "duration": 30.0,
        "host": {"port_range": [40000, 40015], "time_wait": 2.0},
        "workloads": [
            {
                "name": "w",
                "arrivals": {"kind": "poisson", "rate": 6.0},
                "duration": {"kind": "exponential", "mean": 0.5},
                "destinations": [{"address": "10.0.0.1", "port": 80}],
            }
        ],
    }
    from sim.core.lifecycle import Lifecycle
    from sim.model.model import PortModel

    calls = {"simple": 0, "general": 0}
    simple, general = Lifecycle._advance_simple, Lifecycle._advance_general

    def count_simple(self: Lifecycle, now: float) -> None:
        calls["simple"] += 1
        simple(self, now)

    def count_general(self: Lifecycle, now: float) -> None:
        calls["general"] += 1
        general(self, now)

    model = PortModel(validate(raw, "<plain>"))
    model.lifecycle._advance_simple = count_simple.__get__(model.lifecycle)  # type: ignore[method-assign]
    model.lifecycle._advance_general = count_general.__get__(model.lifecycle)  # type: ignore[method-assign]
    model.run()
    assert calls["simple"] > 100
    assert calls["general"] == 0
    reference = PortModel(validate(raw, "<plain>"), fast=False)
    reference.lifecycle._advance_simple = count_simple.__get__(reference.lifecycle)  # type: ignore[method-assign]
    calls["simple"] = 0
    reference.run()
    assert calls["simple"] == 0


@st.composite
def occupancies(draw: st.DrawFn) -> tuple[bytearray, int]:
    half = draw(st.integers(min_value=1, max_value=40))
    size = 2 * half
    fill = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99, 1.0]))
    bits = draw(st.lists(st.floats(min_value=0, max_value=1), min_size=size, max_size=size))
    usable = bytearray(1 if b < fill else 0 for b in bits)
    return usable, draw(st.integers(min_value=0, max_value=half - 1))


@settings(max_examples=max(10, int(400 * SCALE)), deadline=None)
@given(occupancies())
def test_the_even_range_scan_matches_the_general_scan(case: tuple[bytearray, int]) -> None:
    """Linux._scan_even (both parity passes as plain rings) against scan_segments(parity_segments(...))."""
    usable, j0 = case
    size = len(usable)
    policy = Linux(PortSpace(40000, 40000 + size - 1, 1, [("10.0.0.1", 80)]), np.random.default_rng(0), LinuxParams())
    offset = 2 * j0
    found, probes, before = scan_segments(usable, parity_segments(size, 0, size, offset))
    if found < 0:
        found, second, before = scan_segments(usable, parity_segments(size, 0, size, offset + 1))
        probes += second
    fast_found, fast_probes, fast_before = policy._scan_even(usable, j0)
    assert (fast_found, fast_probes) == (found, probes)
    if found >= 0:  # the distance scanned advances the table; it means nothing on failure
        assert fast_before == before
