"""Connection lifecycle, checked on runs small enough to work out by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from sim.config.scenario import Scenario
from sim.model.model import PortModel
from tests.conftest import simulate

CLOCKWORK = {
    "duration": 10.0,
    "sample_interval": 1.0,
    "host": {"port_range": [50000, 50001], "policy": "sequential", "time_wait": 2.0},
}
WORKLOAD = {"arrivals": {"kind": "constant", "interval": 1.0}, "duration": {"kind": "fixed", "value": 0.5}}


def test_client_close_holds_time_wait_exactly(make_scenario: Callable[..., Scenario]) -> None:
    """Two ports, an attempt every second, 0.5 s ESTABLISHED then 2 s TIME_WAIT.

    t=1 takes port 0 (held until 3.5), t=2 port 1 (until 4.5), t=3 finds both held and fails,
    t=4 takes port 0 again (free since 3.5), t=5 port 1, t=6 fails, t=7, t=8 succeed, t=9 fails.
    """
    scenario = make_scenario(**CLOCKWORK, workload={**WORKLOAD, "close": "client"})
    result = simulate(scenario)
    s = result.summary
    assert (s["attempts"], s["established"], s["failures"]) == (9, 6, 3)
    assert s["first_failure_time_s"] == 3.0
    assert s["errors"] == {"EADDRNOTAVAIL": 3, "EADDRINUSE": 0}
    assert s["time_wait"]["peak"] == 2
    assert s["ports_in_use"]["peak"] == 2
    # time-weighted over [0, 10]: 6 x 0.5 s ESTABLISHED; 5 x 2 s + 1.5 s (cut at t=10) of TIME_WAIT
    assert s["connections_established"]["mean"] == pytest.approx(0.3)
    assert s["time_wait"]["mean"] == pytest.approx(1.15)
    assert s["ports_in_use"]["mean"] == pytest.approx(1.45)
    # every port is taken again 0.5 s after its TIME_WAIT ends
    assert s["reuse_interval_s"]["count"] == 4
    assert s["reuse_interval_s"]["min"] == pytest.approx(0.5)
    assert s["reuse_interval_s"]["median"] == pytest.approx(0.5, rel=0.025)
    # sequential examines 1 port on success here, and both ports on each failure
    assert s["probes"] == {"mean": pytest.approx(12 / 9), "p99": 2, "max": 2}
    assert result.series["attempts"].sum() == 9
    assert result.series["failures"].sum() == 3
    assert result.series["time_s"].tolist() == [float(t) for t in range(11)]


@pytest.mark.parametrize("close", ["server", "reset"])
def test_server_or_reset_close_frees_the_port_at_once(close: str, make_scenario: Callable[..., Scenario]) -> None:
    scenario = make_scenario(**CLOCKWORK, workload={**WORKLOAD, "close": close})
    s = simulate(scenario).summary
    assert (s["attempts"], s["failures"]) == (9, 0)
    assert s["time_wait"]["peak"] == 0
    assert s["ports_in_use"]["peak"] == 1
    assert s["reuse_interval_s"]["min"] == pytest.approx(1.5)  # port 0 freed at 1.5, taken at 3


def test_time_wait_blocks_only_its_own_4_tuple(make_scenario: Callable[..., Scenario]) -> None:
    """kernel.md fact 15: with every port in TIME_WAIT toward A, a connect to B still succeeds."""
    scenario = make_scenario(
        **CLOCKWORK,
        workload={**WORKLOAD, "destinations": [{"address": "10.0.0.1", "port": 80}]},
    )
    second = scenario.workloads[0].model_copy(
        update={
            "name": "to-b",
            "arrivals": scenario.workloads[0].arrivals.model_copy(update={"interval": 3.0}),
            "destinations": [scenario.workloads[0].destinations[0].model_copy(update={"port": 81})],
        }
    )
    both = scenario.with_changes(workloads=[w.model_dump() for w in (scenario.workloads[0], second)])
    s = simulate(both).summary
    assert s["workloads"]["to-b"]["failures"] == 0  # t=3, 6, 9: the ports toward A are busy, not toward B
    assert s["workloads"]["w"]["failures"] == 3
    assert s["ports_in_use"]["peak"] == 2


def test_bind_makes_ports_exclusive_across_destinations(make_scenario: Callable[..., Scenario]) -> None:
    """kernel.md fact 13: bound ports are not shared, so two destinations compete for two ports."""
    destinations = [{"address": "10.0.0.1", "port": 80}, {"address": "10.0.0.2", "port": 80}]
    shared = make_scenario(**CLOCKWORK, workload={**WORKLOAD, "destinations": destinations, "bind": False})
    bound = make_scenario(**CLOCKWORK, workload={**WORKLOAD, "destinations": destinations, "bind": True})
    s_shared = simulate(shared).summary
    s_bound = simulate(bound).summary
    assert s_bound["failures"] == 3  # same as one destination: the pool is per source address
    assert s_bound["errors"]["EADDRINUSE"] == 3
    assert s_shared["failures"] <= s_bound["failures"]


def test_macos_sharing_none_is_one_pool(make_scenario: Callable[..., Scenario]) -> None:
    destinations = [{"address": "10.0.0.1", "port": 80}, {"address": "10.0.0.2", "port": 80}]
    four_ports = {**CLOCKWORK, "host": {**CLOCKWORK["host"], "port_range": [50000, 50003]}}
    interleaved = {
        **WORKLOAD,
        "arrivals": {"kind": "constant", "interval": 0.5},
        "destinations": destinations,
    }
    shared = make_scenario(**four_ports, workload=interleaved)
    single = make_scenario(**{**four_ports, "host": {**four_ports["host"], "sharing": "none"}}, workload=interleaved)
    assert simulate(shared).summary["ports_in_use"]["peak"] <= 4
    s = simulate(single).summary
    # attempts every 0.5 s, each holding its port 2.5 s: 5 would be needed, 4 exist
    assert s["failures"] > 0
    assert s["ports_in_use"]["peak"] == 4


def test_workload_window(make_scenario: Callable[..., Scenario]) -> None:
    scenario = make_scenario(**CLOCKWORK, workload={**WORKLOAD, "close": "server", "start": 2.0, "stop": 6.0})
    s = simulate(scenario).summary
    assert s["attempts"] == 3  # at 3, 4, 5 (first one interval after start; stop excluded)
    assert s["erlang_b"]["applicable"] is False


def test_reserved_ports_are_skipped(make_scenario: Callable[..., Scenario]) -> None:
    scenario = make_scenario(
        duration=5.0,
        host={"port_range": [50000, 50003], "policy": "sequential", "reserved_ports": [50001, 50002]},
        workload={**WORKLOAD, "close": "client"},
    )
    model = PortModel(scenario)
    ports = [model.attempt(model.drivers[0], t) for t in (0.1, 0.2, 0.3)]
    assert ports == [50000, 50003, -1]


@pytest.mark.parametrize(
    "changes",
    [
        {
            "host": {"preset": "linux", "port_range": [50000, 50031]},
            "workload": {"destinations": [{"address": "127.0.0.1", "port": 80}]},
        },
        {"host": {"tw_reuse": 1, "tw_reuse_delay": 0.0}},
        {"workload": {"close": "half"}},
        {"host": {"max_tw_buckets": 5}},
        {"host": {"time_wait_granularity": 0.7}},
        {"workload": {"close": "server"}},
    ],
    ids=["loopback-tw-reuse", "tw-reuse-delay-0", "half-close", "max-tw-buckets", "timer-grid", "server-close"],
)
def test_fast_path_counts_exactly_like_the_general_one(
    changes: dict[str, Any], make_scenario: Callable[..., Scenario]
) -> None:
    """The inline loop for the common case and the general loop must give identical levels and series."""
    workload = {"arrivals": {"kind": "poisson", "rate": 3.0}, "duration": {"kind": "fixed", "value": 0.5}}
    workload.update(changes.get("workload", {}))
    scenario = make_scenario(duration=400.0, warmup=50.0, host=changes.get("host", {}), workload=workload)
    fast = simulate(scenario)
    general = simulate(scenario, fast=False)
    for column, values in fast.series.items():
        np.testing.assert_array_equal(values, general.series[column], err_msg=column)
    for key in ("connections_established", "time_wait", "fin_wait2", "ports_in_use", "destinations", "attempts"):
        assert fast.summary[key] == general.summary[key], key
    levels = fast.series
    assert (levels["established"] >= 0).all()
    assert (levels["time_wait"] >= 0).all()
    assert fast.summary["time_wait"]["peak"] >= fast.summary["time_wait"]["mean"]
    assert fast.summary["connections_established"]["peak"] <= 10  # 3/s held 0.5 s: a handful at once


def test_half_close_holds_fin_wait2_exactly(make_scenario: Callable[..., Scenario]) -> None:
    """Two ports, an attempt every second, 0.5 s ESTABLISHED then 3 s in FIN_WAIT2 (fin_timeout).

    t=1 takes port 0 (held to 4.5), t=2 port 1 (to 5.5), t=3 and t=4 fail, t=5 takes port 0 again
    (to 8.5), t=6 port 1 (to 9.5), t=7 and t=8 fail, t=9 takes port 0 (orphaned at 9.5).
    """
    host = {**CLOCKWORK["host"], "fin_timeout": 3.0}  # type: ignore[dict-item]
    scenario = make_scenario(**{**CLOCKWORK, "host": host}, workload={**WORKLOAD, "close": "half"})
    s = simulate(scenario).summary
    assert (s.attempts, s.established, s.failures) == (9, 5, 4)
    assert s.time_wait.peak == 0
    assert s.fin_wait2.peak == 2
    # FIN_WAIT2 over [0, 10]: 3 s for each of four orphans, 0.5 s of the last (cut at t=10)
    assert s.fin_wait2.mean == pytest.approx(1.25)
    assert s.connections_established.mean == pytest.approx(0.25)
    assert s.destinations["10.0.0.1:80"].peak_connections == 2


def test_tw_reuse_takeovers_are_counted_per_destination(make_scenario: Callable[..., Scenario]) -> None:
    """One port, tw_reuse 1, delay 0.4 s: every attempt from t=2 on takes over the TIME_WAIT left 0.5 s before."""
    scenario = make_scenario(
        **{
            **CLOCKWORK,
            "host": {**CLOCKWORK["host"], "port_range": [50000, 50000], "tw_reuse": 1, "tw_reuse_delay": 0.4},
        },
        workload={**WORKLOAD, "close": "client"},
    )
    s = simulate(scenario).summary
    assert (s.attempts, s.failures) == (9, 0)
    assert s.time_wait.recycled == 8
    assert s.destinations["10.0.0.1:80"].time_wait_recycled == 8
    assert s.reuse_interval_s.min == pytest.approx(0.1)  # takeable from 1.5 + 0.4, taken at 2
