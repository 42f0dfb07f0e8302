"""Sweeps: the grid, the tidy table, the same table on any number of workers, the per-point intervals."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from sim.config.errors import ScenarioError
from sim.config.scenario import Scenario
from sim.experiments.sweep import grid_points, points, sweep
from sim.report.table import FIGURES, point_summaries
from sim.report.theory import hold_time


def test_the_grid_is_the_product_first_key_slowest(make_scenario: Callable[..., Scenario]) -> None:
    base = make_scenario(sweep={"workloads.w.arrivals.rate": [2.0, 4.0]})
    grid = points(base, {"host.time_wait": [1.0, 2.0, 3.0]})
    assert grid_points(base, {"host.time_wait": [1.0, 2.0, 3.0]}) == len(grid) == 6
    assert [(p.values["workloads.w.arrivals.rate"], p.values["host.time_wait"]) for p in grid] == [
        (2.0, 1.0), (2.0, 2.0), (2.0, 3.0), (4.0, 1.0), (4.0, 2.0), (4.0, 3.0)
    ]  # fmt: skip
    assert grid[4].scenario.workloads[0].arrivals.mean_rate == 4.0
    assert grid[4].scenario.host.resolved.time_wait == 2.0
    assert all(p.scenario.sweep is None and p.scenario.seed == base.seed for p in grid)


def test_over_replaces_a_key_of_the_file(make_scenario: Callable[..., Scenario]) -> None:
    base = make_scenario(sweep={"host.time_wait": [1.0, 2.0]})
    assert [p.values["host.time_wait"] for p in points(base, {"host.time_wait": [5.0]})] == [5.0]


def test_variants_are_the_outer_dimension(make_scenario: Callable[..., Scenario]) -> None:
    base = make_scenario(
        variants=[{"name": "short", "set": {"host.time_wait": 1.0}}, {"name": "long", "set": {"host.time_wait": 4.0}}]
    )
    grid = points(base, {"workloads.w.arrivals.rate": [1.0, 2.0]})
    assert [(p.variant, p.values["workloads.w.arrivals.rate"]) for p in grid] == [
        ("short", 1.0), ("short", 2.0), ("long", 1.0), ("long", 2.0)
    ]  # fmt: skip
    assert grid[3].scenario.host.resolved.time_wait == 4.0


def test_a_point_that_is_invalid_names_its_values(make_scenario: Callable[..., Scenario]) -> None:
    base = make_scenario(warmup=5.0)
    with pytest.raises(ScenarioError, match=r"sweep point duration=4.0: .*warmup"):
        points(base, {"duration": [30.0, 4.0]})


def test_nothing_to_sweep_and_too_many_dimensions(make_scenario: Callable[..., Scenario]) -> None:
    with pytest.raises(ScenarioError, match="nothing to sweep"):
        points(make_scenario())
    base = make_scenario(variants=[{"name": "a", "set": {}}])
    with pytest.raises(ScenarioError, match="at most 3 dimensions"):
        points(base, {"duration": [30.0], "warmup": [0.0], "host.time_wait": [1.0]})


def test_the_table_is_tidy_and_the_same_on_two_workers(make_scenario: Callable[..., Scenario]) -> None:
    base = make_scenario(duration=30.0, replications=2)
    over = {"workloads.w.arrivals.rate": [2.0, 8.0]}
    one = sweep(base, over, workers=1)
    two = sweep(base, over, workers=2)
    assert one.equals(two)
    assert list(one.columns) == ["point", "workloads.w.arrivals.rate", "replication", "seed", *FIGURES]
    assert len(one) == 4
    assert one["replication"].tolist() == [0, 1, 0, 1]
    busy = one[one["workloads.w.arrivals.rate"] == 8.0]["blocking_probability"]
    calm = one[one["workloads.w.arrivals.rate"] == 2.0]["blocking_probability"]
    assert busy.mean() > calm.mean()


def test_replication_r_of_a_point_is_the_single_run_with_that_replication(
    make_scenario: Callable[..., Scenario],
) -> None:
    from sim.experiments.runner import simulate

    base = make_scenario(duration=30.0, replications=2)
    table = sweep(base, {"host.time_wait": [3.0]}, workers=1)
    alone = simulate(base.with_changes({"host.time_wait": 3.0}), base.seed, 1).summary
    assert table["attempts"].iloc[1] == alone.attempts
    assert table["blocking_probability"].iloc[1] == alone.blocking_probability


def test_point_summaries_give_means_and_student_t_intervals(make_scenario: Callable[..., Scenario]) -> None:
    from scipy import stats

    base = make_scenario(duration=30.0, replications=3)
    table = sweep(base, {"workloads.w.arrivals.rate": [6.0]}, workers=1)
    (point,) = point_summaries(table)
    values = table["blocking_probability"]
    assert point["mean"]["blocking_probability"] == pytest.approx(values.mean())
    half = stats.t.ppf(0.975, 2) * values.std(ddof=1) / 3**0.5
    assert point["ci95"]["blocking_probability"] == pytest.approx([values.mean() - half, values.mean() + half])
    assert point["values"] == {"workloads.w.arrivals.rate": 6.0}
    assert point["replications"] == 3


def test_a_cache_folder_makes_the_rerun_free(make_scenario: Callable[..., Scenario], tmp_path: Path) -> None:
    base = make_scenario(duration=30.0)
    first = sweep(base, {"host.time_wait": [1.0, 2.0]}, workers=1, cache=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 2
    seen: list[tuple[int, int]] = []
    again = sweep(
        base, {"host.time_wait": [1.0, 2.0]}, workers=1, cache=tmp_path, progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(2, 2)]
    assert first.equals(again)


def test_limits_cover_the_whole_grid(make_scenario: Callable[..., Scenario]) -> None:
    from sim.config.limits import Limits

    with pytest.raises(ScenarioError, match="connection attempts expected"):
        sweep(make_scenario(), {"host.time_wait": [1.0, 2.0, 3.0]}, limits=Limits(attempts=200))


def test_request_workloads_get_their_request_figures_and_no_offered_load(
    make_scenario: Callable[..., Scenario],
) -> None:
    def requests(pool: object) -> Scenario:
        w = {
            "name": "api",
            "requests": {"arrivals": {"kind": "poisson", "rate": 4.0}, "latency": {"kind": "fixed", "value": 0.5}},
            "pool": pool,
            "destinations": [{"address": "10.0.0.1", "port": 80}],
        }
        return make_scenario(duration=30.0, workloads=[w])

    over = {"workloads.api.requests.arrivals.rate": [2.0, 40.0]}
    pooled = sweep(requests({"max_per_host": 4, "when_full": "fail"}), over, workers=1)
    for _, row in pooled.iterrows():
        assert row["requests"] > 0
        assert 0 <= row["request_failure_probability"] <= 1
        assert row["new_connections_per_s"] * 30.0 <= row["attempts"]
        assert row["reuse_ratio"] >= 1
        assert math.isnan(row["offered_load"])  # a pool's connections do not arrive at the request rate
    busy = pooled[pooled["workloads.api.requests.arrivals.rate"] == 40.0].iloc[0]
    assert busy["request_failure_probability"] > 0.5 > busy["blocking_probability"]  # the pool refuses, not connect()
    plain = sweep(requests("none"), over, workers=1)
    hold = hold_time(requests("none"), 0)  # a connection per request: the latency, then its TIME_WAIT
    assert plain["offered_load"].tolist() == pytest.approx([2.0 * hold, 40.0 * hold])
    assert plain["reuse_ratio"].tolist() == [1.0, 1.0]
    connections = sweep(make_scenario(duration=30.0), {"workloads.w.arrivals.rate": [2.0]}, workers=1)
    assert connections[["requests", "request_failure_probability", "new_connections_per_s"]].isna().all(axis=None)
