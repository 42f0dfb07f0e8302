"""The netfilter translator: kept ports, the same tuple reopening, eviction, hashed addresses, bounded search."""

from __future__ import annotations

import numpy as np

from sim.nat.kinds import LinuxSnat
from sim.nat.linux import LinuxSnatTranslator
from sim.nat.snat_search import BUSY, CLOSING


def make(**kw: object) -> LinuxSnatTranslator:
    kind = LinuxSnat.model_validate({"ports": [40000, 40015], **kw})
    return LinuxSnatTranslator(kind, 4, 2, np.random.default_rng(3))


def state(t: LinuxSnatTranslator, unit: int, dst: int, port: int) -> int:
    return t._states[unit * t.n_dest + dst][port - t.low]


def test_a_free_host_port_in_the_range_is_kept_unless_fully_random() -> None:
    t = make()
    assert t.map(0, 0, 40003, 0, 0.0)
    assert state(t, 0, 0, 40003) == BUSY
    r = make(mode="fully-random")
    kept = 0
    for c in range(16):
        r.map(c, c % 4, 40000 + c, 0, 0.0)
        kept += state(r, 0, 0, 40000 + c) == BUSY and r._owner.get(40000 + c - r.low, (0, 0, -1))[2] == c
    assert kept < 16


def test_per_destination_uniqueness_one_port_serves_every_destination() -> None:
    t = make()
    assert t.map(0, 0, 40003, 0, 0.0)
    assert t.map(1, 1, 40003, 1, 0.0)  # another host, same port, another destination: kept
    assert state(t, 0, 1, 40003) == BUSY


def test_a_closed_entry_holds_its_port_for_time_wait_and_close_after_rst() -> None:
    t = make(time_wait=120, close=10)
    t.map(0, 0, 40003, 0, 0.0)
    t.map(1, 0, 40004, 0, 0.0)
    t.closed(0, 1.0, rst=False)
    t.closed(1, 1.0, rst=True)
    t.advance(1.0)
    assert state(t, 0, 0, 40003) == CLOSING
    t.advance(11.0)
    assert state(t, 0, 0, 40004) == 0
    t.advance(120.9)
    assert state(t, 0, 0, 40003) == CLOSING
    t.advance(121.0)
    assert state(t, 0, 0, 40003) == 0


def test_the_same_tuple_reopening_takes_over_its_own_closing_entry() -> None:
    t = make()
    t.map(0, 0, 40003, 0, 0.0)
    t.closed(0, 1.0, rst=False)
    t.advance(2.0)
    assert list(t.host_cooling[:1]) == [1]
    assert t.map(1, 0, 40003, 0, 2.0)  # the tracker kills the TIME_WAIT entry of the same original tuple
    assert t._owner[40003 - t.low][2] == 1
    assert (list(t.host_held[:1]), list(t.host_cooling[:1]), t.cooling) == ([1], [0], [0])
    t.advance(121.0)  # the old entry's free must not free the new connection
    assert state(t, 0, 0, 40003) == BUSY
    t2 = make()
    t2.map(0, 0, 40003, 0, 0.0)
    t2.closed(0, 1.0, rst=False)
    t2.advance(2.0)
    t2.map(1, 1, 40003, 0, 2.0)  # another host's tuple: a new port, the closing entry stays
    assert state(t2, 0, 0, 40003) == CLOSING


def test_a_full_range_of_closing_entries_is_reused_by_eviction_only() -> None:
    t = make(evict=1.0)
    for c in range(16):
        assert t.map(c, 0, 50000 + c, 0, 0.0)
        t.closed(c, 0.5, rst=False)
    t.advance(1.0)
    assert t.map(100, 0, 50100, 0, 1.0)
    assert t.evicted == 1
    assert t.cooling == [15]
    assert (t.host_held[0], t.host_cooling[0]) == (16, 15)  # the evicted entry was host 0's own
    assert t.busy == [1]
    never = make(evict=0.0)
    for c in range(16):
        never.map(c, 0, 50000 + c, 0, 0.0)
        never.closed(c, 0.5, rst=False)
    never.advance(1.0)
    assert not never.map(100, 0, 50100, 0, 1.0)
    assert never.failed_with_free_ports == 0  # full: no free port left


def test_addresses_are_a_fixed_hash_that_does_not_pool() -> None:
    t = LinuxSnatTranslator(LinuxSnat(addresses=4, ports=[40000, 40000]), 64, 3, np.random.default_rng(1))
    first = [t.address(h, 0) for h in range(64)]
    assert first == [t.address(h, 0) for h in range(64)]
    assert len(set(first)) == 4
    assert [t.address(h, 1) for h in range(64)] != first  # depends on the destination too
    p = LinuxSnatTranslator(LinuxSnat(addresses=4, mode="persistent"), 64, 3, np.random.default_rng(1))
    assert [p.address(h, 0) for h in range(64)] == [p.address(h, 2) for h in range(64)]
    # one port per address: a host whose address is taken fails while another address is free
    host = next(h for h in range(1, 64) if t.address(h, 0) == t.address(0, 0))
    assert t.map(0, 0, 50000, 0, 0.0)
    assert not t.map(1, host, 50001, 0, 0.0)
    assert t.with_room[host] == 1
