"""The cloud translators as quotas: each kind's documented arithmetic, caps, cooldowns, addresses and hosts."""

from __future__ import annotations

import numpy as np
import pytest

from sim.nat.kinds import AwsNatGateway, AzureLbOutbound, AzureNatGateway, GcpCloudNat
from sim.nat.quotas import QuotaTranslator


def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_documented_arithmetic_of_each_kind() -> None:
    # Azure NAT Gateway, 0.5 s connections: 50,000 / (0.5 + 65) per address toward one destination; RST: / (0.5 + 16)
    azure = AzureNatGateway()
    assert azure.pool_size(1) / (0.5 + azure.after_close(False)) == pytest.approx(763.4, abs=0.1)
    assert azure.pool_size(1) / (0.5 + azure.after_close(True)) == pytest.approx(3030.3, abs=0.1)
    # Cloud NAT: 64 ports per VM, TIME_WAIT 120 s: about 0.5 new connections/s per VM per destination
    gcp = GcpCloudNat()
    assert gcp.pool_size(10) / (0.0 + gcp.after_close(False)) == pytest.approx(0.533, abs=0.001)
    assert GcpCloudNat(time_wait=30).pool_size(1) / 30 == pytest.approx(2.13, abs=0.01)
    assert AwsNatGateway().pool_size(1) == 55_000
    assert AzureLbOutbound().pool_size(100) == 512


def test_a_pool_fails_at_its_cap_and_frees_after_its_cooldown() -> None:
    t = QuotaTranslator(AzureNatGateway(per_destination=3, cooldown_fin=65, cooldown_rst=16), 1, 1, rng())
    assert all(t.map(c, 0, 40000 + c, 0, 0.0) for c in range(3))
    assert not t.map(3, 0, 40003, 0, 0.0)
    assert t.failures == 1
    t.closed(0, 1.0, rst=False)
    t.closed(1, 1.0, rst=True)
    t.advance(1.0)
    assert not t.map(4, 0, 40004, 0, 1.0)  # cooling ports count against the 50,000 (cooldown_counts)
    t.advance(16.99)
    assert not t.map(5, 0, 40005, 0, 16.99)
    t.advance(17.0)  # the RST one frees after 16 s
    assert t.map(6, 0, 40006, 0, 17.0)
    t.advance(65.99)
    assert not t.map(7, 0, 40007, 0, 65.99)
    t.advance(66.0)  # the FIN one after 65 s
    assert t.map(8, 0, 40008, 0, 66.0)


def test_cooldown_not_counted_caps_open_mappings_and_the_address_inventory_apart() -> None:
    t = QuotaTranslator(AzureNatGateway(per_destination=2, ports_per_address=3, cooldown_counts=False), 1, 1, rng())
    assert t.map(0, 0, 1, 0, 0.0)
    assert t.map(1, 0, 2, 0, 0.0)
    assert not t.map(2, 0, 3, 0, 0.0)  # two open: the per-destination cap
    t.closed(0, 0.5, rst=False)
    t.advance(0.5)
    assert t.map(3, 0, 4, 0, 0.5)  # one open, one cooling: 3 of the address's 3 ports
    t.closed(1, 0.6, rst=False)
    t.advance(0.6)
    assert not t.map(4, 0, 5, 0, 0.6)  # one open, two cooling: the inventory is full


def test_address_scoped_kinds_fail_only_when_every_address_is_full() -> None:
    t = QuotaTranslator(AwsNatGateway(addresses=3, per_destination=2), 5, 2, rng())
    assert all(t.map(c, c % 5, 1000 + c, 0, 0.0) for c in range(6))
    assert not t.map(6, 0, 2000, 0, 0.0)
    assert t.map(7, 0, 2001, 1, 0.0)  # another destination has its own pools
    assert sorted(t.busy) == [2, 2, 3]
    assert not t.with_room[0]


def test_host_scoped_kinds_fail_one_host_while_others_have_room() -> None:
    t = QuotaTranslator(AzureLbOutbound(ports_per_host=8), 3, 1, rng())
    assert all(t.map(c, 0, 1000 + c, 0, 0.0) for c in range(8))
    assert not t.map(8, 0, 2000, 0, 0.0)
    assert t.with_room[0] == 1  # hosts 1 and 2 had all their ports free
    assert t.map(9, 1, 2000, 0, 0.0)
    for h in (1, 2):
        for c in range(8):
            t.map(100 * h + c, h, 3000 + c, 0, 0.0)
    assert not t.map(999, 2, 4000, 0, 0.0)
    assert t.with_room[2] == 0  # every host full: no room elsewhere
    # drops: host 0 with hosts 1 and 2 all free (1), host 1's ninth with host 0 full and host 2 free (1/2),
    # host 2's with both full (0)
    assert t.free_share_n == 3
    assert t.free_share_sum == pytest.approx(1.5)


