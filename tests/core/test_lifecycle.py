"""Connection lifecycle, checked on runs small enough to work out by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from sim.config.scenario import Scenario
from sim.core.accounting import Accounting
from sim.core.hooks import Connection
from sim.core.lifecycle import Lifecycle
from sim.core.pool import TIME_WAIT, PortPool
from sim.core.timers import Timers, wheel_granularity
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


# --------------------------------------------------------------------------- the lifecycle driven directly


def opened(lc: Lifecycle, end: float, conn: Connection) -> None:
    """Take the connection's 4-tuple at its opening time and schedule its close at ``end``."""
    lc.pool.take(conn[0], conn[1], conn[2], False, conn[5])
    lc.open(end, conn)


@pytest.mark.parametrize("schedule", ["open", "close_at"])
def test_closes_due_at_one_instant_go_in_connection_id_order(schedule: str) -> None:
    """Equal end times and opening times: the connection id decides the order, not the port."""
    pool = PortPool(4)
    lc = Lifecycle(pool, Timers(time_wait=2.0), ["client"], [False])
    closed: list[int] = []
    lc.on_close(lambda conn, t, code: closed.append(conn[4]))
    for ident, slot in ((1, 3), (2, 1), (3, 0)):
        conn = (0, 0, slot, 0, ident, 0.0)
        pool.take(0, 0, slot, False, 0.0)
        if schedule == "open":
            lc.open(5.0, conn)
        else:
            lc.start(conn)
            lc.close_at(5.0, conn)
    lc.advance(5.0)
    assert closed == [1, 2, 3]


@pytest.mark.parametrize("fast", [True, False])
def test_a_close_goes_before_an_expiry_at_the_same_instant(fast: bool) -> None:
    """TIME_WAIT 1 s: the first closes at 0.5 (expires 1.5), the second closes at 1.5: both count at 1.5."""
    pool = PortPool(4)
    lc = Lifecycle(pool, Timers(time_wait=1.0), ["client"], [False], fast=fast)
    opened(lc, 0.5, (0, 0, 0, 0, 1, 0.0))
    opened(lc, 1.5, (0, 0, 1, 0, 2, 0.0))
    lc.advance(2.0)
    assert lc.levels.peak_time_wait == 2
    assert lc.levels.dest_peak_time_wait == [2]
    assert (lc.time_wait, pool.state(0, 0, 0), pool.state(0, 0, 1)) == (1, 0, TIME_WAIT)


def test_levels_start_at_zero_and_come_back_to_zero_per_destination() -> None:
    """One client, one server and one half close to destination 0; destination 1 never used. No window started."""
    pool = PortPool(8, n_destinations=2)
    lc = Lifecycle(pool, Timers(time_wait=2.0, fin_timeout=3.0), ["client", "server", "half"], [False] * 3)
    levels = lc.levels
    assert (levels.peak_established, levels.peak_time_wait, levels.peak_fin_wait2) == (0, 0, 0)
    for name in ("dest_held", "dest_time_wait", "dest_peak_held", "dest_peak_time_wait", "dest_overflow"):
        assert getattr(levels, name) == [0, 0], name
    for c in range(3):
        opened(lc, 1.0, (0, 0, c, c, c, 0.0))
    lc.advance(1.0)
    assert levels.dest_held == [2, 0]  # TIME_WAIT and FIN_WAIT2 keep their 4-tuples; the server close freed its own
    assert levels.dest_time_wait == [1, 0]
    assert (lc.established, lc.time_wait, lc.fin_wait2) == (0, 1, 1)
    lc.advance(10.0)  # TIME_WAIT ends at 3, FIN_WAIT2 at 4
    assert levels.dest_held == [0, 0]
    assert levels.dest_time_wait == [0, 0]
    assert (levels.peak_established, levels.peak_time_wait, levels.peak_fin_wait2) == (3, 1, 1)
    assert levels.dest_peak_held == [3, 0]
    assert levels.dest_peak_time_wait == [1, 0]
    assert (levels.dest_overflow, levels.dest_recycled) == ([0, 0], [0, 0])
    assert pool.ports_in_use == 0


