"""Fleets behind a translator in the model: one pool per host, the translator's drops, and theory.

Statistical checks compare against Erlang B with a 95% confidence interval from batch means (20 batches of the
measured window's time series, Student t).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from sim.cli.text import comparison_text, summary_text
from sim.config.scenario import Scenario
from sim.core.fleet import FleetLifecycle
from sim.model import compiled
from sim.model.model import PortModel
from sim.report.comparison import compare
from sim.report.summary import report
from sim.stats.erlang import erlang_b

Make = Callable[..., Scenario]
WIDE = {"preset": "linux", "port_range": [32768, 60999], "time_wait": 2.0}
"""A host whose own pool never fills in these tests."""


def summary_without(scenario: Scenario, *drop: str) -> dict[str, Any]:
    data = report(PortModel(scenario).run()).summary.to_json()
    for key in ("wall_time_s", *drop):
        data.pop(key, None)
    return data


def test_one_group_of_one_host_is_the_scenario_without_hosts(make_scenario: Make) -> None:
    plain = make_scenario(duration=60.0)
    grouped = plain.with_changes(hosts=[{"name": "solo", "workloads": ["w"]}])
    alone, solo = summary_without(plain), summary_without(grouped)
    group = solo["pool"].pop("groups")["solo"]
    assert (group["hosts"], group["total_ports"], group["port_range"]) == (1, 16, alone["pool"]["port_range"])
    assert alone["pool"].pop("groups") is None
    assert alone == solo


def test_a_translator_with_room_to_spare_changes_nothing_on_the_hosts(make_scenario: Make) -> None:
    plain = make_scenario(duration=60.0)
    behind = plain.with_changes(nat={"kind": "aws-nat-gateway"})
    without_nat = summary_without(behind, "nat")
    without_nat["errors"].pop("ErrorPortAllocation")
    for w in without_nat["workloads"].values():
        assert w["translator_failures"] == 0
    assert without_nat == summary_without(plain)


def test_each_host_has_a_pool_of_its_own_and_rates_are_per_host(make_scenario: Make) -> None:
    one = report(PortModel(make_scenario(duration=200.0)).run()).summary
    four = report(
        PortModel(make_scenario(duration=200.0, hosts=[{"name": "a", "count": 4, "workloads": ["w"]}])).run()
    ).summary
    assert four.attempts == pytest.approx(4 * one.attempts, rel=0.1)
    assert four.ports_in_use.peak > 16  # more than one host's 16 ports
    assert four.pool.total_ports == 4 * 16
    assert four.pool.hosts == 4
    # four independent hosts block like one: each pool sees its own host's load
    assert four.blocking_probability == pytest.approx(one.blocking_probability, abs=0.03)


def test_a_dropped_syn_fails_the_attempt_and_holds_the_host_port(make_scenario: Make) -> None:
    s = make_scenario(
        duration=30.0,
        host=WIDE,
        nat={"kind": "azure-lb-outbound", "ports_per_host": 8, "connect_timeout": 20.0},
        workload={"duration": {"kind": "fixed", "value": 100.0}},
    )
    model = PortModel(s)
    r = model.run()
    summary = report(r).summary
    assert summary.established == 8
    assert summary.errors["SNAT port exhaustion"] == summary.failures == summary.attempts - 8
    assert summary.workloads["w"].translator_failures == summary.failures
    # ports of drops younger than 20 s are still held on the host, older ones were released
    t, attempts = r.series["time_s"], r.series["attempts"]
    assert summary.errors["EADDRNOTAVAIL"] == 0
    assert 8 < model.pool.ports_in_use < 8 + attempts[t > 9.0].sum() + 1


def batch_interval(
    series: dict[str, np.ndarray], since: float, value: Callable[[np.ndarray, np.ndarray], float]
) -> tuple[float, float]:
    """95% Student-t interval of ``value(attempts, failures)`` over 20 batches of the rows after ``since``."""
    keep = series["time_s"] > since
    attempts, failures = series["attempts"][keep], series["failures"][keep]
    batches = [value(a, f) for a, f in zip(np.array_split(attempts, 20), np.array_split(failures, 20), strict=True)]
    mean, sem = float(np.mean(batches)), float(stats.sem(batches))
    half = sem * float(stats.t.ppf(0.975, len(batches) - 1))
    return mean - half, mean + half


def test_host_scoped_pools_block_as_erlang_b_per_host(make_scenario: Make) -> None:
    # Cloud NAT, 8 ports per VM, TIME_WAIT 10 s, 1 s connections at 5/s per VM: 55 erlangs on 8 ports per VM
    s = make_scenario(
        duration=4200.0,
        warmup=200.0,
        host=WIDE,
        hosts=[{"name": "vms", "count": 3, "workloads": ["w"]}],
        nat={"kind": "gcp-cloud-nat", "min_ports_per_host": 8, "time_wait": 10.0, "connect_timeout": 1.0},
    )
    r = PortModel(s).run()
    summary = report(r).summary
    assert summary.nat is not None
    theory = erlang_b(8, 5.0 * 11.0)
    assert summary.nat.erlang_b[0].blocking_probability == pytest.approx(theory)
    low, high = batch_interval(r.series, 200.0, lambda a, f: float(f.sum() / a.sum()))
    assert low <= theory <= high


def test_endpoint_independent_mapping_gives_each_host_one_pool_for_every_destination(make_scenario: Make) -> None:
    # The same VMs and load as above, spread over two destinations: with endpoint-independent mapping a VM's 8
    # ports serve both at once (55 erlangs on 8 ports), not 27.5 erlangs on 8 ports toward each
    two = [{"address": "10.0.0.1", "port": 80}, {"address": "10.0.0.2", "port": 80}]
    s = make_scenario(
        duration=4200.0,
        warmup=200.0,
        host=WIDE,
        hosts=[{"name": "vms", "count": 3, "workloads": ["w"]}],
        nat={
            "kind": "gcp-cloud-nat",
            "min_ports_per_host": 8,
            "time_wait": 10.0,
            "connect_timeout": 1.0,
            "endpoint_independent": True,
        },
        workload={"destinations": two},
    )
    r = PortModel(s).run()
    nat = report(r).summary.nat
    assert nat is not None
    assert [(row.pool, row.servers, row.offered_load) for row in nat.erlang_b] == [
        ("vms (each host) -> every destination", 8, pytest.approx(5.0 * 11.0))
    ]
    assert nat.sustainable_rate == pytest.approx(8 / 11.0)
    assert nat.sustainable_rate_per == "per host to every destination together"
    low, high = batch_interval(r.series, 200.0, lambda a, f: float(f.sum() / a.sum()))
    assert low <= erlang_b(8, 55.0) <= high
    assert not low <= erlang_b(8, 27.5) <= high
    apart_nat = {**s.to_dict(resolved=False)["nat"], "endpoint_independent": False}
    apart = report(PortModel(s.with_changes(nat=apart_nat, duration=5.0, warmup=0.0)).run())
    assert apart.summary.nat is not None
    assert [row.offered_load for row in apart.summary.nat.erlang_b] == [pytest.approx(27.5)] * 2
    assert apart.summary.nat.sustainable_rate_per == "per host per destination"


def test_an_idle_timeout_shorter_than_the_connections_shortens_the_hold_erlang_b_uses(make_scenario: Make) -> None:
    # AWS, 12 mappings toward one destination, idle timeout 4 s, hold after close 2 s, Exp(5 s) connections at 3/s:
    # a mapping is held E[min(D, 4)] + 2 P(D <= 4) = 7 (1 - e^-0.8) = 3.86 s, not 5 + 2 = 7 s (21 erlangs)
    s = make_scenario(
        duration=4200.0,
        warmup=200.0,
        host=WIDE,
        nat={
            "kind": "aws-nat-gateway",
            "per_destination": 12,
            "idle_timeout": 4.0,
            "hold_after_close": 2.0,
            "connect_timeout": 1.0,
        },
        workload={"arrivals": {"kind": "poisson", "rate": 3.0}, "duration": {"kind": "exponential", "mean": 5.0}},
    )
    r = PortModel(s).run()
    nat = report(r).summary.nat
    assert nat is not None
    hold = 7.0 * -np.expm1(-0.8)
    theory = erlang_b(12, 3.0 * hold)
    assert nat.erlang_b[0].blocking_probability == pytest.approx(theory)
    assert nat.sustainable_rate == pytest.approx(12 / hold)
    low, high = batch_interval(r.series, 200.0, lambda a, f: float(f.sum() / a.sum()))
    assert low <= theory <= high
    assert not low <= erlang_b(12, 3.0 * 7.0) <= high  # the hold without the idle timeout is far off


def test_each_groups_pools_on_the_translator_get_its_own_workloads_hold(make_scenario: Make) -> None:
    # Cloud NAT, TIME_WAIT 10 s: group a's 1 s connections at 5/s hold 11 s each (55 erlangs per VM); group b's 4 s
    # connections at 1/s toward another destination hold 14 s (14 erlangs), and the AWS gateway sums both groups'
    s = groups(make_scenario, b_host={}, nat={"kind": "gcp-cloud-nat", "min_ports_per_host": 8, "time_wait": 10.0})
    raw = s.to_dict(resolved=False)
    raw["workloads"][0]["duration"] = {"kind": "fixed", "value": 1.0}
    raw["workloads"][1]["duration"] = {"kind": "fixed", "value": 4.0}
    raw["workloads"][1]["arrivals"]["rate"] = 1.0
    s = Scenario.model_validate(raw)
    rows = report(PortModel(s.with_changes(duration=5.0)).run()).summary.nat
    assert rows is not None
    loads = {r.pool: r.offered_load for r in rows.erlang_b}
    assert loads == {"a (each host) -> 10.0.0.1:80": 5.0 * 11.0, "b (each host) -> 10.0.0.2:443": 1.0 * 14.0}
    raw["nat"] = {"kind": "aws-nat-gateway", "hold_after_close": 10.0}
    raw["workloads"][1]["destinations"] = raw["workloads"][0]["destinations"]
    aws = report(PortModel(Scenario.model_validate(raw).with_changes(duration=5.0)).run()).summary.nat
    assert aws is not None
    assert [r.offered_load for r in aws.erlang_b] == [pytest.approx(3 * 5.0 * 11.0 + 2 * 1.0 * 14.0)]


def test_azure_nat_gateway_sustains_its_pool_over_hold_plus_cooldown(make_scenario: Make) -> None:
    # 50 ports toward one destination, FIN cooldown 65 s, 0.5 s connections: 50 / 65.5 = 0.763 new connections/s
    s = make_scenario(
        duration=6600.0,
        warmup=600.0,
        host=WIDE,
        nat={"kind": "azure-nat-gateway", "per_destination": 50, "connect_timeout": 1.0},
        workload={"arrivals": {"kind": "poisson", "rate": 2.0}, "duration": {"kind": "fixed", "value": 0.5}},
    )
    r = PortModel(s).run()
    nat = report(r).summary.nat
    assert nat is not None
    assert nat.sustainable_rate == pytest.approx(50 / 65.5)
    step = s.step
    low, high = batch_interval(r.series, 600.0, lambda a, f: float((a.sum() - f.sum()) / (a.size * step)))
    accepted = 2.0 * (1 - erlang_b(50, 2.0 * 65.5))  # Erlang B's carried load, just under 50 / 65.5
    assert low <= accepted <= high
    assert accepted == pytest.approx(50 / 65.5, rel=0.03)


def test_same_seed_same_fleet(make_scenario: Make) -> None:
    s = make_scenario(
        duration=100.0,
        hosts=[{"name": "a", "count": 5, "workloads": ["w"]}],
        nat={"kind": "linux-snat", "ports": [1024, 1100], "addresses": 2},
    )
    first, second = PortModel(s).run(), PortModel(s).run()
    assert first.nat is not None
    assert second.nat is not None
    assert first.nat.unit_failures == second.nat.unit_failures
    assert np.array_equal(first.nat.host_series, second.nat.host_series)
    assert first.failures == second.failures


def test_max_tw_buckets_holds_per_host_not_for_the_fleet(make_scenario: Make) -> None:
    # each host keeps about 5/s x 2 s = 10 TIME_WAITs under its limit of 20; the fleet holds about 400 in all
    s = make_scenario(
        duration=60.0,
        host={**WIDE, "max_tw_buckets": 20},
        hosts=[{"name": "a", "count": 40, "workloads": ["w"]}],
    )
    summary = report(PortModel(s).run()).summary
    assert summary.time_wait.peak > 200
    assert summary.time_wait.overflow == 0
    crowded = report(PortModel(s.with_changes(["host.max_tw_buckets=5"])).run()).summary
    assert crowded.time_wait.overflow > 0


def test_each_group_keeps_its_own_max_tw_buckets_when_the_groups_settings_are_equal(make_scenario: Make) -> None:
    # 2 busy hosts (about 5/s x 2 s = 10 TIME_WAITs each, above their limit of 4) beside 20 that close by the server:
    # the busy group's 8 hold, not the fleet's 88
    idle = {**make_scenario().to_dict()["workloads"][0], "name": "quiet", "close": "server"}
    s = make_scenario(
        duration=60.0,
        host={**WIDE, "max_tw_buckets": 4},
        workloads=[make_scenario().to_dict()["workloads"][0], idle],
        hosts=[{"name": "busy", "count": 2, "workloads": ["w"]}, {"name": "calm", "count": 20, "workloads": ["quiet"]}],
    )
    assert s.parts_per_group
    assert not s.mixed_hosts
    model = PortModel(s)
    assert isinstance(model.lifecycle, FleetLifecycle)
    summary = report(model.run()).summary
    assert summary.time_wait.peak == 8
    assert summary.time_wait.overflow > 0
    alone = make_scenario(
        duration=60.0, host={**WIDE, "max_tw_buckets": 4}, hosts=[{"name": "busy", "count": 2, "workloads": ["w"]}]
    )
    assert report(PortModel(alone).run()).summary.time_wait.overflow == summary.time_wait.overflow
    # a limit no host can reach (above its 4-tuples) leaves the fleet on one pool
    assert not s.with_changes(["host.max_tw_buckets=100000"]).parts_per_group


# ----------------------------------------------------------------- host groups with hosts of their own

V = {
    "name": "v",
    "arrivals": {"kind": "poisson", "rate": 4.0},
    "duration": {"kind": "exponential", "mean": 2.0},
    "close": "client",
    "destinations": [{"address": "10.0.0.2", "port": 443}],
}
WINDOWS = {"preset": "windows", "port_range": [49152, 49171], "time_wait": 5.0}


def groups(make_scenario: Make, order: str = "ab", b_host: dict[str, Any] | None = None, **changes: Any) -> Scenario:
    """Group a (3 hosts) runs w on the scenario's host, group b (2 hosts) runs v on ``b_host``; ``order`` lists them."""
    w = make_scenario().to_dict()["workloads"][0]
    spec = {
        "a": {"name": "a", "count": 3, "workloads": ["w"]},
        "b": {"name": "b", "count": 2, "host": WINDOWS if b_host is None else b_host, "workloads": ["v"]},
    }
    workloads = {"a": w, "b": V}
    return make_scenario(
        duration=120.0,
        workloads=[workloads[k] for k in order],
        hosts=[spec[k] for k in order],
        **changes,
    )


