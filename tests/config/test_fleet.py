"""Fleets in scenario files: host groups naming their workloads, a translator, and their one-line errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sim.config.errors import ScenarioError
from sim.config.fleet import Group
from sim.config.scenario import Scenario, validate

Make = Callable[..., Scenario]


def test_without_hosts_a_scenario_is_one_group_of_one_host(make_scenario: Make) -> None:
    s = make_scenario()
    assert s.fleet == [Group("host", 0, 1, (0,), s.host.resolved, 0)]
    assert not s.mixed_hosts
    assert s.fleet_hosts == 1
    assert s.nat is None


def test_groups_number_their_hosts_one_after_the_other(make_scenario: Make) -> None:
    second = {
        "name": "v",
        "arrivals": {"kind": "poisson", "rate": 2.0},
        "duration": {"kind": "fixed", "value": 1.0},
        "destinations": [{"address": "10.0.0.2", "port": 80}],
    }
    s = make_scenario()
    raw = s.to_dict(resolved=False)
    raw["workloads"].append(second)
    raw["hosts"] = [{"name": "a", "count": 3, "workloads": ["w"]}, {"name": "b", "count": 2, "workloads": ["v"]}]
    s = Scenario.model_validate(raw)
    host = s.host.resolved
    assert s.fleet == [Group("a", 0, 3, (0,), host, 0), Group("b", 3, 2, (1,), host, 3)]
    assert not s.mixed_hosts
    assert s.fleet_hosts == 5
    assert s.expected_attempts == pytest.approx(5.0 * 20 * 3 + 2.0 * 20 * 2)  # rates are per host
    assert Scenario.model_validate(s.to_dict()) == s


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"hosts": [{"name": "a", "count": 2, "workloads": ["nope"]}]},
            'hosts[0].workloads[0]: no workload named "nope"',
        ),
        ({"hosts": [{"name": "a", "count": 0, "workloads": ["w"]}]}, "hosts[0].count"),
        ({"hosts": [{"name": "a", "count": 20_000, "workloads": ["w"]}]}, "hosts[0].count"),
        (
            {"hosts": [{"name": "a", "workloads": ["w"]}, {"name": "b", "workloads": ["w"]}]},
            "hosts[1].workloads[0]: workload 'w' already runs on host group 'a'",
        ),
        ({"nat": {"kind": "aws-nat-gateway", "addresses": 9}}, "nat.addresses"),
        ({"nat": {"kind": "azure-nat-gateway", "addresses": 17}}, "nat.addresses"),
        (
            {"nat": {"kind": "gcp-cloud-nat", "min_ports_per_host": 48}},
            "nat.min_ports_per_host: 48 is not a power of two",
        ),
        (
            {"nat": {"kind": "azure-lb-outbound", "ports_per_host": 100}},
            "nat.ports_per_host: 100 is not a multiple of 8",
        ),
        ({"nat": {"kind": "carrier-grade"}}, "nat.kind: unknown kind"),
        (
            {
                "nat": {"kind": "gcp-cloud-nat", "min_ports_per_host": 1024},
                "hosts": [{"name": "a", "count": 64, "workloads": ["w"]}],
            },
            "nat.min_ports_per_host: 64 hosts x 1024 ports is above the 1 address(es)' 64,512 ports (at most 63 hosts)",
        ),
        (
            {"nat": {"kind": "azure-lb-outbound"}, "hosts": [{"name": "a", "count": 1001, "workloads": ["w"]}]},
            "nat.ports_per_host: 1,001 hosts: the default table stops at 1,000",
        ),
    ],
)
def test_bad_fleets_get_one_line_naming_the_key(make_scenario: Make, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        make_scenario(**changes)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_workload_in_no_group_and_a_trace_on_many_hosts_are_refused(make_scenario: Make, tmp_path: Any) -> None:
    s = make_scenario()
    raw = s.to_dict(resolved=False)
    raw["workloads"].append({**raw["workloads"][0], "name": "v"})
    raw["hosts"] = [{"name": "a", "count": 2, "workloads": ["w"]}]
    with pytest.raises(ScenarioError, match="hosts: workload 'v' runs on no host group"):
        s.with_changes(hosts=raw["hosts"], workloads=raw["workloads"])
    trace = tmp_path / "t.csv"
    trace.write_text("start,duration,destination\n0.5,1,10.0.0.1:80\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="replays a trace: one host's record cannot run on 2 hosts"):
        make_scenario(
            workload={"arrivals": {"kind": "trace", "file": str(trace)}, "duration": None},
            hosts=[{"name": "a", "count": 2, "workloads": ["w"]}],
        )


def test_nat_keys_can_be_set_from_the_command_line(make_scenario: Make) -> None:
    s = make_scenario(nat={"kind": "azure-nat-gateway"})
    t = s.with_changes(["nat.addresses=4", "nat.cooldown_fin=30"])
    assert t.nat is not None
    assert t.nat.public_addresses == 4
    with pytest.raises(
        ScenarioError, match=r"nat.addresses=17: nat.addresses: Input should be less than or equal to 16"
    ):
        s.with_changes(["nat.addresses=17"])


def test_nat_keys_that_change_nothing_are_warned_about(make_scenario: Make) -> None:
    quiet = make_scenario(nat={"kind": "gcp-cloud-nat"}, duration=2000.0)
    assert not [n for n in quiet.warnings() if n.startswith("nat:")]
    loud = quiet.with_changes(["nat.max_ports_per_host=128"])
    assert "nat: max_ports_per_host changes nothing without dynamic: true (static ports per VM)" in loud.warnings()
    assert not [n for n in loud.with_changes(["nat.dynamic=true"]).warnings() if n.startswith("nat:")]


def test_a_short_window_is_warned_about_against_the_translators_hold(make_scenario: Make) -> None:
    s = make_scenario(duration=300.0, host={"preset": "linux", "time_wait": 1.0}, nat={"kind": "gcp-cloud-nat"})
    assert any("three TIME_WAIT cycles" in n for n in s.warnings())  # 1 s + 120 s after close, three times > 300 s
    assert not any("three TIME_WAIT cycles" in n for n in s.with_changes(["nat.time_wait=30"]).warnings())


def two_groups(make_scenario: Make, **changes: Any) -> Scenario:
    """Workloads w and v on groups a (3 hosts) and b (2 hosts); ``changes`` deep-merged as make_scenario does."""
    second = {**make_scenario().to_dict()["workloads"][0], "name": "v"}
    return make_scenario(
        workloads=[make_scenario().to_dict()["workloads"][0], second],
        **{"hosts": [{"name": "a", "count": 3, "workloads": ["w"]}, {"name": "b", "count": 2, "workloads": ["v"]}]},
        **changes,
    )


def with_group_host(s: Scenario, group: int, host: dict[str, Any]) -> Scenario:
    raw = s.to_dict(resolved=False)
    raw["hosts"][group]["host"] = host
    return validate(raw, source="<test>")


def test_a_group_host_changes_the_keys_it_names_of_the_scenarios_host(make_scenario: Make) -> None:
    s = with_group_host(two_groups(make_scenario), 1, {"preset": "windows", "source_addresses": 2})
    a, b = s.fleet
    assert s.mixed_hosts
    assert a.host == s.host.resolved
    # the scenario's host writes port_range and time_wait: group b keeps them under its own preset
    assert (b.host.preset, b.host.low, b.host.high, b.host.time_wait) == ("windows", 50000, 50015, 2.0)
    assert b.host.policy == "random_start"  # windows' own, not written by the scenario's host
    assert (a.sources, b.sources) == (range(0, 3), range(3, 7))  # 3 hosts x 1 address, then 2 hosts x 2
    assert s.host_of(s.workloads[1]) == b.host
    assert s.fleet_host == a.host
    assert [(g.name, g.host, g.count) for g in s.fleet] == [("a", a.host, 3), ("b", b.host, 2)]
    # written back as given, so changes to the scenario's host still reach the groups that do not pin the key
    assert s.to_dict(resolved=False)["hosts"][1]["host"] == {"preset": "windows", "source_addresses": 2}
    later = s.with_changes({"host.time_wait": 7.0})
    assert [g.host.time_wait for g in later.fleet] == [7.0, 7.0]
    pinned = s.with_changes({"hosts.b.host.time_wait": 9.0, "host.time_wait": 7.0})
    assert [g.host.time_wait for g in pinned.fleet] == [7.0, 9.0]
    # the resolved scenario (results' scenario.yaml) loads back equal, hosts and all
    again = Scenario.model_validate(s.to_dict())
    assert again == s
    assert [g.host for g in again.fleet] == [g.host for g in s.fleet]


def test_a_group_alone_keeps_its_hosts_host_and_workloads(make_scenario: Make) -> None:
    s = with_group_host(two_groups(make_scenario), 1, {"preset": "windows", "source_addresses": 2})
    s = s.with_changes({"nat": {"kind": "aws-nat-gateway"}})
    alone = s.group_scenario("b")
    assert [g.name for g in alone.fleet] == ["b"]
    assert [w.name for w in alone.workloads] == ["v"]
    assert alone.fleet_host == s.fleet[1].host
    assert alone.fleet[0].count == 2
    assert alone.nat is None
    assert s.group_scenario("a").fleet_host == s.host.resolved
    assert s.nat is not None  # the scenario itself unchanged
    assert [g.name for g in s.fleet] == ["a", "b"]


def test_a_group_host_equal_to_the_scenarios_is_not_a_mixed_fleet(make_scenario: Make) -> None:
    s = with_group_host(two_groups(make_scenario), 0, {"time_wait": 2.0})
    assert not s.mixed_hosts
    assert with_group_host(s, 0, {"time_wait": 3.0}).mixed_hosts


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ({"port_range": [60000, 50000]}, "hosts[1].host.port_range: low (60000) is greater than high (50000)"),
        ({"preset": "plan9"}, "hosts[1].host.preset: unknown preset"),
        ({"tw_reuse": 5}, "hosts[1].host.tw_reuse"),
        ({"tmie_wait": 5}, "hosts[1].host.tmie_wait"),
        ("windows", 'hosts[1].host: must be a mapping of keys, written {key: value, ...} (got "windows")'),
        (
            {"reserved_ports": "50000-50015"},
            "hosts[1].host: with the scenario's host: every port of port_range is reserved",
        ),
    ],
)
def test_a_bad_group_host_gets_one_line_naming_the_key(make_scenario: Make, host: Any, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        with_group_host(two_groups(make_scenario), 1, host)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_warnings_name_the_group_whose_host_they_are_about(make_scenario: Make) -> None:
    plain = make_scenario(host={"source_addresses": 2, "reserved_ports": [80]})
    assert any(n.startswith("host.source_addresses is 2 but no workload binds") for n in plain.warnings())
    assert any("reserved port(s) of host lie outside port_range 50000-50015" in n for n in plain.warnings())
    s = with_group_host(two_groups(make_scenario), 1, {"source_addresses": 2, "preset": "macos", "tw_reuse": 1})
    notes = s.warnings()
    assert any(n.startswith("hosts.b.host.source_addresses is 2 but no workload binds") for n in notes)
    assert "hosts.b.host.tw_reuse has no effect with sharing: none" in notes
    assert not any(n.startswith("hosts.a.host.") for n in notes)