@pytest.mark.parametrize("fast", [True, False])
def test_max_tw_buckets_counts_time_wait_and_fin_wait2_together(fast: bool) -> None:
    """Limit 2: a FIN_WAIT2 (t=1) and a TIME_WAIT (t=2) fill it; the closes at t=3 and t=4 free their 4-tuples."""
    pool = PortPool(8, n_destinations=2)
    timers = Timers(time_wait=10.0, fin_timeout=10.0, max_tw_buckets=2)
    lc = Lifecycle(pool, timers, ["client", "half"], [False, False], fast=fast)
    opened(lc, 1.0, (0, 0, 0, 1, 1, 0.0))
    opened(lc, 2.0, (0, 0, 1, 0, 2, 0.0))
    opened(lc, 3.0, (0, 1, 2, 0, 3, 0.0))
    opened(lc, 4.0, (0, 1, 3, 0, 4, 0.0))
    lc.advance(5.0)
    assert (lc.time_wait, lc.fin_wait2) == (1, 1)
    assert lc.levels.dest_overflow == [0, 2]
    assert lc.levels.dest_held == [2, 0]
    assert (pool.state(0, 1, 2), pool.state(0, 1, 3), pool.state(0, 0, 1)) == (0, 0, TIME_WAIT)
    lc.start_window(5.0)  # a new window counts overflows (and takeovers) from zero
    assert (lc.levels.dest_overflow, lc.levels.dest_recycled) == ([0, 0], [0, 0])


def test_a_zero_time_wait_frees_the_4_tuple_at_the_close() -> None:
    pool = PortPool(2)
    lc = Lifecycle(pool, Timers(time_wait=0.0), ["client"], [False])
    opened(lc, 1.0, (0, 0, 0, 0, 1, 0.0))
    lc.advance(1.0)
    assert (lc.levels.peak_time_wait, lc.levels.dest_peak_time_wait) == (0, [0])
    assert (pool.state(0, 0, 0), pool.ports_in_use, lc.levels.dest_held) == (0, 0, [0])


def test_without_reuse_eligibility_a_time_wait_is_never_taken_over() -> None:
    """No ``reusable`` given: tcp_tw_reuse applies to no destination, however old the TIME_WAIT."""
    pool = PortPool(1)
    lc = Lifecycle(pool, Timers(time_wait=60.0, reuse_delay=1.0), ["client"], [False])
    opened(lc, 1.0, (0, 0, 0, 0, 1, 0.0))
    lc.advance(30.0)
    assert pool.state(0, 0, 0) == TIME_WAIT
    with pytest.raises(ValueError, match="not free"):
        pool.take(0, 0, 0, False, 30.0)


def test_a_time_wait_promoted_only_while_it_lasts() -> None:
    """TIME_WAIT 0.5 s, reuse delay 1 s: the first TIME_WAIT expires before its promotion time; the next
    TIME_WAIT on the same 4-tuple must not inherit that promotion (it is too young to be taken over)."""
    pool = PortPool(1)
    lc = Lifecycle(pool, Timers(time_wait=0.5, reuse_delay=1.0), ["client"], [False], [[True]])
    opened(lc, 0.1, (0, 0, 0, 0, 1, 0.0))  # TIME_WAIT 0.1 to 0.6, would be takeable after 1.1
    lc.advance(0.7)
    opened(lc, 0.8, (0, 0, 0, 0, 2, 0.7))  # the same 4-tuple again: TIME_WAIT 0.8 to 1.3
    lc.advance(1.2)
    assert pool.state(0, 0, 0) == TIME_WAIT  # 0.4 s old: not takeable
    lc.advance(1.25)
    assert pool.state(0, 0, 0) == TIME_WAIT


def test_a_time_wait_taken_over_stops_counting_at_the_takeover() -> None:
    """TIME_WAIT from 1 to the takeover at 2.5: 1.5 s over [0, 10], though its expiry is still scheduled."""
    pool = PortPool(1)
    lc = Lifecycle(pool, Timers(time_wait=60.0, reuse_delay=1.0), ["client"], [False], [[True]])
    opened(lc, 1.0, (0, 0, 0, 0, 1, 0.0))
    lc.advance(2.5)
    _, recycled = pool.take(0, 0, 0, False, 2.5)
    assert recycled is not None
    lc.recycled(recycled, 2.5)
    lc.open(100.0, (0, 0, 0, 0, 2, 2.5))
    means = lc.time_means(10.0)
    assert means["time_wait"] == pytest.approx(0.15)
    assert means["established"] == pytest.approx((1.0 + 7.5) / 10)