def test_dynamic_allocation_doubles_a_full_host_up_to_its_maximum() -> None:
    t = QuotaTranslator(GcpCloudNat(min_ports_per_host=32, dynamic=True, max_ports_per_host=128), 2, 1, rng())
    opened = sum(t.map(c, 0, 1000 + c, 0, 0.0) for c in range(200))
    assert opened == 128
    assert t.ports(0) == 128
    assert t.ports(1) == 32


def test_dynamic_allocation_stops_when_the_addresses_run_out() -> None:
    kind = GcpCloudNat(min_ports_per_host=32_768, dynamic=True)  # 64,512 ports: room for one doubling only if spare
    t = QuotaTranslator(kind, 1, 1, rng())
    assert sum(t.map(c, 0, c, 0, 0.0) for c in range(40_000)) == 32_768  # 32,768 more would exceed 64,512


def test_idle_mappings_are_dropped_and_counted() -> None:
    t = QuotaTranslator(AwsNatGateway(per_destination=1, idle_timeout=350), 1, 1, rng())
    assert t.map(0, 0, 1, 0, 0.0)
    t.advance(349.9)
    assert not t.map(1, 0, 2, 0, 349.9)
    t.advance(350.0)
    assert t.idle_timeouts == 1
    assert t.map(2, 0, 3, 0, 350.0)
    t.closed(0, 400.0, rst=False)  # the host closes the dropped connection later: nothing left to free
    t.advance(400.0)
    assert t.busy == [1]


def test_endpoint_independent_mapping_shares_a_hosts_ports_over_destinations() -> None:
    t = QuotaTranslator(GcpCloudNat(min_ports_per_host=2, endpoint_independent=True), 1, 3, rng())
    assert t.map(0, 0, 1, 0, 0.0)
    assert t.map(1, 0, 2, 1, 0.0)
    assert not t.map(2, 0, 3, 2, 0.0)  # without it each destination would have 2 ports of its own


def test_traffic_restarts_a_mappings_idle_timer() -> None:
    # mappings 1, 2 and 3 opened at 0 s, idle timeout 10 s: 1 and 3 carry no traffic and are dropped at 10 s; 2,
    # with traffic at 4 s and 8 s, lives to 18 s
    t = QuotaTranslator(AwsNatGateway(idle_timeout=10), 1, 1, rng())
    for conn in (1, 2, 3):
        assert t.map(conn, 0, conn, 0, 0.0)
    t.touch(2, 4.0)
    t.advance(8.0)
    t.touch(2, 8.0)
    t.advance(9.99)
    assert (t.idle_timeouts, t.mapped(1), t.mapped(2), t.mapped(3)) == (0, True, True, True)
    t.advance(10.0)
    assert (t.idle_timeouts, t.mapped(1), t.mapped(2), t.mapped(3)) == (2, False, True, False)
    t.touch(1, 10.0)  # dropped already: traffic does not bring it back
    assert not t.mapped(1)
    t.advance(17.99)
    assert t.mapped(2)
    t.advance(18.0)
    assert (t.idle_timeouts, t.mapped(2), t.busy) == (3, False, [0])


def test_a_touched_mapping_closes_and_frees_as_any_other() -> None:
    t = QuotaTranslator(AwsNatGateway(per_destination=2, idle_timeout=10, hold_after_close=5), 1, 1, rng())
    assert t.map(1, 0, 1, 0, 0.0)
    assert t.map(2, 0, 2, 0, 1.0)
    t.touch(1, 6.0)
    t.touch(2, 7.0)
    t.touch(1, 9.0)  # the least recently active now 2 (idle at 17 s), then 1 (at 19 s)
    t.closed(2, 12.0, rst=False)
    t.advance(12.0)
    assert (t.busy, t.cooling, t.mapped(2), t.mapped(1)) == ([1], [1], False, True)
    t.advance(17.0)  # freed after its hold; 1 still open
    assert (t.busy, t.cooling, t.idle_timeouts) == ([1], [0], 0)
    t.advance(19.0)
    assert (t.busy, t.idle_timeouts, t.mapped(1)) == ([0], 1, False)
