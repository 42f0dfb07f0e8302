"""The client layer in a run: pools turn requests into connections, retries add attempts.

Exact checks with fixed seeds and deterministic workloads; theory checks at tests/theory.LEVEL.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from sim.clients.recorder import CLIENT_SERIES
from sim.clients.retry import Backoff
from sim.clients.spec import RetrySpec
from sim.config.scenario import Scenario, validate
from sim.core.streams import component_rng
from sim.model.model import PortModel
from sim.model.records import RunRecords
from sim.report.records import ClientFigures, Summary
from sim.report.summary import summarize
from tests.conftest import assert_same_port_map
from tests.strategies import scenarios
from tests.theory import binomial_agrees, t_interval

DEST = [{"address": "10.0.0.5", "port": 443}]


def requests_scenario(
    pool: Any,
    rate: float = 100.0,
    latency: dict[str, Any] | None = None,
    arrivals: dict[str, Any] | None = None,
    **top: Any,
) -> Scenario:
    workload: dict[str, Any] = {
        "name": "api",
        "requests": {
            "arrivals": arrivals or {"kind": "poisson", "rate": rate},
            "latency": latency or {"kind": "exponential", "mean": 0.05},
        },
        "pool": pool,
        "destinations": DEST,
    }
    workload.update(top.pop("workload", {}))
    raw = {"name": "s", "duration": 30.0, "seed": 3, "host": {"preset": "linux"}, "workloads": [workload], **top}
    return validate(raw, source="<test>")


def run(scenario: Scenario, seed: int | None = None, **options: Any) -> tuple[RunRecords, Summary]:
    records = PortModel(scenario, seed, **options).run()
    return records, summarize(records)


def figures(summary: Summary, name: str = "api") -> ClientFigures:
    r = summary.workloads[name].requests
    assert r is not None
    return r


def same_port_records(a: RunRecords, b: RunRecords) -> None:
    """Every port figure equal (not the wall time, not the client layer's own figures)."""
    for field in a.__dataclass_fields__:
        if field in ("wall_time_s", "clients", "series", "scenario"):
            continue
        x, y = getattr(a, field), getattr(b, field)
        if field == "port_map":
            assert (x is None) == (y is None), field
            if x is not None:
                assert_same_port_map(x, y)
        elif isinstance(x, np.ndarray):
            assert np.array_equal(x, y), field
        elif hasattr(x, "counts"):
            assert np.array_equal(x.counts, y.counts), field
        elif isinstance(x, list) and x and hasattr(x[0], "counts"):
            assert all(np.array_equal(p.counts, q.counts) for p, q in zip(x, y, strict=True)), field
        elif isinstance(x, list) and any(isinstance(v, np.ndarray) for v in x):
            assert all((p is None and q is None) or np.array_equal(p, q) for p, q in zip(x, y, strict=True)), field
        else:
            assert x == y, field
    for column, values in a.series.items():
        assert np.array_equal(values, b.series[column]), column


# ----------------------------------------------------------------- equivalences


def test_pool_none_is_the_connection_workload_with_the_same_streams() -> None:
    scenario = requests_scenario(
        "none", rate=800.0, latency={"kind": "lognormal", "mean": 40.0, "sigma": 0.5}, duration=60.0
    )
    raw = scenario.to_dict()
    w = raw["workloads"][0]
    w["arrivals"], w["duration"] = w["requests"]["arrivals"], w["requests"]["latency"]
    del w["requests"], w["pool"]
    connections = validate(raw, source="<test>")
    a, _ = run(connections)
    b, summary = run(scenario)
    assert sum(a.failures) > 0  # the pool runs out, so the comparison covers failures too
    same_port_records(a, b)
    r = figures(summary)
    assert (r.requests, r.failures, r.new_connections) == (a.attempts[0], a.failures[0], a.established[0])
    assert r.failures_by_cause["connect"] == a.failures[0]
    assert r.reuse_ratio == 1.0
    assert r.closed["request"] == 0  # the lifecycle closes them at their drawn end, not the pool


def test_the_layered_path_gives_the_direct_path_results() -> None:
    """Every workload through the client layer (``layered=True``) against the inlined direct attempts."""
    raw: dict[str, Any] = {
        "name": "mixed",
        "duration": 40.0,
        "warmup": 5.0,
        "seed": 11,
        "host": {"preset": "linux", "port_range": [40000, 40999], "source_addresses": 2, "tw_reuse": 2},
        "workloads": [
            {
                "name": "a",
                "arrivals": {"kind": "poisson", "rate": 60.0},
                "duration": {"kind": "exponential", "mean": 2.0},
                "destinations": [{"address": "10.0.0.1", "port": 80}, {"address": "10.0.0.2", "port": 80}],
            },
            {
                "name": "b",
                "arrivals": {"kind": "onoff", "rate": 80.0, "mean_on": 3.0, "mean_off": 2.0},
                "duration": {"kind": "lognormal", "mean": 1.0, "sigma": 1.0},
                "bind": "no_port",
                "close": "server",
                "destinations": [{"address": "10.0.0.1", "port": 80}],
            },
            {
                "name": "c",
                "arrivals": {"kind": "poisson", "rate": 5.0},
                "duration": {"kind": "fixed", "value": 1.0},
                "bind": True,
                "destinations": [{"address": "127.0.0.1", "port": 8080}],
            },
        ],
    }
    scenario = validate(raw, source="<test>")
    direct, _ = run(scenario)
    layered, _ = run(scenario, layered=True)
    assert sum(direct.failures) > 0
    same_port_records(direct, layered)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_the_layered_path_gives_the_direct_path_results_on_random_scenarios(raw: dict[str, Any]) -> None:
    """Random scenarios (sources, bind modes, close sides, timer grids, tw_reuse, small ranges), every
    workload sent through the client layer's dispatch: the same port records as the inlined attempts."""
    scenario = validate(raw, source="<random>")
    direct, _ = run(scenario)
    layered, _ = run(scenario, layered=True)
    same_port_records(direct, layered)


# ----------------------------------------------------------------- against theory


def test_an_unlimited_pool_opens_exactly_as_many_connections_as_the_peak_concurrency() -> None:
    """M/G/inf: a pool that keeps every connection opens one only when all are busy, so it opens as many as
    the most requests ever in flight, computed here from the same random streams."""
    scenario = requests_scenario(
        {"max_idle_per_host": None}, rate=400.0, latency={"kind": "lognormal", "mean": 0.1, "sigma": 0.8}
    )
    records, summary = run(scenario)
    spec = scenario.workloads[0]
    arrivals = np.fromiter(spec.offered.times(component_rng(3, 0, "workload:api:arrivals"), 0.0, 30.0), float)
    latencies = spec.holding.stream(component_rng(3, 0, "workload:api:duration"))
    ends = arrivals + np.fromiter((next(latencies) for _ in arrivals), float, arrivals.size)
    times = np.concatenate([arrivals, ends])
    steps = np.concatenate([np.ones(arrivals.size), -np.ones(ends.size)])
    order = np.argsort(times, kind="stable")
    peak = int(np.cumsum(steps[order]).max())
    r = figures(summary)
    assert r.new_connections == peak == records.peak_established
    assert r.requests == arrivals.size
    assert r.failures == 0
    offered = 400.0 * 0.1
    assert peak > offered  # the peak of a Poisson(40) occupancy over 12,000 requests lies well above its mean
    assert r.idle_connections.peak <= peak


def test_pooled_connections_still_open_at_the_end_count_in_the_established_mean() -> None:
    """A pool that never closes its connections: every port in use is an ESTABLISHED connection, so the
    two time-weighted means agree (the open ones are measured up to the end, not left out)."""
    scenario = requests_scenario({"max_idle_per_host": None}, rate=400.0, warmup=5.0)
    records, summary = run(scenario)
    assert records.peak_time_wait == 0
    assert records.means["established"] > 30.0
    assert records.means["established"] == pytest.approx(records.means["ports_in_use"], rel=1e-9)
    assert summary.connections_established.mean == pytest.approx(records.means["established"], rel=1e-9)


def test_go_default_pool_opens_a_third_of_the_request_rate_and_fills_time_wait() -> None:
    """With k idle slots per host and many requests in flight, idle connections perform a symmetric walk
    on 0..k (returns and new requests both arrive as Poisson at the request rate, M/G/inf departures), so
    a request finds none idle with probability 1/(k+1): Go's k = 2 opens rate/3 connections per second,
    keeps 1 idle on average, and TIME_WAIT holds rate/3 x (60 s + half a timer slot)."""
    rate = 500.0
    scenario = requests_scenario(
        "go",
        rate=rate,
        latency={"kind": "lognormal", "mean": 0.2, "sigma": 0.8},
        duration=150.0,
        warmup=65.0,
        host={"preset": "linux", "port_range": [1024, 65535]},
    )
    new, idle, time_wait = [], [], []
    for seed in range(1, 7):
        _, summary = run(scenario, seed)
        r = figures(summary)
        assert r.failures == 0
        new.append(r.new_connections_per_s)
        idle.append(r.idle_connections.mean)
        time_wait.append(summary.time_wait.mean)
    expected = rate / 3
    low, high = t_interval(new)
    assert low <= expected <= high
    low, high = t_interval(idle)
    assert low <= 1.0 <= high
    host = scenario.host.resolved
    low, high = t_interval(time_wait)
    assert low <= expected * (host.time_wait + host.time_wait_granularity / 2) <= high


# ----------------------------------------------------------------- pool rules, deterministic


def every(seconds: float) -> dict[str, Any]:
    return {"kind": "constant", "interval": seconds}


def fixed(seconds: float) -> dict[str, Any]:
    return {"kind": "fixed", "value": seconds}


def test_idle_timeout_closes_from_the_client_into_time_wait() -> None:
    s = requests_scenario({"idle_timeout": 5.0}, arrivals=every(10.0), latency=fixed(1.0), duration=55.0)
    records, summary = run(s)
    r = figures(summary)
    # requests at 10, 20, ..., 50: each finds the last one's connection closed at +1 +5 s
    assert (r.requests, r.new_connections, r.reuse_ratio) == (5, 5, 1.0)
    assert r.closed["idle"] == 4  # the fifth is still idle at 55 s
    assert records.peak_time_wait == 4  # closed at 16, 26, 36 and 46 s, with 60 s of TIME_WAIT
    assert r.idle_connections.peak == 1
    assert r.idle_connections.mean == pytest.approx(4 * 5.0 / 55.0 + 4.0 / 55.0)


def test_a_server_idle_timeout_shorter_than_the_clients_leaves_no_time_wait_here() -> None:
    s = requests_scenario(
        {"idle_timeout": 5.0, "server_idle_timeout": 3.0}, arrivals=every(10.0), latency=fixed(1.0), duration=55.0
    )
    _, summary = run(s)
    r = figures(summary)
    assert r.closed["server_idle"] == 5
    assert r.closed["idle"] == 0
    assert summary.time_wait.peak == 0


def test_connections_are_reused_until_max_requests() -> None:
    s = requests_scenario({"max_requests": 3}, arrivals=every(1.0), latency=fixed(0.5), duration=10.5)
    records, summary = run(s)
    r = figures(summary)
    assert r.requests == 10
    assert r.new_connections == 4  # requests 1-3, 4-6, 7-9, 10
    assert r.closed["worn"] == 3
    assert records.peak_time_wait == 3
    assert r.reuse_ratio == pytest.approx(10 / 4)


def test_max_lifetime_retires_a_connection_when_it_comes_back() -> None:
    s = requests_scenario({"max_lifetime": 2.5}, arrivals=every(1.0), latency=fixed(0.5), duration=10.5)
    _, summary = run(s)
    r = figures(summary)
    # a connection opened at t returns at t+0.5, t+1.5, t+2.5 (retired: lived 2.5 s), so 3 requests each
    assert (r.new_connections, r.closed["worn"]) == (4, 3)


def test_a_full_pool_that_fails_refuses_requests() -> None:
    s = requests_scenario(
        {"max_per_host": 1, "when_full": "fail"}, arrivals=every(0.1), latency=fixed(0.25), duration=1.05
    )
    _, summary = run(s)
    r = figures(summary)
    # requests at 0.1, 0.2, ..., 1.0: one at a time, each holding 0.25 s: 0.1 runs, 0.2 and 0.3 refused, 0.4 runs...
    assert (r.requests, r.completed) == (10, 3)  # 1.0 is still in flight at the end
    assert r.failures == r.failures_by_cause["pool_full"] == 6
    assert r.new_connections == 1


def test_requests_wait_in_line_for_a_full_pool_and_time_out() -> None:
    wait = requests_scenario({"max_per_host": 1}, arrivals=every(0.1), latency=fixed(0.25), duration=1.05)
    _, summary = run(wait)
    r = figures(summary)
    assert r.failures == 0
    assert r.new_connections == 1
    assert (r.requests, r.waiting_at_end) == (10, 6)  # started at 0.1, 0.35, 0.6 and 0.85 s; the rest in line
    # served one at a time from 0.1 s, 0.25 s each: starts at 0.1, 0.35, 0.6, 0.85 s after waits of 0 to 0.45 s
    assert r.pool_wait_s.max == pytest.approx(0.45)
    assert r.pool_wait_s.mean == pytest.approx(0.225)
    assert r.pool_wait_s.p99 is not None
    assert 0.3 < r.pool_wait_s.p99 <= 0.45 * 1.03
    assert summary.time_wait.peak == 0
    timeout = requests_scenario(
        {"max_per_host": 1, "wait_timeout": 0.12}, arrivals=every(0.1), latency=fixed(0.25), duration=1.05
    )
    _, summary = run(timeout)
    r = figures(summary)
    assert r.failures_by_cause["pool_timeout"] > 0
    assert r.failures == r.failures_by_cause["pool_timeout"]
    assert r.pool_wait_s.max is not None
    assert r.pool_wait_s.max <= 0.12


def test_without_keep_alive_the_workloads_close_side_closes() -> None:
    server = requests_scenario(
        {"preset": "none"}, arrivals=every(1.0), latency=fixed(0.5), duration=10.5, workload={"close": "server"}
    )
    _, summary = run(server)
    assert summary.time_wait.peak == 0
    assert figures(summary).new_connections == 10


def test_surplus_connections_beyond_the_idle_cap_are_closed_by_the_client() -> None:
    s = requests_scenario({"max_idle_per_host": 1}, rate=20.0, latency={"kind": "exponential", "mean": 0.2})
    records, summary = run(s)
    r = figures(summary)
    assert r.closed["surplus"] > 0
    assert r.idle_connections.peak == 1
    assert records.peak_time_wait >= r.closed["surplus"] > 0


def test_a_workloads_idle_peak_is_the_peak_of_its_pools_sum() -> None:
    two = [{"address": "10.0.0.5", "port": 443}, {"address": "10.0.0.6", "port": 443}]
    s = requests_scenario(
        {"max_idle_per_host": None}, arrivals=every(0.1), latency=fixed(0.01), workload={"destinations": two}
    )
    _, summary = run(s)
    r = figures(summary)
    assert [d.idle_connections.peak for d in r.destinations.values()] == [1, 1]
    assert r.idle_connections.peak == 2
    assert r.idle_connections.mean == pytest.approx(sum(d.idle_connections.mean for d in r.destinations.values()))


def test_max_idle_total_caps_idle_connections_over_destinations() -> None:
    s = requests_scenario(
        {"max_idle_total": 1},
        arrivals=every(0.05),
        latency=fixed(0.01),
        duration=5.0,
        workload={"destinations": [{"address": "10.0.0.5", "port": 443}, {"address": "10.0.0.6", "port": 443}]},
    )
    _, summary = run(s)
    r = figures(summary)
    assert set(r.destinations) == {"10.0.0.5:443", "10.0.0.6:443"}
    assert r.closed["surplus"] > 0
    assert sum(d.requests for d in r.destinations.values()) == r.requests
    assert sum(d.new_connections for d in r.destinations.values()) == r.new_connections


def test_warm_up_is_left_out_of_the_request_figures() -> None:
    s = requests_scenario("go", arrivals=every(0.5), latency=fixed(0.1), duration=20.0, warmup=10.0)
    _, summary = run(s)
    r = figures(summary)
    assert r.requests == 20  # 10.5, 11, ..., 20 less the arrival at exactly 20 (the end)
    assert r.new_connections == 0  # the connection opened at 0.5 is reused throughout
    assert r.requests_per_s == pytest.approx(2.0)


def test_client_series_count_requests_and_retries_per_step() -> None:
    s = requests_scenario("go", rate=300.0, duration=10.0, workload={"retry": {"max": 2}})
    records, summary = run(s)
    for column in CLIENT_SERIES:
        assert column in records.series
        assert records.series[column].size == records.series["time_s"].size
    assert int(records.series["requests"].sum()) == figures(summary).requests


# ----------------------------------------------------------------- retries


def exhausted(retry: dict[str, Any] | None) -> Scenario:
    """300 connections per second of 1 s to 200 ports with 10 s TIME_WAIT: well over what the pool holds."""
    workload: dict[str, Any] = {
        "name": "api",
        "arrivals": {"kind": "poisson", "rate": 300.0},
        "duration": {"kind": "exponential", "mean": 1.0},
        "destinations": DEST,
    }
    if retry is not None:
        workload["retry"] = retry
    raw = {
        "name": "storm",
        "duration": 60.0,
        "seed": 2,
        "host": {"preset": "linux", "port_range": [50000, 50199], "time_wait": 10.0},
        "workloads": [workload],
    }
    return validate(raw, source="<test>")


def test_retries_are_counted_and_amplify_attempts() -> None:
    records, summary = run(exhausted({"max": 3, "backoff": "fixed", "base": 0.5}))
    r = figures(summary)
    assert int(records.series["requests_failed"].sum()) == r.failures > 0  # no warm-up: the series counts them all
    attempts = records.attempts[0]
    assert r.retries > 0
    assert attempts == r.requests + r.retries  # retries count when they are made
    assert r.amplification == pytest.approx(attempts / r.requests)
    assert r.failures == r.failures_by_cause["connect"]
    assert records.failures[0] >= r.retries + r.failures  # retried, failed for good, or its retry still due
    assert r.completed == records.established[0]


def test_zero_retries_take_the_direct_path() -> None:
    plain, _ = run(exhausted(None))
    zero, summary = run(exhausted({"max": 0}))
    same_port_records(plain, zero)
    assert summary.workloads["api"].requests is None


def test_a_retry_storm_keeps_the_pool_exhausted_longer() -> None:
    """The same load with retries without jitter fails in more seconds than without retries."""
    plain, _ = run(exhausted(None))
    storm, _ = run(exhausted({"max": 3, "backoff": "fixed", "base": 0.2}))
    failing = [int(np.count_nonzero(r.series["failures"])) for r in (plain, storm)]
    assert failing[1] > failing[0]
    assert sum(storm.attempts) > sum(plain.attempts)


def test_backoff_waits_and_jitter() -> None:
    rng = np.random.default_rng(1)
    spec = RetrySpec(max=5, base=0.1, cap=1.0, jitter="full")
    full = Backoff(spec, rng)
    waits = [full.wait(k) for k in (1, 2, 3, 4, 5) for _ in range(200)]
    assert all(0 <= w <= 1.0 for w in waits)
    assert max(waits[:200]) <= 0.1
    assert max(waits[800:]) > 0.5
    equal = Backoff(RetrySpec(base=0.4, cap=0.4, jitter="equal"), np.random.default_rng(1))
    assert all(0.2 <= equal.wait(1) <= 0.4 for _ in range(200))
    none = Backoff(RetrySpec(base=0.4, cap=0.4), np.random.default_rng(1))
    assert none.wait(1) == 0.4
    again = Backoff(spec, np.random.default_rng(1))
    assert [again.wait(k) for k in (1, 2, 3, 4, 5) for _ in range(200)] == waits


def test_request_figures_average_over_replications() -> None:
    from sim.experiments.runner import run as run_scenario

    s = requests_scenario("go", rate=200.0, duration=10.0, replications=3)
    result = run_scenario(s, workers=1)
    r = figures(result.summary)
    assert r.requests == pytest.approx(2000, rel=0.1)
    assert result.summary.ci95 is not None
    assert "requests" in result.summary.ci95["workloads"]["api"]
    assert math.isfinite(r.new_connections_per_s)


def test_a_pool_scenario_survives_a_round_trip_through_yaml() -> None:
    s = requests_scenario({"preset": "envoy", "max_per_host": 8}, workload={"retry": {"max": 1, "jitter": "full"}})
    assert Scenario.model_validate(copy.deepcopy(s.to_dict())) == s


AWS_IDLE_5 = {"kind": "aws-nat-gateway", "idle_timeout": 5.0}
"""A translator that drops a mapping after 5 s without traffic (AWS's 350 s, shortened)."""


def test_a_pooled_connection_idle_past_the_translators_timeout_meets_its_rst() -> None:
    # requests at 10, 20, ..., 50 s, 1 s each, on a pool that never closes idle connections: each connection sits
    # idle 9 s, its mapping dropped 5 s after its last request; the next request on it fails (reset) and the
    # connection closes at once (no TIME_WAIT); the one after finds the pool empty and opens a new one
    s = requests_scenario({}, arrivals=every(10.0), latency=fixed(1.0), duration=55.0, nat=AWS_IDLE_5)
    records, summary = run(s)
    r = figures(summary)
    assert (r.requests, r.completed, r.new_connections) == (5, 3, 3)
    assert r.failures == r.failures_by_cause["reset"] == 2
    failed = records.series["requests_failed"]
    assert records.series["time_s"][failed > 0].tolist() == [20.05, 40.05]  # the 0.05 s rows just after 20 and 40 s
    assert r.closed["nat_idle"] == 2
    assert records.peak_time_wait == 0
    assert summary.nat is not None
    assert summary.nat.idle_timeouts == 2  # at 16 and 36 s (the last connection's would come at 56 s)


@pytest.mark.parametrize(("interval", "latency", "requests"), [(3.0, 0.5, 20), (8.0, 4.0, 7)])
def test_requests_keep_a_pooled_connections_mapping_alive(interval: float, latency: float, requests: int) -> None:
    # a request every 3 s (or 8 s, of 4 s each: its response is traffic too) on one connection for a minute: never
    # 5 s without traffic, so the mapping stays
    s = requests_scenario({}, arrivals=every(interval), latency=fixed(latency), duration=61.0, nat=AWS_IDLE_5)
    _, summary = run(s)
    r = figures(summary)
    assert (r.requests, r.failures, r.new_connections) == (requests, 0, 1)
    assert summary.nat is not None
    assert summary.nat.idle_timeouts == 0


def test_a_retried_reset_opens_a_new_connection() -> None:
    s = requests_scenario(
        {},
        arrivals=every(10.0),
        latency=fixed(1.0),
        duration=55.0,
        nat=AWS_IDLE_5,
        workload={"retry": {"max": 1, "backoff": "fixed", "base": 0.5}},
    )
    _, summary = run(s)
    r = figures(summary)
    # 20 s: reset, retried at 20.5 s on a new connection; and so on for 30, 40 and 50 s
    assert (r.requests, r.failures, r.retries, r.new_connections, r.closed["nat_idle"]) == (5, 0, 4, 5, 4)


def test_resets_follow_the_idle_gaps_longer_than_the_translators_timeout() -> None:
    # Poisson requests at 1/s, 1 ms each, one connection: a request fails when the one before it succeeded (so its
    # connection sits in the pool) and the gap since it ended is at least the 1 s timeout, P = e^(-(1 + 0.001));
    # those gaps are independent, so failures among the requests that follow a success are binomial
    s = requests_scenario(
        {},
        arrivals={"kind": "poisson", "rate": 1.0},
        latency=fixed(0.001),
        duration=8000.0,
        sample_interval=100.0,
        nat={"kind": "aws-nat-gateway", "idle_timeout": 1.0},
    )
    _, summary = run(s)
    r = figures(summary)
    failed = int(r.failures_by_cause["reset"])
    after_success = int(r.requests) - 1 - failed  # the first request finds the pool empty (the last's fate aside)
    assert failed > 0
    assert binomial_agrees(failed, after_success, math.exp(-1.001))


def test_each_host_of_a_fleet_has_pools_of_its_own() -> None:
    # two hosts each send a request every second, at the same instants, on pools of one connection that refuse
    # more: were the pools shared, one of each pair would fail (pool_full)
    s = requests_scenario(
        {"max_per_host": 1, "when_full": "fail"},
        arrivals=every(1.0),
        latency=fixed(0.5),
        duration=10.5,
        hosts=[{"name": "a", "count": 2, "workloads": ["api"]}],
    )
    _, summary = run(s)
    r = figures(summary)
    assert (r.requests, r.failures, r.new_connections) == (20, 0, 2)
    assert r.idle_connections.peak == 2


def test_a_request_longer_than_the_translators_idle_timeout_meets_its_rst() -> None:
    # a long poll every 10 s that lasts 6 s: no traffic for 6 s after it starts, so its mapping goes at +5 s and the
    # response meets the RST; the next request opens a new connection, and fails alike
    s = requests_scenario({}, arrivals=every(10.0), latency=fixed(6.0), duration=57.0, nat=AWS_IDLE_5)
    _, summary = run(s)
    r = figures(summary)
    assert (r.requests, r.completed, r.failures_by_cause["reset"], r.new_connections) == (5, 0, 5, 5)
    assert r.closed["nat_idle"] == 5
