"""The standard fixes: what each changes, and when it does not apply."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sim.config.scenario import Scenario
from sim.experiments.fixes import FIXES, NotApplicableError


def test_the_fixes_in_order() -> None:
    assert list(FIXES) == [
        "wider-port-range",
        "tw-reuse",
        "2x-source-addresses",
        "4x-source-addresses",
        "server-closes-first",
        "rst-close",
        "bind-no-port",
        "2x-public-addresses",
        "more-ports-per-host",
        "dynamic-port-allocation",
        "keep-alive-pool",
    ]
    assert all(cls.source and cls.description for cls in FIXES.values())


def test_each_fix_changes_what_it_says(make_scenario: Callable[..., Scenario]) -> None:
    base = make_scenario(host={"preset": "linux", "port_range": [50000, 50015]})
    assert FIXES["wider-port-range"]().changes(base) == {"host.port_range": [1024, 65535]}
    assert FIXES["tw-reuse"]().changes(base) == {"host.tw_reuse": 1, "host.timestamps": True}
    assert FIXES["4x-source-addresses"]().changes(base) == {"host.source_addresses": 4, "workloads.0.bind": "no_port"}
    assert FIXES["server-closes-first"]().changes(base) == {"workloads.0.close": "server"}
    assert FIXES["rst-close"]().changes(base) == {"workloads.0.close": "reset"}
    for name in FIXES:
        try:
            base.with_changes(FIXES[name]().changes(base))  # every change gives a valid scenario
        except NotApplicableError:
            assert name == "bind-no-port" or FIXES[name].__module__ == "sim.experiments.nat_fixes"


def test_the_host_fixes_change_every_host_group(make_scenario: Callable[..., Scenario]) -> None:
    w = make_scenario().to_dict()["workloads"][0]
    fleet = make_scenario(
        host={"preset": "linux", "port_range": [50000, 50015]},
        workloads=[w, {**w, "name": "v"}],
        hosts=[
            {"name": "a", "count": 2, "workloads": ["w"]},
            {"name": "b", "count": 3, "host": {"preset": "windows", "port_range": [60000, 60019]}, "workloads": ["v"]},
        ],
    )
    widened = fleet.with_changes(FIXES["wider-port-range"]().changes(fleet))
    assert [(g.host.low, g.host.high) for g in widened.fleet] == [(1024, 65535), (1025, 65535)]  # Windows: 1025 on
    assert widened.fleet[1].host.preset == "windows"
    assert FIXES["wider-port-range"]().describe(fleet) == (
        "sysctl net.ipv4.ip_local_port_range='1024 65535'; netsh int ipv4 set dynamicport tcp start=1025 num=64511"
    )
    assert FIXES["tw-reuse"]().describe(fleet).endswith("windows hosts have no such setting: modelled as if they had")
    assert FIXES["2x-source-addresses"]().describe(fleet) == (
        "twice the source addresses, connecting with IP_BIND_ADDRESS_NO_PORT or SO_REUSE_UNICASTPORT (Windows 10 and "
        "later)"
    )
    reused = fleet.with_changes(FIXES["tw-reuse"]().changes(fleet))
    assert [(g.host.tw_reuse, g.host.timestamps) for g in reused.fleet] == [(1, True), (1, True)]
    spread = fleet.with_changes(FIXES["2x-source-addresses"]().changes(fleet))
    assert [g.host.source_addresses for g in spread.fleet] == [2, 2]
    pinned = fleet.with_changes({"hosts.b.host.source_addresses": 3})
    spread = pinned.with_changes(FIXES["2x-source-addresses"]().changes(pinned))
    assert [g.host.source_addresses for g in spread.fleet] == [2, 6]
    with pytest.raises(NotApplicableError, match="already 1024-65535"):
        FIXES["wider-port-range"]().changes(widened)


@pytest.mark.parametrize(
    ("top", "group", "widened"), [("linux", "windows", (1025, 65535)), ("windows", "linux", (1024, 65535))]
)
def test_the_range_fix_widens_each_group_to_its_own_oss_limit(
    make_scenario: Callable[..., Scenario], top: str, group: str, widened: tuple[int, int]
) -> None:
    # the group's host writes its preset only: it takes the scenario's port_range unless the fix gives it its own
    w = make_scenario().to_dict()["workloads"][0]
    fleet = make_scenario(
        host={"preset": top, "port_range": [50000, 50015]},
        workloads=[w, {**w, "name": "v"}],
        hosts=[
            {"name": "a", "count": 2, "workloads": ["w"]},
            {"name": "b", "count": 3, "host": {"preset": group}, "workloads": ["v"]},
        ],
    )
    fixed = fleet.with_changes(FIXES["wider-port-range"]().changes(fleet))
    first = (1025 if top == "windows" else 1024, 65535)
    assert [(g.host.low, g.host.high) for g in fixed.fleet] == [first, widened]


def test_the_range_fix_names_each_os_setting(make_scenario: Callable[..., Scenario]) -> None:
    for preset, setting in [
        ("linux-5.12", "sysctl net.ipv4.ip_local_port_range='1024 65535'"),
        ("macos", "sysctl net.inet.ip.portrange.first=1024 net.inet.ip.portrange.last=65535"),
        ("netbsd", "sysctl -w net.inet.ip.anonportmin=1024 net.inet.ip.anonportmax=65535"),
        ("iana", "the range 1024-65535"),
    ]:
        scenario = make_scenario(host={"preset": preset})
        assert FIXES["wider-port-range"]().describe(scenario) == setting
        assert FIXES["tw-reuse"]().describe(scenario).startswith("net.ipv4.tcp_tw_reuse = 1")
        assert ("macos hosts have no such setting" in FIXES["tw-reuse"]().describe(scenario)) == (preset == "macos")
    assert FIXES["tw-reuse"]().describe(make_scenario(host={"preset": "iana"})) == FIXES["tw-reuse"].description
    spread = FIXES["4x-source-addresses"]()
    assert spread.describe(make_scenario(host={"preset": "linux"})) == spread.description
    assert spread.describe(make_scenario(host={"preset": "macos"})) == (
        "four times the source addresses, connecting with a bind() that leaves the port to connect(); macos hosts "
        "have no such option: modelled as if they had"
    )
    windows = make_scenario(host={"preset": "windows", "port_range": [1025, 65535]})
    with pytest.raises(NotApplicableError, match="already 1025-65535"):  # Windows' range starts at 1025 at the lowest
        FIXES["wider-port-range"]().changes(windows)


@pytest.mark.parametrize(
    ("name", "changes", "reason"),
    [
        ("wider-port-range", {"host": {"port_range": [1024, 65535]}}, "already 1024-65535"),
        ("tw-reuse", {"workload": {"close": "server"}}, "no workload closes first"),
        ("tw-reuse", {"workload": {"bind": True}}, "binds before connecting without SO_REUSEADDR"),
        ("tw-reuse", {"host": {"preset": "macos", "port_range": [50000, 50015]}}, "sharing: none"),
        ("server-closes-first", {"workload": {"close": "reset"}}, "no workload closes first"),
        ("rst-close", {"workload": {"close": "server"}}, "no workload leaves TIME_WAIT"),
        ("bind-no-port", {}, "no workload binds"),
    ],
)
def test_when_a_fix_does_not_apply_it_says_why(
    make_scenario: Callable[..., Scenario], name: str, changes: dict[str, object], reason: str
) -> None:
    scenario = make_scenario(**changes)
    with pytest.raises(NotApplicableError, match=reason):
        FIXES[name]().changes(scenario)


def _pooled(make_scenario: Callable[..., Scenario], pool: dict[str, object]) -> Scenario:
    requests = {"arrivals": {"kind": "poisson", "rate": 10.0}, "latency": {"kind": "exponential", "mean": 0.1}}
    workload = {
        "name": "api",
        "requests": requests,
        "pool": pool,
        "destinations": [{"address": "10.0.0.5", "port": 443}],
    }
    return make_scenario(workloads=[workload])


@pytest.mark.parametrize("name", ["server-closes-first", "rst-close"])
def test_the_close_side_fixes_do_not_apply_where_the_pool_or_the_trace_decides(
    make_scenario: Callable[..., Scenario], tmp_path: Path, name: str
) -> None:
    with pytest.raises(NotApplicableError, match="api's pool closes its kept-alive connections itself"):
        FIXES[name]().changes(_pooled(make_scenario, {"preset": "go"}))
    fresh = _pooled(make_scenario, {"keep_alive": False})  # a connection per request, closed on the workload's side
    assert FIXES[name]().changes(fresh) == {"workloads.0.close": "server" if name == "server-closes-first" else "reset"}
    sided = tmp_path / "sided.csv"
    sided.write_text("start,duration,destination,close\n0,1,10.0.0.1:80,client\n1,1,10.0.0.1:80,\n")
    plain = tmp_path / "plain.csv"
    plain.write_text("start,duration,destination\n0,1,10.0.0.1:80\n1,1,10.0.0.1:80\n")
    for path, applies in ((sided, False), (plain, True)):
        traced = make_scenario(workload={"arrivals": {"kind": "trace", "file": str(path)}, "duration": None})
        if applies:
            assert FIXES[name]().changes(traced)
        else:
            with pytest.raises(NotApplicableError, match="trace says who closes each connection"):
                FIXES[name]().changes(traced)
