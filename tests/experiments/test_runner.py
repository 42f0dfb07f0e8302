"""Replications: reproducible, combined into means and confidence intervals."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import sim
from sim.config.scenario import Scenario
from sim.stats.intervals import mean_ci


@pytest.fixture
def loaded(make_scenario: Callable[..., Scenario]) -> Scenario:
    return make_scenario(duration=60.0, workload={"arrivals": {"kind": "poisson", "rate": 6.0}})


def test_replication_zero_is_the_single_run(loaded: Scenario) -> None:
    single = sim.run(loaded, seed=11)
    many = sim.run(loaded, seed=11, replications=3)
    first = many.replications[0]
    for key in ("attempts", "failures", "blocking_probability", "first_failure_time_s"):
        assert first[key] == single.summary[key]
    assert many.scenario.replications == 3
    assert many.scenario.seed == 11


def test_means_and_intervals(loaded: Scenario) -> None:
    result = sim.run(loaded, seed=11, replications=4)
    values = [r["blocking_probability"] for r in result.replications]
    mean, low, high = mean_ci(values)
    assert len(set(values)) > 1
    assert result.summary["blocking_probability"] == pytest.approx(mean)
    assert result.summary["ci95"]["blocking_probability"] == pytest.approx([low, high])
    assert result.summary["replications"] == 4
    assert result.summary["confidence_level"] == 0.95
    assert result.summary["ci95"]["time_wait"]["mean"][0] <= result.summary["time_wait"]["mean"]
    assert "pool" not in result.summary["ci95"]  # settings, not measurements
    assert result.summary["pool"]["total_ports"] == 16


def test_series_and_histograms_are_stacked(loaded: Scenario) -> None:
    result = sim.run(loaded, seed=11, replications=3)
    series = result.series
    assert set(np.unique(series["replication"])) == {0, 1, 2}
    rows = series["time_s"].size // 3
    np.testing.assert_array_equal(series["time_s"][:rows], series["time_s"][rows : 2 * rows])
    assert series["attempts"].sum() == pytest.approx(result.summary["attempts"] * 3)
    assert result.probe_counts.sum() == series["attempts"].sum()


def test_progress_is_reported_up_to_the_end(loaded: Scenario) -> None:
    seen: list[tuple[float, int]] = []
    sim.run(loaded, replications=2, workers=1, progress=lambda fraction, attempts: seen.append((fraction, attempts)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions)
    assert fractions[-1] == pytest.approx(1.0)
    assert seen[-1][1] > seen[len(seen) // 2][1] > 0


def test_running_a_scenario_with_variants_says_they_are_left_out(make_scenario: Callable[..., Scenario]) -> None:
    scenario = make_scenario(variants=[{"name": "slow", "set": {"host.time_wait": 5}}])
    with pytest.warns(UserWarning, match="use run_variants"):
        sim.run(scenario)


def test_replications_on_two_workers_give_the_same_result(loaded: Scenario) -> None:
    seen: list[tuple[float, int]] = []
    here = sim.run(loaded, seed=11, replications=3, workers=1)
    there = sim.run(loaded, seed=11, replications=3, workers=2, progress=lambda f, a: seen.append((f, a)))
    assert _measured(here.summary.to_json()) == _measured(there.summary.to_json())
    for column in here.series:
        np.testing.assert_array_equal(here.series[column], there.series[column])
    np.testing.assert_array_equal(here.probe_counts, there.probe_counts)
    assert [f for f, _ in seen] == pytest.approx([1 / 3, 2 / 3, 1.0])  # a step per replication done
    assert seen[-1][1] == pytest.approx(there.summary.attempts * 3)


def test_variants_on_two_workers_give_the_same_results(make_scenario: Callable[..., Scenario]) -> None:
    scenario = make_scenario(
        replications=2, variants=[{"name": "a", "set": {"host.time_wait": 1.0}}, {"name": "b", "set": {}}]
    )
    here = sim.run_variants(scenario, workers=1)
    there = sim.run_variants(scenario, workers=2)
    assert list(here) == list(there) == ["a", "b"]
    for name in here:
        assert _measured(here[name].summary.to_json()) == _measured(there[name].summary.to_json())


def _measured(value: object) -> object:
    """A summary without its wall times (the only figure that depends on where a run ran)."""
    if isinstance(value, dict):
        return {k: _measured(v) for k, v in value.items() if k != "wall_time_s"}
    if isinstance(value, list):
        return [_measured(v) for v in value]
    return value


@pytest.mark.parametrize("workers", [1, 2])
def test_the_port_map_is_replication_zeros(loaded: Scenario, workers: int) -> None:
    """Recorded in replication 0 only, in this process or on workers alike: the same frames as the single run."""
    single = sim.run(loaded, seed=11, port_map=True)
    many = sim.run(loaded, seed=11, replications=2, workers=workers, port_map=sim.PortMapSpec(fps=10, seconds=15))
    assert single.port_map_data is not None
    assert many.port_map_data is not None
    assert many.port_map_data.frames.shape == (150, 16)
    np.testing.assert_array_equal(single.port_map_data.frames, many.port_map_data.frames)
    assert many.port_map_data.still.time == single.summary.first_failure_time_s
    variants = sim.run_variants(loaded, port_map=True)
    assert all(r.port_map_data is not None and r.port_map_data.animated for r in variants.values())
    with pytest.raises(sim.ScenarioError, match="not a destination"):
        sim.run(loaded, port_map=sim.PortMapSpec(destination="10.9.9.9:1"))
