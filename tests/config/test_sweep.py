"""The sweep: section and --over: values, ranges, and one-line errors naming the key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sim.config.errors import ScenarioError
from sim.config.scenario import Scenario
from sim.config.sweep import Range, grid_size, parse_over


def test_linear_range_keeps_its_ends_and_spacing() -> None:
    values = Range.model_validate({"from": 100.0, "to": 600.0, "steps": 11}).values()
    assert values[0] == 100.0
    assert values[-1] == 600.0
    assert values[1] == pytest.approx(150.0)
    assert len(values) == 11


def test_integer_ends_give_integers() -> None:
    values = Range.model_validate({"from": 10, "to": 40, "steps": 4}).values()
    assert values == [10, 20, 30, 40]
    assert all(isinstance(v, int) for v in values)
    assert Range.model_validate({"from": 1, "to": 100, "steps": 3, "scale": "log"}).values() == [1, 10, 100]


def test_integer_ends_never_silently_give_fewer_points() -> None:
    with pytest.raises(ValueError, match=r"round to 4 distinct integers: use steps: 4, or write the ends as 1\.0"):
        Range.model_validate({"from": 1, "to": 4, "steps": 7})
    assert len(Range.model_validate({"from": 1.0, "to": 4.0, "steps": 7}).values()) == 7


def test_log_range_is_spaced_by_ratio() -> None:
    values = Range.model_validate({"from": 10.0, "to": 1000.0, "steps": 3, "scale": "log"}).values()
    assert values == pytest.approx([10.0, 100.0, 1000.0])


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"from": 1, "to": 1, "steps": 3}, "two different ends"),
        ({"from": 1, "to": 2, "steps": 1}, "greater than or equal to 2"),
        ({"from": 1, "to": 2, "steps": 10_001}, "less than or equal to 10000"),
        ({"from": 0, "to": 2, "steps": 3, "scale": "log"}, "above zero"),
        ({"from": "a", "to": 2, "steps": 3}, "must be a number"),
        ({"from": True, "to": 2, "steps": 3}, "must be a number"),
    ],
)
def test_bad_ranges_are_refused(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Range.model_validate(data)


def test_over_reads_lists_ranges_and_bracketed_values() -> None:
    assert parse_over("host.time_wait=30,60,120") == ("host.time_wait", [30, 60, 120])
    key, axis = parse_over("workloads.api.arrivals.rate=100:600:6")
    assert key == "workloads.api.arrivals.rate"
    assert isinstance(axis, Range)
    assert axis.values() == [100, 200, 300, 400, 500, 600]
    _, log_axis = parse_over("workloads.api.arrivals.rate=10:1000:3:log")
    assert isinstance(log_axis, Range)
    assert log_axis.scale == "log"
    assert parse_over("host.port_range=[1024, 65535],[32768, 60999]")[1] == [[1024, 65535], [32768, 60999]]
    assert parse_over("host.preset=linux,freebsd")[1] == ["linux", "freebsd"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("host.time_wait", "expected KEY="),
        ("host.time_wait=", "no values"),
        ("host.time_wait=1,,2", "empty value"),
        ("seed=1,2", "cannot be swept"),
        ("replications=1,2", "cannot be swept"),
        ("host..time_wait=1", "empty key"),
        ("host.time_wait=5:5:3", "two different ends"),
        ("host.time_wait=1:5:1", "greater than or equal to 2"),
    ],
)
def test_bad_over_is_one_line(text: str, problem: str) -> None:
    with pytest.raises(ScenarioError, match=problem) as caught:
        parse_over(text)
    assert "\n" not in str(caught.value)


def test_grid_size_is_the_product() -> None:
    axes = {"a": [1, 2, 3], "b": Range.model_validate({"from": 1.0, "to": 2.0, "steps": 4})}
    assert grid_size(axes) == 12


@pytest.mark.parametrize(
    ("sweep", "problem"),
    [
        ({"host.tme_wait": [30]}, r"sweep\.host\.tme_wait: the value 30: unknown key"),
        ({"host.time_wait": [30, -1]}, r"sweep\.host\.time_wait: the value -1"),
        ({"seed": [1, 2]}, "cannot be swept"),
        ({"host.time_wait": []}, "at least 1 item"),
        ({"host.time_wait": 5}, "valid list"),
        ({"a.b": [1], "c.d": [1], "e.f": [1], "g.h": [1]}, "at most 3"),
    ],
)
def test_bad_sweep_sections_name_the_key(
    make_scenario: Callable[..., Scenario], sweep: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ScenarioError, match=problem) as caught:
        make_scenario(sweep=sweep)
    assert "\n" not in str(caught.value)


def test_a_sweep_survives_the_resolved_yaml(make_scenario: Callable[..., Scenario]) -> None:
    from sim.config.scenario import validate
    from sim.config.yamlio import read_yaml

    scenario = make_scenario(sweep={"workloads.w.arrivals.rate": {"from": 1, "to": 5, "steps": 5}})
    again = validate(read_yaml(scenario.to_yaml()), "<again>")
    assert again == scenario
    assert "from: 1" in scenario.to_yaml()