@pytest.mark.parametrize("nat", [None, {"kind": "aws-nat-gateway", "per_destination": 12}, {"kind": "linux-snat"}])
def test_one_group_with_a_host_of_its_own_runs_as_the_scenario_with_that_host(
    make_scenario: Make, nat: dict[str, Any] | None
) -> None:
    extra = {} if nat is None else {"nat": nat}
    uniform = make_scenario(
        duration=120.0, host={"time_wait": 3.0}, hosts=[{"name": "g", "count": 3, "workloads": ["w"]}], **extra
    )
    mixed = make_scenario(
        duration=120.0, hosts=[{"name": "g", "count": 3, "host": {"time_wait": 3.0}, "workloads": ["w"]}], **extra
    )
    assert mixed.mixed_hosts
    assert not uniform.mixed_hosts
    model = PortModel(mixed)
    assert isinstance(model.lifecycle, FleetLifecycle)
    assert model.batch is None
    assert compiled.uncovered(model) == "host groups with hosts (or max_tw_buckets) of their own"
    a, b = summary_without(uniform), summary_without(mixed)
    group = b["pool"].pop("groups")["g"]
    assert (group["hosts"], group["time_wait_s"], group["total_ports"]) == (3, 3.0, b["pool"]["total_ports"])
    assert a["pool"].pop("groups") == {"g": group}
    assert a["failures"] > 0
    assert a == b