def test_time_means_over_a_window_that_starts_late() -> None:
    """Window from 5: A (opened at 1) closes at 5.5 into a 2 s TIME_WAIT; B opens at 5.25 and stays."""
    pool = PortPool(4)
    lc = Lifecycle(pool, Timers(time_wait=2.0), ["client"], [False])
    opened(lc, 5.5, (0, 0, 0, 0, 1, 1.0))
    lc.advance(5.0)
    lc.start_window(5.0)
    pool.start_window(5.0)
    # an empty window: the levels at its start
    assert lc.time_means(5.0) == {"established": 1.0, "time_wait": 0.0, "fin_wait2": 0.0, "ports_in_use": 1.0}
    opened(lc, 100.0, (0, 0, 1, 0, 2, 5.25))
    lc.advance(5.5)
    # over [5, 5.5]: A ESTABLISHED 0.5 s, B 0.25 s; both ports held as long
    assert lc.time_means(5.5) == pytest.approx(
        {"established": 1.5, "time_wait": 0.0, "fin_wait2": 0.0, "ports_in_use": 1.5}
    )
    lc.advance(7.0)
    # over [5, 7]: ESTABLISHED 0.5 + 1.75 s, TIME_WAIT 1.5 s, ports 2 + 1.75 s
    assert lc.time_means(7.0) == pytest.approx(
        {"established": 1.125, "time_wait": 0.75, "fin_wait2": 0.0, "ports_in_use": 1.875}
    )


def test_intervals_still_open_count_from_the_window_start_or_their_own() -> None:
    """Window from 4: an ESTABLISHED since 1 and one since 4.5, a TIME_WAIT since 2 and one since 5, a FIN_WAIT2
    since 3 and one since 5.5 (client, client, half closes), all still open at 6."""
    pool = PortPool(8)
    lc = Lifecycle(pool, Timers(time_wait=60.0, fin_timeout=60.0), ["client", "half"], [False, False])
    opened(lc, 2.0, (0, 0, 0, 0, 1, 0.5))  # TIME_WAIT from 2
    opened(lc, 3.0, (0, 0, 1, 1, 2, 0.5))  # FIN_WAIT2 from 3
    opened(lc, 100.0, (0, 0, 2, 0, 3, 1.0))
    lc.advance(4.0)
    lc.start_window(4.0)
    assert lc.still_open(4.0) == (0.0, 0.0, 0.0)  # nothing measured yet
    assert lc.still_open(3.5) == (0.0, 0.0, 0.0)  # nor before the window
    opened(lc, 5.0, (0, 0, 3, 0, 4, 4.25))  # TIME_WAIT from 5
    opened(lc, 5.5, (0, 0, 4, 1, 5, 4.25))  # FIN_WAIT2 from 5.5
    opened(lc, 100.0, (0, 0, 5, 0, 6, 4.5))
    lc.advance(6.0)
    assert lc.still_open(6.0) == (2.0 + 1.5, 2.0 + 1.0, 2.0 + 0.5)


def test_measured_seconds_are_the_part_inside_the_window() -> None:
    levels = Accounting(1)
    levels.start_window(10.0)
    assert levels.measured(0.0, 5.0) == 0.0  # ended before the window
    assert levels.measured(0.0, 10.0) == 0.0
    assert levels.measured(5.0, 15.0) == 5.0
    assert levels.measured(12.0, 15.0) == 3.0


# --------------------------------------------------------------------------- timers


@pytest.mark.parametrize(
    ("jiffies", "bucket"),
    [(1, 1), (62, 1), (63, 8), (503, 8), (504, 64), (4031, 64), (4032, 512), (2_000_000_000, 8**8)],
)
def test_timer_wheel_levels_follow_the_kernels_level_starts(jiffies: int, bucket: int) -> None:
    """kernel/time/timer.c: a timer delta jiffies ahead goes to the first level n with delta < LVL_START(n + 1)
    = 63 << 3n, whose buckets are 8**n jiffies wide; at HZ 1000 there are 9 levels (LVL_DEPTH), 8 the last."""
    hz = 1000
    assert wheel_granularity((jiffies - 0.5) / hz, hz) == bucket / hz


def test_at_hz_100_the_wheel_has_one_level_fewer() -> None:
    """kernel/time/timer.c: LVL_DEPTH is 8 at HZ <= 100, so level 7 (buckets of 8**7 jiffies) is the last."""
    twenty_days = 20 * 86400.0  # beyond LVL_START(8) = 63 << 21 jiffies at HZ 100
    assert wheel_granularity(twenty_days, 100) == 8**7 / 100
    assert wheel_granularity(twenty_days, 250) == 8**8 / 250


def test_time_wait_expiries_round_up_to_the_timer_grid() -> None:
    assert Timers(time_wait=1.0, granularity=0.5).time_wait_end(0.2) == 1.5
    assert Timers(time_wait=60.0, granularity=4.0).time_wait_end(0.0) == 60.0  # on a grid point: stays
    assert Timers(time_wait=60.0, granularity=2.048).time_wait_end(1.44) == pytest.approx(61.44)  # 30 slots
    assert Timers(time_wait=60.0).time_wait_end(1.44) == 61.44  # no grid
