"""The model as a whole: reproducibility, independent streams, and agreement with Erlang B."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import sim
from sim.config.scenario import Scenario
from sim.core.streams import component_rng
from sim.stats.erlang import erlang_b
from tests.conftest import simulate
from tests.theory import t_interval


def comparable(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k != "wall_time_s"}


def test_same_seed_same_results(make_scenario: Callable[..., Scenario]) -> None:
    scenario = make_scenario(workload={"arrivals": {"kind": "poisson", "rate": 12.0}})
    a = simulate(scenario, seed=3)
    b = simulate(scenario, seed=3)
    assert comparable(a.summary) == comparable(b.summary)
    for column in a.series:
        np.testing.assert_array_equal(a.series[column], b.series[column])
    np.testing.assert_array_equal(a.probe_counts, b.probe_counts)
    np.testing.assert_array_equal(a.reuse_counts, b.reuse_counts)
    assert a.summary["failures"] > 0  # the comparison covers failures, not just an idle pool


def test_different_seeds_differ(make_scenario: Callable[..., Scenario]) -> None:
    scenario = make_scenario(workload={"arrivals": {"kind": "poisson", "rate": 12.0}})
    a = simulate(scenario, seed=3).summary
    b = simulate(scenario, seed=4).summary
    assert a["attempts"] != b["attempts"] or a["failures"] != b["failures"]


def test_streams_are_independent_per_component() -> None:
    draws = {name: component_rng(1, 0, name).random(3).tolist() for name in ("policy", "a", "b")}
    assert len({tuple(v) for v in draws.values()}) == 3
    assert component_rng(1, 0, "a").random(3).tolist() == draws["a"]
    assert component_rng(1, 1, "a").random(3).tolist() != draws["a"]


def test_adding_a_workload_leaves_the_others_streams_alone(make_scenario: Callable[..., Scenario]) -> None:
    """Streams are keyed by component name, so a second workload does not reshuffle the first."""
    one = make_scenario(
        host={"port_range": [50000, 59999]},
        workload={"arrivals": {"kind": "poisson", "rate": 20.0}, "close": "server"},
    )
    other = one.workloads[0].model_dump() | {
        "name": "other",
        "destinations": [{"address": "10.9.9.9", "port": 1}],
    }
    two = one.with_changes(workloads=[one.workloads[0].model_dump(), other])
    a = simulate(one).summary["workloads"]["w"]
    b = simulate(two).summary["workloads"]["w"]
    assert a == b


def test_scenario_path_and_object_give_the_same_run() -> None:
    from tests.conftest import ROOT

    path = ROOT / "scenarios" / "quickstart.yaml"
    overrides = ["duration=30", "warmup=0"]
    by_path = sim.run(path, seed=2, overrides=overrides)
    by_object = sim.run(sim.load_scenario(path, overrides), seed=2)
    assert comparable(by_path.summary) == comparable(by_object.summary)
    assert by_path.scenario.seed == 2


# --------------------------------------------------------------------------- Erlang B

LOSS = {
    "duration": 1000.0,
    "warmup": 100.0,
    "seed": 2026,
    "replications": 8,
    "host": {"port_range": [50000, 50063], "time_wait": 2.0, "policy": "random_start"},
}


def blocking_ci(scenario: Scenario, destination: str | None = None) -> tuple[float, float, float]:
    """Mean blocking over the scenario's replications and its Student-t interval at the tests' LEVEL."""
    values = []
    for r in range(scenario.replications):
        s = simulate(scenario, replication=r).summary
        values.append((s.destinations[destination] if destination else s).blocking_probability)
    low, high = t_interval(values)
    return float(np.mean(values)), low, high


@pytest.mark.slow
@pytest.mark.parametrize(
    "duration",
    [
        {"kind": "exponential", "mean": 1.0},
        {"kind": "lognormal", "mean": 1.0, "sigma": 1.5},
        {"kind": "fixed", "value": 1.0},
        {"kind": "pareto", "shape": 2.5, "mean": 1.0},
    ],
    ids=lambda d: d["kind"],
)
def test_blocking_matches_erlang_b_whatever_the_duration_law(
    duration: dict[str, Any], make_scenario: Callable[..., Scenario]
) -> None:
    """M/G/N/N: N = 64 ports, A = 18/s x (1 s + 2 s TIME_WAIT) = 54 Erlangs, B(64, 54) = 0.0358."""
    scenario = make_scenario(**LOSS, workload={"arrivals": {"kind": "poisson", "rate": 18.0}, "duration": duration})
    summary = simulate(scenario).summary
    predicted = erlang_b(64, 54.0)
    assert summary["erlang_b"]["blocking_probability"] == pytest.approx(predicted)
    assert summary["erlang_b"]["applicable"] is True
    mean, low, high = blocking_ci(scenario)
    assert low <= predicted <= high, (mean, low, high, predicted)


@pytest.mark.slow
def test_each_destination_is_its_own_erlang_pool(make_scenario: Callable[..., Scenario]) -> None:
    """4-tuple sharing: 40.5/s split 4:5 gives two separate 64-port pools offered 54 and 67.5 Erlangs.

    (Were the 64 ports one shared pool, blocking would be B(64, 121.5) = 0.48.)
    """
    workload = {
        "arrivals": {"kind": "poisson", "rate": 40.5},
        "destinations": [
            {"address": "10.0.0.1", "port": 80, "weight": 4},
            {"address": "10.0.0.2", "port": 80, "weight": 5},
        ],
    }
    scenario = make_scenario(**LOSS, workload=workload)
    summary = simulate(scenario).summary
    for label, rate in (("10.0.0.1:80", 18.0), ("10.0.0.2:80", 22.5)):
        predicted = erlang_b(64, rate * 3.0)
        entry = summary["destinations"][label]
        assert entry["erlang_b"]["blocking_probability"] == pytest.approx(predicted)
        mean, low, high = blocking_ci(scenario, label)
        assert low <= predicted <= high, (label, mean, low, high, predicted)


@pytest.mark.slow
def test_bind_before_connect_pools_all_destinations(make_scenario: Callable[..., Scenario]) -> None:
    """With bind() the same 24/s over two destinations competes for one pool: B(64, 72)."""
    workload = {
        "arrivals": {"kind": "poisson", "rate": 24.0},
        "bind": True,
        "destinations": [{"address": "10.0.0.1", "port": 80}, {"address": "10.0.0.2", "port": 80}],
    }
    scenario = make_scenario(**LOSS, workload=workload)
    predicted = erlang_b(64, 72.0)
    assert simulate(scenario).summary["erlang_b"]["blocking_probability"] == pytest.approx(predicted)
    mean, low, high = blocking_ci(scenario)
    assert low <= predicted <= high, (mean, low, high, predicted)


@pytest.mark.slow
def test_source_addresses_split_the_load(make_scenario: Callable[..., Scenario]) -> None:
    """Two source addresses with IP_BIND_ADDRESS_NO_PORT: each is a 64-port pool offered 36/s x 3 s / 2."""
    scenario = make_scenario(
        **{**LOSS, "host": {**LOSS["host"], "source_addresses": 2}},
        workload={"arrivals": {"kind": "poisson", "rate": 36.0}, "bind": "no_port"},
    )
    predicted = erlang_b(64, 54.0)
    assert simulate(scenario).summary["pool"]["total_ports"] == 128
    mean, low, high = blocking_ci(scenario)
    assert low <= predicted <= high, (mean, low, high, predicted)


def test_pool_size_counts_only_usable_addresses(make_scenario: Callable[..., Scenario]) -> None:
    plain = simulate(make_scenario(host={"source_addresses": 4})).summary["pool"]
    spread = simulate(make_scenario(host={"source_addresses": 4}, workload={"bind": "no_port"})).summary["pool"]
    assert (plain["total_ports"], plain["source_addresses_used"]) == (16, 1)
    assert (spread["total_ports"], spread["source_addresses_used"]) == (64, 4)


def test_next_port_guess_reports_signed_steps(make_scenario: Callable[..., Scenario]) -> None:
    scenario = make_scenario(
        host={"policy": "sequential_down", "sharing": "none"},
        workload={
            "arrivals": {"kind": "constant", "interval": 0.1},
            "duration": {"kind": "fixed", "value": 0.05},  # each port is free again before the next attempt
            "close": "reset",
        },
    )
    guess = simulate(scenario).summary["destinations"]["10.0.0.1:80"]["next_port_guess"]
    assert guess["increment"] == -1
    assert guess["success_rate"] == 1.0


def test_capacity_names_what_it_ignores(make_scenario: Callable[..., Scenario]) -> None:
    from sim.report.theory import capacity

    assert capacity(make_scenario())["10.0.0.1:80"]["ignores"] == ""
    loopback = make_scenario(host={"tw_reuse": 2}, workload={"destinations": [{"address": "127.0.0.1", "port": 80}]})
    assert capacity(loopback)["127.0.0.1:80"]["ignores"] == "tw_reuse"


def test_progress_moves_with_attempts_not_only_with_simulated_time(make_scenario: Callable[..., Scenario]) -> None:
    """All 140,000 attempts fall in the first 1/200 of simulated time: progress still reports during them."""
    from sim.model.model import PortModel

    scenario = make_scenario(
        duration=20_000.0,
        host={"time_wait": 0.0},
        workload={"arrivals": {"kind": "constant", "interval": 1e-4}, "stop": 14.0, "close": "reset"},
    )
    calls: list[tuple[float, int]] = []
    PortModel(scenario).run(lambda t, attempts: calls.append((t, attempts)))
    during = [n for t, n in calls if t < 14.0]
    assert during == [4096 * k for k in range(1, 140_000 // 4096 + 1)]
    assert calls[-1] == (20_000.0, 139_999)