def test_groups_with_hosts_of_their_own_keep_to_their_own_ports(make_scenario: Make) -> None:
    both, alone_a = (
        groups(make_scenario),
        make_scenario(duration=120.0, hosts=[groups(make_scenario).to_dict()["hosts"][0]]),
    )
    swapped = groups(make_scenario, "ba")
    alone_b = groups(make_scenario, "b")
    run = {name: PortModel(s).run() for name, s in [("ab", both), ("a", alone_a), ("ba", swapped), ("b", alone_b)]}
    # a group's ports, drawn with the stream a first group draws, do not depend on the other group's
    assert (run["ab"].attempts[0], run["ab"].failures[0]) == (run["a"].attempts[0], run["a"].failures[0])
    assert (run["ba"].attempts[0], run["ba"].failures[0]) == (run["b"].attempts[0], run["b"].failures[0])
    assert run["ab"].failures[0] > 0
    assert run["ba"].failures[0] > 0
    # the fleet's levels are the groups' added up
    for level in ("established", "time_wait", "ports_in_use"):
        assert run["ab"].means[level] == pytest.approx(run["a"].means[level] + run["b"].means[level])
    assert max(run["a"].peak_time_wait, run["b"].peak_time_wait) <= run["ab"].peak_time_wait
    assert run["ab"].peak_time_wait <= run["a"].peak_time_wait + run["b"].peak_time_wait
    # each group's ports in use, sampled: as the group alone has them, and adding up to the fleet's
    np.testing.assert_array_equal(run["ab"].series["ports_in_use.a"], run["a"].series["ports_in_use"])
    np.testing.assert_array_equal(run["ba"].series["ports_in_use.b"], run["b"].series["ports_in_use"])
    both_groups = run["ab"].series["ports_in_use.a"] + run["ab"].series["ports_in_use.b"]
    np.testing.assert_array_equal(both_groups, run["ab"].series["ports_in_use"])
    assert "ports_in_use.a" not in run["a"].series
    # and their TIME_WAITs alike
    np.testing.assert_array_equal(run["ab"].series["time_wait.a"], run["a"].series["time_wait"])
    np.testing.assert_array_equal(run["ba"].series["time_wait.b"], run["b"].series["time_wait"])
    both_waiting = run["ab"].series["time_wait.a"] + run["ab"].series["time_wait.b"]
    np.testing.assert_array_equal(both_waiting, run["ab"].series["time_wait"])
    result = report(run["ab"])
    summary = result.summary
    assert summary.groups is not None
    assert summary.groups["b"].ports_in_use.peak == run["ab"].series["ports_in_use.b"].max()
    assert summary.groups["b"].ports_in_use.mean == pytest.approx(run["ab"].series["ports_in_use.b"].mean())
    assert summary.groups["b"].time_wait.peak == run["ab"].series["time_wait.b"].max()
    assert summary.groups["b"].time_wait.mean == pytest.approx(run["ab"].series["time_wait.b"].mean())
    assert summary.groups["b"].erlang_b.ports == 20
    assert summary.pool.groups is not None
    assert summary.pool.groups["b"].port_range == (49152, 49171)
    assert summary.pool.total_ports == 3 * 16 + 2 * 20
    printed = summary_text(result, Path("out"))
    assert "    group a              3 hosts: iana, ports 50000-50015 (48 in all), TIME_WAIT 2 s" in printed
    assert "    group b              2 hosts: windows, ports 49152-49171 (40 in all), TIME_WAIT 5 s" in printed
    b = summary.groups["b"]
    assert (
        f"in use peak {b.ports_in_use.peak:,.0f}, mean {b.ports_in_use.mean:,.1f}, TIME_WAIT mean "
        f"{b.time_wait.mean:,.1f} (sampled); per host: Erlang B" in (printed.split("group b", 1)[1])
    )
    side_by_side = comparison_text({"ab": result, "a": report(run["a"])}, Path("out"))
    assert side_by_side.splitlines()[2].endswith(
        "a iana 50000-50015, TIME_WAIT 2 s; b windows 49152-49171, TIME_WAIT 5 s"
    )
    assert compare({"ab": result})["ab"].groups == summary.pool.groups


