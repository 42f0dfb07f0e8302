"""``key.path=value`` overrides."""

from __future__ import annotations

import pytest

from sim.config.errors import ScenarioError
from sim.config.load import load_scenario
from sim.config.overrides import set_path
from tests.conftest import ROOT


def test_a_key_below_a_named_pool_overrides_that_preset() -> None:
    raw = {"workloads": [{"name": "api", "pool": "go"}]}
    assert set_path(raw, "workloads.api.pool.max_idle_per_host", 100) == ("workloads", 0, "pool", "max_idle_per_host")
    assert raw["workloads"][0]["pool"] == {"preset": "go", "max_idle_per_host": 100}


def test_set_on_a_shipped_scenarios_named_pool() -> None:
    path = ROOT / "scenarios" / "go-default-pool.yaml"
    base = load_scenario(path)
    changed = load_scenario(path, ["workloads.api.pool.max_idle_per_host=100"])
    assert base.workloads[0].pool.max_idle_per_host == 2
    assert changed.workloads[0].pool.max_idle_per_host == 100
    assert changed.workloads[0].pool.idle_timeout == base.workloads[0].pool.idle_timeout  # the rest stays Go's


def test_a_key_below_any_other_value_is_refused() -> None:
    with pytest.raises(
        ScenarioError, match=r"^--set host\.preset\.x=1: host\.preset is a value, not a mapping or list"
    ):
        set_path({"host": {"preset": "linux"}}, "host.preset.x", 1)


def test_a_name_with_dots_is_addressed_whole_and_the_longest_name_wins() -> None:
    raw = {"hosts": [{"name": "web", "count": 1}, {"name": "web.eu", "count": 2}, {"name": "web.eu.1", "count": 3}]}
    assert set_path(raw, "hosts.web.eu.count", 5) == ("hosts", 1, "count")
    assert set_path(raw, "hosts.web.eu.1.count", 6) == ("hosts", 2, "count")
    assert set_path(raw, "hosts.web.count", 4) == ("hosts", 0, "count")
    assert [h["count"] for h in raw["hosts"]] == [4, 5, 6]
