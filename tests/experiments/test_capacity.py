"""The capacity finder: against inverse Erlang B where it applies, and sound where it does not.

Statistical level: the capacity's 95% interval; the check against inverse Erlang B is the issue's
stated accuracy (within 2%), at fixed seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sim.config.errors import ScenarioError
from sim.config.scenario import Scenario, validate
from sim.experiments.capacity import find_capacity, scaled, slowest_cycle
from sim.stats.erlang import erlang_b_load


def _pool(ports: int, duration: float, rate: float) -> Scenario:
    """A pool of ``ports`` with Poisson arrivals and 1 s exponential holds, no TIME_WAIT: Erlang B's own model."""
    return validate(
        {
            "name": f"pool{ports}",
            "duration": duration,
            "warmup": duration / 10,
            "seed": 3,
            "host": {"preset": "iana", "port_range": [60000, 60000 + ports - 1], "policy": "random_start"},
            "workloads": [
                {
                    "name": "w",
                    "arrivals": {"kind": "poisson", "rate": rate},
                    "duration": {"kind": "exponential", "mean": 1.0},
                    "close": "server",
                    "destinations": [{"address": "10.0.0.1", "port": 80}],
                }
            ],
        },
        "<test>",
    )


@pytest.mark.slow
@pytest.mark.parametrize("target", [0.001, 0.01, 0.1])
@pytest.mark.parametrize(("ports", "duration"), [(100, 1500.0), (1000, 150.0)])
def test_the_capacity_is_inverse_erlang_b_within_two_percent(ports: int, duration: float, target: float) -> None:
    found = find_capacity(_pool(ports, duration, ports * 0.5), target, workers=1)
    exact = erlang_b_load(ports, target, 1e-9)  # connections/s, since each holds its port 1 s
    assert found.converged, found.note
    assert found.rate == pytest.approx(exact, rel=0.02)
    assert found.ci95 is not None
    assert found.ci95[0] <= found.rate <= found.ci95[1]
    assert found.ci95[1] / found.ci95[0] <= 1.02**2 * 1.0001
    assert found.erlang_b_rate == pytest.approx(exact, rel=1e-3)
    assert found.simulation_runs == sum(len(e.runs) for e in found.evaluations)


@pytest.mark.slow
def test_without_the_erlang_guess_the_search_doubles_and_still_finds_it() -> None:
    found = find_capacity(_pool(100, 1500.0, 20.0), 0.01, workers=1, from_erlang=False)
    assert found.converged, found.note
    assert found.rate == pytest.approx(erlang_b_load(100, 0.01, 1e-9), rel=0.02)
    rates = [e.rate for e in found.evaluations]
    assert 20.0 in rates
    assert 40.0 in rates
    assert 80.0 in rates


def test_scaling_multiplies_each_arrival_kind(make_scenario: Callable[..., Scenario]) -> None:
    base = make_scenario(
        workloads=[
            {**_w("p"), "arrivals": {"kind": "poisson", "rate": 4.0}},
            {**_w("c"), "arrivals": {"kind": "constant", "interval": 0.5}},
            {**_w("o"), "arrivals": {"kind": "onoff", "rate": 6.0, "mean_on": 1.0, "mean_off": 2.0}},
        ]
    )
    doubled = scaled(base, 2.0, [0, 1, 2])
    assert [w.arrivals.mean_rate for w in doubled.workloads] == pytest.approx([8.0, 4.0, 4.0])
    only_first = scaled(base, 3.0, [0])
    assert [w.arrivals.mean_rate for w in only_first.workloads] == pytest.approx([12.0, 2.0, 2.0])


def _w(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "duration": {"kind": "exponential", "mean": 1.0},
        "destinations": [{"address": "10.0.0.1", "port": 80}],
    }


def test_coupled_pools_get_a_simulated_capacity_where_erlang_b_says_nothing(
    make_scenario: Callable[..., Scenario],
) -> None:
    base = make_scenario(
        duration=200.0,
        warmup=20.0,
        host={"source_addresses": 2},
        workloads=[
            {**_w("plain"), "arrivals": {"kind": "poisson", "rate": 2.0}},
            {**_w("bound"), "bind": True, "arrivals": {"kind": "poisson", "rate": 2.0}},
        ],
    )
    found = find_capacity(base, 0.05, workers=1)
    assert found.erlang_b_rate is None
    assert "not applicable" in found.erlang_b_note
    assert found.rate is not None
    assert found.converged
    below = [e for e in found.evaluations if e.rate < found.rate * 0.9]
    above = [e for e in found.evaluations if e.rate > found.rate * 1.1]
    assert all(e.blocking_probability is not None and e.blocking_probability < 0.05 for e in below)
    assert all(e.blocking_probability is not None and e.blocking_probability > 0.05 for e in above)