@pytest.mark.parametrize("host", [{}, {"preset": "linux", "tw_reuse": 1}])
def test_groups_on_one_pool_count_the_ports_of_their_own_hosts(make_scenario: Make, host: dict[str, Any]) -> None:
    # the groups share the scenario's host: one pool, each group's hosts a range of its sources (with tcp_tw_reuse,
    # TIME_WAITs taken over leave their group's count too)
    s = groups(make_scenario, b_host={}, warmup=30.0, host=host)
    run = PortModel(s).run()  # compiled where it is built
    general = PortModel(s, fast=False).run()
    columns = [f"{figure}{group}" for figure in ("ports_in_use", "time_wait") for group in ("", ".a", ".b")]
    for column in columns:
        np.testing.assert_array_equal(run.series[column], general.series[column])
    a, b = run.series["ports_in_use.a"], run.series["ports_in_use.b"]
    np.testing.assert_array_equal(a + b, run.series["ports_in_use"])
    assert a.max() > 0
    assert b.max() > 0
    waiting_a, waiting_b = run.series["time_wait.a"], run.series["time_wait.b"]
    np.testing.assert_array_equal(waiting_a + waiting_b, run.series["time_wait"])
    assert waiting_a.max() > 0
    assert waiting_b.max() > 0
    recycled = sum(d.time_wait_recycled for d in report(run).summary.destinations.values())
    assert (recycled > 0) == bool(host)
    summary = report(run).summary
    assert summary.groups is not None
    window = run.series["time_s"] >= 30.0
    assert summary.groups["a"].ports_in_use.peak == a[window].max()
    assert summary.groups["a"].ports_in_use.mean == pytest.approx(a[window].mean())
    assert summary.groups["a"].ports_in_use.peak <= 3 * 16


