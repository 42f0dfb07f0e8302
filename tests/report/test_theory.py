"""Erlang B predictions for scenarios: which ports form a pool and when the formula applies."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sim.config.scenario import Scenario
from sim.report.theory import hold_time, predict
from sim.stats.erlang import erlang_b

TWO = [{"address": "10.0.0.1", "port": 80, "weight": 1}, {"address": "10.0.0.2", "port": 80, "weight": 3}]


def test_single_pool(make_scenario: Callable[..., Scenario]) -> None:
    p = predict(make_scenario())  # 16 ports, 5/s x (1 + 2) s
    assert (p.ports, p.pools, p.offered_load) == (16, 1, 15.0)
    assert p.blocking_probability == pytest.approx(erlang_b(16, 15.0))
    assert p.applicable


@pytest.mark.parametrize(("close", "hold"), [("client", 3.0), ("server", 1.0), ("reset", 1.0)])
def test_only_the_active_closer_holds_time_wait(
    close: str, hold: float, make_scenario: Callable[..., Scenario]
) -> None:
    assert hold_time(make_scenario(workload={"close": close}), 0) == hold


def test_shared_destinations_are_separate_pools(make_scenario: Callable[..., Scenario]) -> None:
    p = predict(make_scenario(workload={"destinations": TWO}))
    assert p.pools == 2
    assert p.per_destination["10.0.0.1:80"]["offered_load"] == pytest.approx(3.75)
    assert p.per_destination["10.0.0.2:80"]["offered_load"] == pytest.approx(11.25)
    expected = 0.25 * erlang_b(16, 3.75) + 0.75 * erlang_b(16, 11.25)
    assert p.blocking_probability == pytest.approx(expected)


@pytest.mark.parametrize("host", [{"sharing": "none"}, {}])
def test_unshared_or_bound_connections_form_one_pool(
    host: dict[str, str], make_scenario: Callable[..., Scenario]
) -> None:
    bind = not host
    p = predict(make_scenario(host=host, workload={"destinations": TWO, "bind": bind}))
    assert p.pools == 1
    assert p.blocking_probability == pytest.approx(erlang_b(16, 15.0))


def test_plain_connect_uses_the_first_source_address(make_scenario: Callable[..., Scenario]) -> None:
    p = predict(make_scenario(host={"source_addresses": 3}))
    assert p.pools == 1
    assert p.blocking_probability == pytest.approx(erlang_b(16, 15.0))


def test_load_splits_over_source_addresses(make_scenario: Callable[..., Scenario]) -> None:
    p = predict(make_scenario(host={"source_addresses": 3}, workload={"bind": "no_port"}))
    assert p.pools == 3
    assert p.blocking_probability == pytest.approx(erlang_b(16, 5.0))
    assert p.offered_load == pytest.approx(15.0)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"workload": {"arrivals": {"kind": "constant", "interval": 0.2}}}, "not all Poisson"),
        ({"workload": {"arrivals": {"kind": "onoff", "rate": 10, "mean_on": 1, "mean_off": 1}}}, "not all Poisson"),
        ({"workload": {"stop": 10.0}}, "not stationary"),
        ({"host": {"policy": "random_pick"}}, "random_pick"),
    ],
)
def test_assumptions_are_reported(
    changes: dict[str, object], reason: str, make_scenario: Callable[..., Scenario]
) -> None:
    p = predict(make_scenario(**changes))
    assert not p.applicable
    assert reason in p.note


def test_onoff_uses_its_mean_rate(make_scenario: Callable[..., Scenario]) -> None:
    p = predict(make_scenario(workload={"arrivals": {"kind": "onoff", "rate": 10, "mean_on": 1, "mean_off": 3}}))
    assert p.offered_load == pytest.approx(2.5 * 3.0)
