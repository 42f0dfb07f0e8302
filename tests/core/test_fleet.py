"""A fleet whose host groups differ: each group's parts over its own sources, one lifecycle over them all."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config.host import Host
from sim.core.fleet import FleetLifecycle, build_fleet
from sim.core.hooks import Connection
from sim.core.host import HostParts, ResolvedHost
from sim.core.transitions import Close

DESTINATIONS = [("10.0.0.1", 80), ("10.0.0.2", 80)]
SHORT = Host.model_validate(
    {"preset": "linux", "port_range": [40000, 40063], "time_wait": 1.0, "time_wait_granularity": 0}
).resolved
LONG = Host.model_validate(
    {"preset": "windows", "port_range": [50000, 50031], "time_wait": 3.5, "time_wait_granularity": 0}
).resolved


def fleet(
    hosts: list[tuple[ResolvedHost, int]], closes: tuple[Close, ...] = ("client", "client")
) -> tuple[list[HostParts], FleetLifecycle]:
    """Group k runs class k; hosts numbered one after the other, one source address each."""
    groups, first = [], 0
    for host, count in hosts:
        groups.append((host, count, range(first, first + count)))
        first += count
    rngs = [np.random.default_rng(k) for k in range(len(hosts))]
    return build_fleet(groups, DESTINATIONS, [(c, False) for c in closes], list(range(len(hosts))), rngs)


def open_one(
    parts: HostParts, life: FleetLifecycle, c: int, src: int, dst: int, now: float, end: float, n: int
) -> None:
    view, _ = parts.pool.request(src, dst)
    slot, _ = parts.policy.connect(view, src, dst, now)
    assert slot >= 0
    parts.pool.take(src, dst, slot, False, now)
    life.open(end, (src, dst, slot, c, n, now))


def test_each_group_holds_ports_for_its_own_sources_only() -> None:
    parts, _ = fleet([(SHORT, 2), (LONG, 3)])
    a, b = parts
    assert [len(a.pool.local[s]) for s in range(5)] == [64, 64, 0, 0, 0]
    assert [len(b.pool.local[s]) for s in range(5)] == [0, 0, 32, 32, 32]
    assert a.host.source_addresses == b.host.source_addresses == 5  # the fleet's numbering
    assert a.lifecycle.levels is b.lifecycle.levels


def test_max_tw_buckets_holds_for_each_group_of_hosts() -> None:
    limited = dataclasses.replace(SHORT, max_tw_buckets=2)
    parts, life = fleet([(limited, 2), (LONG, 3)])  # group 0: 2 hosts of 2 buckets; group 1 unlimited
    assert [p.lifecycle.timers.max_tw_buckets for p in parts] == [4, None]
    for n in range(12):  # six connections per group, group 1's closing first (client close: TIME_WAIT)
        group = n % 2
        open_one(parts[group], life, group, group * 2, 0, 0.0, 1.0 - 0.5 * group, n)
    life.advance(1.0)
    assert life.time_wait == 6 + 4  # group 1 keeps all 6, group 0 stops at its own 4 (not the fleet's 10)
    assert life.levels.dest_overflow[0] == 2
    life.advance(10.0)
    assert (life.time_wait, life.ports_in_use) == (0, 0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.floats(0.0, 20.0), st.floats(0.01, 5.0), st.sampled_from([0, 1])),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from([("client", "client"), ("client", "server"), ("half", "reset")]),
)
def test_events_of_every_group_come_in_one_time_order_and_levels_add_up(
    opens: list[tuple[int, float, float, int]], closes: tuple[Close, Close]
) -> None:
    parts, life = fleet([(SHORT, 1), (LONG, 1)], closes)
    seen: list[float] = []
    life.on_close(lambda conn, t, code: seen.append(t))
    released: list[tuple[float, Connection]] = []
    life.on_release(lambda conn, t: released.append((t, conn)))
    intervals = []  # (start, end, group) of each connection's ESTABLISHED time
    for n, (group, at, hold, dst) in enumerate(sorted(opens, key=lambda o: o[1])):
        life.advance(at)
        open_one(parts[group], life, group, group, dst, at, at + hold, n)
        intervals.append((at, at + hold))
    life.advance(100.0)
    assert seen == sorted(seen)  # closes reach a layer in time order, across groups
    assert [t for t, _ in released] == sorted(t for t, _ in released)
    assert len(released) == len(opens)
    # the shared count's peak is the fleet's: the most connections ESTABLISHED at once over both groups
    edges = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1]))
    assert life.levels.peak_established == max(np.cumsum([d for _, d in edges]))
    assert (life.established, life.time_wait, life.fin_wait2) == (0, 0, 0)
    assert life.ports_in_use == 0


def test_time_means_add_the_groups_up() -> None:
    parts, life = fleet([(SHORT, 1), (LONG, 1)])
    open_one(parts[0], life, 0, 0, 0, 0.0, 2.0, 1)  # 2 s ESTABLISHED, then 1 s TIME_WAIT
    open_one(parts[1], life, 1, 1, 1, 0.0, 1.0, 2)  # 1 s ESTABLISHED, then 3.5 s TIME_WAIT
    life.advance(10.0)
    means = life.time_means(10.0)
    assert means["established"] == pytest.approx(0.3)
    assert means["time_wait"] == pytest.approx(0.45)
    assert means["ports_in_use"] == pytest.approx(0.75)
    assert life.levels.peak_time_wait == 2  # both in TIME_WAIT during [2, 3]