@pytest.mark.parametrize("nat", [{"kind": "linux-snat", "ports": [1024, 1279]}, {"kind": "azure-nat-gateway"}])
@pytest.mark.parametrize("b_host", [{}, {"time_wait": 10.0}])
def test_each_groups_open_and_closing_mappings_add_up_to_the_translators(
    make_scenario: Make, nat: dict[str, Any], b_host: dict[str, Any]
) -> None:
    # one pool for both groups (compiled where built) or a pool per group (pure): the translator's per-host counts of
    # mappings held after close, summed over the hosts, are its own count at every row, and a group's figures are
    # its hosts' rows over the window
    s = groups(make_scenario, b_host=b_host, warmup=30.0, nat=nat)
    run = PortModel(s).run()
    general = PortModel(s, fast=False).run()
    assert run.nat is not None
    assert general.nat is not None
    np.testing.assert_array_equal(run.nat.host_closing_series, general.nat.host_closing_series)
    np.testing.assert_array_equal(run.nat.host_series, general.nat.host_series)
    closing = run.nat.host_closing_series.sum(axis=1)
    np.testing.assert_array_equal(closing, run.series["nat_closing"])
    np.testing.assert_array_equal(run.nat.host_series.sum(axis=1) - closing, run.series["nat_mappings"])
    summary = report(run).summary
    assert summary.nat is not None
    window = run.series["time_s"] >= 30.0
    for name, hosts in (("a", slice(0, 3)), ("b", slice(3, 5))):
        figures = summary.nat.groups[name]
        group_closing = run.nat.host_closing_series[window, hosts].sum(axis=1)
        group_open = run.nat.host_series[window, hosts].sum(axis=1) - group_closing
        assert group_closing.max() > 0
        assert figures.closing.peak == group_closing.max()
        assert figures.closing.mean == pytest.approx(group_closing.mean())
        assert figures.mappings.peak == group_open.max()
        assert figures.mappings.mean == pytest.approx(group_open.mean())
    text = summary_text(report(run), Path("out"))
    assert "group a: mappings peak" in text