def test_toward_one_destination(make_scenario: Callable[..., Scenario]) -> None:
    base = make_scenario(
        duration=200.0,
        warmup=20.0,
        workloads=[
            {
                **_w("w"),
                "arrivals": {"kind": "poisson", "rate": 4.0},
                "destinations": [{"address": "10.0.0.1", "port": 80}, {"address": "10.0.0.2", "port": 80, "weight": 3}],
            }
        ],
    )
    heavy = find_capacity(base, 0.05, destination="10.0.0.2:80", workers=1)
    light = find_capacity(base, 0.05, destination="10.0.0.1:80", workers=1)
    assert heavy.rate is not None
    assert light.rate is not None
    assert light.rate > 2 * heavy.rate  # the light destination gets a quarter of the connections


def test_the_same_seed_gives_the_same_answer_on_any_number_of_workers(make_scenario: Callable[..., Scenario]) -> None:
    base = make_scenario(duration=100.0, warmup=10.0)
    one = find_capacity(base, 0.05, workers=1)
    two = find_capacity(base, 0.05, workers=2)
    assert one.model_dump(exclude={"note"}) == two.model_dump(exclude={"note"})


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"target": 0.0}, "strictly between 0 and 1"),
        ({"target": 1.0}, "strictly between 0 and 1"),
        ({"workloads": ["nope"]}, "not in the scenario"),
        ({"workloads": []}, "no workload chosen"),
        ({"destination": "10.9.9.9:80"}, "not in the scenario"),
        ({"replications": 65}, "3 to 64 per load"),
        ({"replications": 2}, "3 to 64 per load"),
    ],
)
def test_bad_arguments(make_scenario: Callable[..., Scenario], kwargs: dict[str, Any], problem: str) -> None:
    with pytest.raises(ScenarioError, match=problem):
        find_capacity(make_scenario(), **kwargs)


def test_variants_must_be_chosen(make_scenario: Callable[..., Scenario]) -> None:
    with pytest.raises(ScenarioError, match="has variants"):
        find_capacity(make_scenario(variants=[{"name": "a", "set": {}}]))


def test_runs_above_the_scenarios_load_are_shorter_but_keep_their_cycles(
    make_scenario: Callable[..., Scenario],
) -> None:
    base = make_scenario(duration=400.0, warmup=100.0)  # 1 s connections, then 2 s TIME_WAIT: a 3 s cycle
    assert slowest_cycle(base) == pytest.approx(3.0)
    quicker = scaled(base, 4.0, [0], shorten=True)
    assert quicker.duration == pytest.approx(100.0 / 4 + 300.0 / 4)
    assert quicker.warmup == pytest.approx(25.0)
    floor = scaled(base, 100.0, [0], shorten=True)
    assert floor.warmup == pytest.approx(5 * 3.0)
    assert floor.duration - floor.warmup == pytest.approx(20 * 3.0)
    assert scaled(base, 0.5, [0], shorten=True).duration == 400.0  # never longer, never below scale 1
    windowed = make_scenario(duration=400.0, workload={"start": 10.0})
    assert scaled(windowed, 4.0, [0], shorten=True).duration == 400.0


def test_a_search_stops_at_its_ceiling_and_says_what_was_sustained(make_scenario: Callable[..., Scenario]) -> None:
    base = make_scenario(duration=100.0, warmup=10.0, workload={"close": "server"})  # 16 ports, 1 s holds
    found = find_capacity(base, 0.5, max_rate=8.0, workers=1)
    assert found.rate is None
    assert found.at_least == pytest.approx(8.0)
    assert "where the search stops" in found.note
    assert max(e.rate for e in found.evaluations) == pytest.approx(8.0)


def test_a_search_that_cannot_narrow_stops_at_its_run_budget(make_scenario: Callable[..., Scenario]) -> None:
    base = make_scenario(duration=60.0, warmup=10.0)
    found = find_capacity(base, 0.05, workers=1, max_runs=12)
    assert 12 <= found.simulation_runs < 12 + 64
    assert not found.converged
    assert f"stopped after {found.simulation_runs} simulation runs" in found.note


def _traced(tmp_path: Path, rows: int, ports: int = 16) -> Scenario:
    """A trace of ``rows`` connections, one every 0.1 s, each 1 s: about 10 x speed in flight."""
    path = tmp_path / "conns.csv"
    path.write_text("start,duration,destination\n" + "".join(f"{i / 10:g},1,10.0.0.1:80\n" for i in range(rows)))
    return validate(
        {
            "name": "traced",
            "duration": rows / 10 + 2.0,
            "seed": 3,
            "host": {"preset": "iana", "port_range": [60000, 60000 + ports - 1], "policy": "random_start"},
            "workloads": [
                {
                    "name": "w",
                    "arrivals": {"kind": "trace", "file": str(path)},
                    "close": "server",
                    "destinations": [{"address": "10.0.0.1", "port": 80}],
                }
            ],
        },
        "<test>",
    )


