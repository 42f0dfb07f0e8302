"""The translator's fixes: what each changes for each kind, and why it does not apply elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sim.config.scenario import Scenario
from sim.experiments.fixes import FIXES, NotApplicableError

Make = Callable[..., Scenario]


def applied(scenario: Scenario, name: str) -> Scenario:
    return scenario.with_changes(FIXES[name]().changes(scenario))


def reason(scenario: Scenario, name: str) -> str:
    with pytest.raises(NotApplicableError) as err:
        FIXES[name]().changes(scenario)
    return str(err.value)


def fleet(make_scenario: Make, nat: dict[str, Any], count: int = 10) -> Scenario:
    return make_scenario(hosts=[{"name": "a", "count": count, "workloads": ["w"]}], nat=nat)


def test_every_translator_fix_is_registered_after_the_hosts() -> None:
    names = list(FIXES)
    assert names[-4:] == ["2x-public-addresses", "more-ports-per-host", "dynamic-port-allocation", "keep-alive-pool"]
    assert "rst-close" in names


def test_more_public_addresses_within_each_services_limit(make_scenario: Make) -> None:
    aws = applied(fleet(make_scenario, {"kind": "aws-nat-gateway", "addresses": 5}), "2x-public-addresses")
    assert aws.nat is not None
    assert aws.nat.public_addresses == 8
    full = fleet(make_scenario, {"kind": "aws-nat-gateway", "addresses": 8})
    assert "already has 8 addresses, the most it allows" in reason(full, "2x-public-addresses")
    lb = applied(fleet(make_scenario, {"kind": "azure-lb-outbound", "ports_per_host": 64}), "2x-public-addresses")
    assert lb.nat is not None
    assert lb.nat.public_addresses == 2
    static = fleet(make_scenario, {"kind": "gcp-cloud-nat"})
    assert "add VMs, not ports per VM" in reason(static, "2x-public-addresses")
    assert "no translator" in reason(make_scenario(), "2x-public-addresses")


def test_more_ports_per_host_for_the_kinds_that_reserve_them(make_scenario: Make) -> None:
    gcp = applied(fleet(make_scenario, {"kind": "gcp-cloud-nat"}), "more-ports-per-host")
    assert gcp.nat is not None
    assert gcp.nat.pool_size(10) == 256
    crowded = fleet(make_scenario, {"kind": "gcp-cloud-nat", "min_ports_per_host": 4096}, count=15)
    assert "would not fit" in reason(crowded, "more-ports-per-host")
    lb_fleet = fleet(make_scenario, {"kind": "azure-lb-outbound"}, count=100)
    lb = applied(lb_fleet, "more-ports-per-host")
    assert lb.nat is not None
    assert lb.nat.pool_size(100) == 640  # 512 x 4 would not fit: what the frontend address has for 100 hosts
    fix = FIXES["more-ports-per-host"]()
    assert fix.describe(lb_fleet) == "the outbound rule's allocatedOutboundPorts: 640 per instance (from 512)"
    assert fix.describe(fleet(make_scenario, {"kind": "gcp-cloud-nat"})) == "Cloud NAT's minPortsPerVm: 256 (from 64)"
    assert "does not reserve ports per host" in reason(
        fleet(make_scenario, {"kind": "linux-snat"}), "more-ports-per-host"
    )


def test_dynamic_allocation_for_cloud_nat_only(make_scenario: Make) -> None:
    eim = fleet(make_scenario, {"kind": "gcp-cloud-nat", "endpoint_independent": True})
    fixed = applied(eim, "dynamic-port-allocation")
    assert fixed.nat is not None
    assert fixed.nat.growing
    assert "already on" in reason(fixed, "dynamic-port-allocation")
    assert "no dynamic port allocation" in reason(
        fleet(make_scenario, {"kind": "aws-nat-gateway"}), "dynamic-port-allocation"
    )


def test_a_keep_alive_pool_for_requests_that_open_a_connection_each(make_scenario: Make) -> None:
    requests = make_scenario(
        workload={
            "arrivals": None,
            "duration": None,
            "requests": {"arrivals": {"kind": "poisson", "rate": 100.0}, "latency": {"kind": "fixed", "value": 0.05}},
            "pool": "none",
        }
    )
    pooled = applied(requests, "keep-alive-pool")
    pool = pooled.workloads[0].pool
    assert pool is not None
    assert pool.keep_alive
    assert pool.max_idle_per_host == 10
    assert "no request workload opens a connection per request" in reason(pooled, "keep-alive-pool")
    assert "no request workload" in reason(make_scenario(), "keep-alive-pool")


def test_rst_close_helps_a_translator_that_frees_sooner_after_an_rst(make_scenario: Make) -> None:
    # the server closes first, so the host holds no TIME_WAIT; Azure NAT Gateway still cools a FIN's port 65 s and
    # an RST's 16 s, while AWS holds both alike
    azure = make_scenario(workload={"close": "server"}, nat={"kind": "azure-nat-gateway"})
    assert FIXES["rst-close"]().changes(azure) == {"workloads.0.close": "reset"}
    aws = make_scenario(workload={"close": "server"}, nat={"kind": "aws-nat-gateway"})
    assert "as long after an RST as after a FIN" in reason(aws, "rst-close")
    assert "as long after an RST" not in reason(make_scenario(workload={"close": "server"}), "rst-close")