def test_a_translator_sees_the_closes_of_every_group_in_time_order(make_scenario: Make) -> None:
    # the translator frees mappings 3 s after each close: whatever the hosts' own ranges and timers (wide enough never
    # to fail), it drops the same SYNs as in front of a fleet of identical hosts (closes given group by group instead
    # of in time order change the drops here)
    w = {**make_scenario().to_dict()["workloads"][0], "arrivals": {"kind": "poisson", "rate": 2.0}}
    v = {**V, "arrivals": {"kind": "poisson", "rate": 2.0}, "destinations": w["destinations"]}
    nat = {"kind": "aws-nat-gateway", "per_destination": 6, "hold_after_close": 3.0}
    wide = {"preset": "linux", "port_range": [32768, 60999]}

    def fleet(a_host: dict[str, Any], b_host: dict[str, Any]) -> Scenario:
        return make_scenario(
            duration=120.0,
            host=a_host,
            workloads=[w, v],
            hosts=[
                {"name": "a", "count": 3, "workloads": ["w"]},
                {"name": "b", "count": 2, "host": b_host, "workloads": ["v"]},
            ],
            nat=nat,
        )

    mixed = fleet({**wide, "time_wait": 1.0}, {**wide, "time_wait": 60.0})
    same = fleet(wide, {})
    assert mixed.mixed_hosts
    assert not same.mixed_hosts
    a, b = PortModel(mixed).run(), PortModel(same).run()
    assert a.translator_failures == b.translator_failures
    assert a.translator_failures is not None
    assert sum(a.translator_failures) > 0
    assert a.nat is not None
    assert b.nat is not None
    assert a.nat.unit_failures == b.nat.unit_failures
    assert a.failures == a.translator_failures  # the hosts themselves never ran out
    assert a.means["time_wait"] > 5 * b.means["time_wait"]


