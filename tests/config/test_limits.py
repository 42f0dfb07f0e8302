"""What a scenario may ask of the machine: counts bounded by the schema, work and memory estimated up front."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sim.config.errors import ScenarioError
from sim.config.limits import CLI_HINTS, MAX_ATTEMPTS, MAX_MEMORY, PER_WAITING, Limits, attempts, check, memory
from sim.config.scenario import MAX_REPLICATIONS, MAX_VARIANTS, MAX_WORKLOADS, Scenario
from sim.config.workload import MAX_DESTINATIONS

DESTS = [{"address": f"10.{i // 250}.{i % 250}.1", "port": 80} for i in range(MAX_DESTINATIONS + 1)]


def test_counts_are_bounded(make_scenario: Callable[..., Scenario]) -> None:
    with pytest.raises(ScenarioError, match=r"destinations: List should have at most 1024 items"):
        make_scenario(workload={"destinations": DESTS})
    halves = [DESTS[: MAX_DESTINATIONS // 2 + 1], DESTS[MAX_DESTINATIONS // 2 + 1 :]]
    w = make_scenario().workloads[0].model_dump()
    split = [{**w, "name": f"w{i}", "destinations": d} for i, d in enumerate(halves)]
    with pytest.raises(ScenarioError, match=rf"more than {MAX_DESTINATIONS:,} distinct destinations"):
        make_scenario(workloads=split)
    with pytest.raises(ScenarioError, match=r"replications: Input should be less than or equal to 1000"):
        make_scenario(replications=MAX_REPLICATIONS + 1)
    with pytest.raises(ScenarioError, match=r"host\.source_addresses: Input should be less than or equal to 256"):
        make_scenario(host={"source_addresses": 257})
    with pytest.raises(ScenarioError, match=r"variants: List should have at most 64 items"):
        make_scenario(variants=[{"name": f"v{i}"} for i in range(MAX_VARIANTS + 1)])
    many = [{**w, "name": f"w{i}"} for i in range(MAX_WORKLOADS + 1)]
    with pytest.raises(ScenarioError, match=r"workloads: List should have at most 64 items"):
        make_scenario(workloads=many)


def test_attempts_are_estimated_from_the_mean_rates(make_scenario: Callable[..., Scenario]) -> None:
    s = make_scenario(duration=100.0, replications=3)  # 5/s
    assert attempts(s) == pytest.approx(1500.0)
    window = make_scenario(duration=100.0, workload={"start": 20.0, "stop": 70.0})
    assert attempts(window) == pytest.approx(250.0)
    onoff = make_scenario(
        duration=100.0, workload={"arrivals": {"kind": "onoff", "rate": 1e-6, "mean_on": 1e-6, "mean_off": 1.0}}
    )
    assert attempts(onoff) == pytest.approx(200.0, rel=1e-3)  # two period changes per second, no attempts


def test_memory_grows_with_sources_times_destinations(make_scenario: Callable[..., Scenario]) -> None:
    small = make_scenario()
    spread = make_scenario(
        host={"port_range": [32768, 60999], "source_addresses": 256},
        workload={"bind": "no_port", "destinations": DESTS[:100]},
    )
    assert memory(small) < 300 * (1 << 20)
    assert memory(spread) > 256 * 100 * 28232 * 9  # one byte and one float per port, address and destination


def test_requests_waiting_for_a_full_pool_count_in_the_memory_estimate(
    make_scenario: Callable[..., Scenario],
) -> None:
    def pooled(rate: float, **pool: object) -> Scenario:
        requests = {"arrivals": {"kind": "poisson", "rate": rate}, "latency": {"kind": "exponential", "mean": 0.1}}
        workload = {"name": "api", "requests": requests, "pool": pool, "destinations": DESTS[:1]}
        return make_scenario(duration=1000.0, workloads=[workload])

    light = pooled(5.0, max_per_host=2)  # 0.5 requests in flight for 2 connections: the line stays short
    unbounded = pooled(20_000.0, max_per_host=2)  # 2,000 in flight: every arrival may end up waiting
    timed = pooled(20_000.0, max_per_host=2, wait_timeout=1.0)
    refusing = pooled(20_000.0, max_per_host=2, when_full="fail")
    assert memory(light) == memory(pooled(5.0))
    assert memory(refusing) == memory(pooled(20_000.0))
    assert memory(unbounded) - memory(refusing) == pytest.approx(20_000.0 * 1000.0 * PER_WAITING)
    assert memory(timed) - memory(refusing) == pytest.approx(20_000.0 * 1.0 * PER_WAITING)
    with pytest.raises(ScenarioError, match="MiB of memory expected"):
        check({"u": unbounded}, Limits(), "u.yaml", CLI_HINTS)
    fleet = timed.with_changes(hosts=[{"name": "a", "count": 3, "workloads": ["api"]}])  # a pool on each host
    assert memory(fleet) - memory(refusing.with_changes(hosts=fleet.to_dict(resolved=False)["hosts"])) == (
        pytest.approx(3 * 20_000.0 * 1.0 * PER_WAITING)
    )


def test_jobs_above_the_limits_are_refused_in_one_line(make_scenario: Callable[..., Scenario]) -> None:
    big = make_scenario(duration=1e6, workload={"arrivals": {"kind": "poisson", "rate": 1e4}})
    with pytest.raises(ScenarioError) as info:
        check({"big": big}, Limits(), "big.yaml", CLI_HINTS)
    assert str(info.value) == (
        f"big.yaml: about 10,000,000,000 connection attempts expected, above the limit of {MAX_ATTEMPTS:,.0f} "
        "(--max-attempts; --force runs it anyway)"
    )
    wide = make_scenario(
        host={"port_range": [32768, 60999], "source_addresses": 256},
        workload={"bind": "no_port", "destinations": DESTS[:100]},
    )
    expected = r"^wide\.yaml: about [\d,]+ MiB of memory expected, above the limit of 1,024 MiB \(Limits\(memory"
    with pytest.raises(ScenarioError, match=expected):
        check({"wide": wide}, Limits(), "wide.yaml")
    assert check({"wide": wide}, Limits(force=True), "wide.yaml").memory > MAX_MEMORY
    assert check({"small": make_scenario()}, Limits(attempts=200), "s").attempts == pytest.approx(100.0)
    with pytest.raises(ScenarioError, match="above the limit of 50"):
        check({"small": make_scenario()}, Limits(attempts=50), "s")


def test_variants_add_up(make_scenario: Callable[..., Scenario]) -> None:
    s = make_scenario(duration=100.0)
    assert check({"a": s, "b": s}, Limits(), "s").attempts == pytest.approx(1000.0)


def test_a_fleet_costs_every_hosts_pool_and_attempts(make_scenario: Callable[..., Scenario]) -> None:
    one = make_scenario(host={"preset": "linux", "port_range": [32768, 60999]})
    fleet = one.with_changes(hosts=[{"name": "a", "count": 100, "workloads": ["w"]}])
    assert attempts(fleet) == pytest.approx(100 * attempts(one))
    per_host = 28_232 * 20  # the pool's bytes per port, at least
    assert memory(fleet) - memory(one) > 99 * per_host
    big = one.with_changes(hosts=[{"name": "a", "count": 10_000, "workloads": ["w"]}])
    with pytest.raises(ScenarioError, match="MiB of memory expected, above the limit"):
        check({"big": big}, Limits(attempts=1e12), "big.yaml")


def test_a_translators_mappings_and_dropped_syns_count(make_scenario: Callable[..., Scenario]) -> None:
    plain = make_scenario()
    behind = plain.with_changes(nat={"kind": "gcp-cloud-nat", "time_wait": 3600})
    assert memory(behind) - memory(plain) > 5.0 * 3600 * 2 * 200