def test_a_trace_is_bisected_with_one_run_per_load(tmp_path: Path) -> None:
    """A trace replays the same connections in every replication: no interval from their spread, but the
    bracket between the fastest replay that met the target and the slowest that did not."""
    base = _traced(tmp_path, 400)
    found = find_capacity(base, 0.01, replications=5, workers=1)
    assert found.converged
    assert found.replications == 1
    assert (found.unit, found.interval) == ("conn/s", "bracket")
    assert found.rate is not None
    assert found.ci95 is not None
    low, high = found.ci95
    assert low == found.rate
    assert high / low - 1 <= 0.02
    assert all(len(e.runs) == 1 for e in found.evaluations)
    met = [e.rate for e in found.evaluations if e.blocking_probability is not None and e.blocking_probability <= 0.01]
    missed = [e.rate for e in found.evaluations if e.blocking_probability is not None and e.blocking_probability > 0.01]
    assert max(met) == low
    assert min(missed) == high
    # 16 ports and 1 s connections: at most 16 in flight, so the answer lies near 1.6 times the trace's pace
    assert 1.3 * base.workloads[0].offered.mean_rate < found.rate < 1.8 * base.workloads[0].offered.mean_rate


def test_a_trace_that_cannot_exhaust_the_pool_says_how_fast_it_was_replayed(tmp_path: Path) -> None:
    base = _traced(tmp_path, 10)
    found = find_capacity(base, 0.01, workers=1)
    assert found.rate is None
    assert found.at_least == pytest.approx(1e6 * base.workloads[0].offered.mean_rate)
    assert "the fastest it can go" in found.note
    capped = find_capacity(base, 0.01, workers=1, max_rate=50.0)  # as remedies caps its searches
    assert capped.at_least == pytest.approx(50.0)
    assert capped.note.endswith("where the search stops")


def test_request_workloads_are_searched_in_requests_per_second(make_scenario: Callable[..., Scenario]) -> None:
    w = {
        "name": "api",
        "requests": {"arrivals": {"kind": "poisson", "rate": 4.0}, "latency": {"kind": "exponential", "mean": 1.0}},
        "pool": "none",
        "close": "server",
        "destinations": [{"address": "10.0.0.1", "port": 80}],
    }
    found = find_capacity(make_scenario(duration=100.0, warmup=10.0, workloads=[w]), 0.05, workers=1, max_runs=40)
    assert (found.unit, found.interval) == ("req/s", "95% CI")
    assert found.erlang_b_rate is not None  # a connection per request: Erlang B gives the first guess


def test_an_answer_is_never_below_a_load_that_never_failed() -> None:
    """Go's pool on 1,000 ports with no warm-up: blocking starts only once TIME_WAIT has filled the range, so it
    jumps from none (in every replication) to tens of percent, where no smooth curve fits. The answer may not
    lie below a load none of whose runs failed, nor above one whose every run failed more than the target."""
    raw = {
        "name": "jump",
        "duration": 60,
        "warmup": 0,
        "seed": 7,
        "host": {"preset": "linux", "port_range": [40000, 40999]},
        "workloads": [
            {
                "name": "api",
                "requests": {
                    "arrivals": {"kind": "poisson", "rate": 55},
                    "latency": {"kind": "lognormal", "mean": 0.05, "sigma": 0.8},
                },
                "pool": "go",
                "retry": {"max": 1, "backoff": "fixed", "base": 0.2},
                "destinations": [{"address": "10.0.0.5", "port": 443}],
            }
        ],
    }
    found = find_capacity(validate(raw, "<test>"), 0.05, workers=1)
    assert found.rate is not None
    never = [e.rate for e in found.evaluations if all(r.failures == 0 for r in e.runs)]
    always = [e.rate for e in found.evaluations if all((r.blocking_probability or 0) > 0.05 for r in e.runs)]
    assert max(never) <= found.rate < min(always)


def test_a_fleet_behind_a_translator_is_sized_by_the_translators_pools() -> None:
    # Cloud NAT, 16 ports per VM held 1 s + 20 s: each VM sustains Erlang B's load for 1% over 21 s
    fleet = validate(
        {
            "name": "cloud-nat",
            "duration": 1500.0,
            "warmup": 150.0,
            "seed": 3,
            "host": {"preset": "linux", "port_range": [32768, 60999]},
            "hosts": [{"name": "vms", "count": 2, "workloads": ["w"]}],
            "nat": {"kind": "gcp-cloud-nat", "min_ports_per_host": 16, "time_wait": 20.0, "connect_timeout": 1.0},
            "workloads": [
                {
                    "name": "w",
                    "arrivals": {"kind": "poisson", "rate": 0.2},
                    "duration": {"kind": "exponential", "mean": 1.0},
                    "destinations": [{"address": "10.0.0.1", "port": 80}],
                }
            ],
        },
        "<test>",
    )
    found = find_capacity(fleet, 0.01, workers=1)
    exact = erlang_b_load(16, 0.01, 1e-9) / 21.0
    assert found.erlang_b_rate == pytest.approx(exact, rel=1e-3)  # the first guess is the translator's
    assert found.ci95 is not None
    assert found.ci95[0] <= exact * 1.03
    assert found.ci95[1] >= exact * 0.97