def test_groups_may_differ_in_source_addresses_behind_a_translator(make_scenario: Make) -> None:
    # group b's hosts have two addresses each and spread over them: the translator still sees 5 hosts, 2 in group b
    s = groups(
        make_scenario,
        b_host={**WINDOWS, "source_addresses": 2},
        nat={"kind": "gcp-cloud-nat", "min_ports_per_host": 64},
    ).with_changes({"workloads.v.bind": "no_port"})
    assert [g.sources for g in s.fleet] == [range(0, 3), range(3, 7)]
    r = PortModel(s).run()
    assert r.nat is not None
    held = r.nat.host_series
    assert held.shape[1] == 5
    assert (held.max(axis=0) > 0).all()  # every host held mappings, group b's two included
    assert r.failures[1] > 0  # group b's own 2 x 20 ports per host fill (TIME_WAIT 5 s at 4/s per host)


@pytest.mark.parametrize("nat", [None, {"kind": "aws-nat-gateway", "per_destination": 12}])
@pytest.mark.parametrize("b_host", [None, {"preset": "linux", "tw_reuse": 1, "port_range": [50000, 50015]}])
def test_groups_with_hosts_of_their_own_run_their_fast_paths_as_the_general_ones(
    make_scenario: Make, nat: dict[str, Any] | None, b_host: dict[str, Any] | None
) -> None:
    # no group's max_tw_buckets can bite here, so each group's lifecycle takes its fast path: the same run as the
    # general path's (Windows hosts, or Linux ones with tcp_tw_reuse: promotions and take-overs)
    s = groups(make_scenario, b_host=b_host, **({} if nat is None else {"nat": nat}))
    assert s.mixed_hosts
    fast_model, general_model = PortModel(s), PortModel(s, fast=False)
    for model, fast in ((fast_model, True), (general_model, False)):
        assert isinstance(model.lifecycle, FleetLifecycle)
        assert [m._fast for m in model.lifecycle.members] == [fast, fast]
    fast_run, general_run = fast_model.run(), general_model.run()
    assert fast_run.series.keys() == general_run.series.keys()
    for column, values in general_run.series.items():
        np.testing.assert_array_equal(fast_run.series[column], values)
    fast_summary, general_summary = report(fast_run).summary.to_json(), report(general_run).summary.to_json()
    for data in (fast_summary, general_summary):
        data.pop("wall_time_s")
    assert fast_summary == general_summary
    assert fast_summary["failures"] > 0  # the Windows group's 20 ports fill (or, with tw_reuse, both pools cycle)


def test_a_group_limit_that_can_bite_keeps_every_group_on_the_general_path(make_scenario: Make) -> None:
    s = groups(make_scenario, b_host={"preset": "linux", "max_tw_buckets": 4, "port_range": [50000, 50015]})
    assert [m._fast for m in PortModel(s).lifecycle.members] == [False, False]
