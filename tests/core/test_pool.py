"""The port pool: 4-tuple sharing, bind exclusivity, and invariants under random operation sequences."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from sim.core.pool import BOUND, ESTABLISHED, RESERVED, TIME_WAIT, PortPool


def test_connect_shares_a_port_across_destinations() -> None:
    pool = PortPool(4, n_sources=1, n_destinations=2, sharing=True)
    pool.take(0, 0, 1, bound=False, now=0.0)
    assert pool.view(0, 0)[1] == ESTABLISHED
    assert pool.view(0, 1)[1] == 0  # same port, other destination: still usable
    pool.take(0, 1, 1, bound=False, now=0.0)
    assert pool.refs[0][1] == 2
    assert pool.ports_in_use == 1
    assert pool.local[0][1] == 1


def test_without_sharing_a_port_serves_one_connection() -> None:
    pool = PortPool(4, n_sources=1, n_destinations=2, sharing=False)
    pool.take(0, 0, 1, bound=False, now=0.0)
    assert pool.view(0, 1)[1] == ESTABLISHED
    with pytest.raises(ValueError, match="not free"):
        pool.take(0, 1, 1, bound=False, now=0.0)


def test_bound_ports_are_exclusive_to_their_source_address() -> None:
    pool = PortPool(4, n_sources=2, n_destinations=3, sharing=True)
    pool.view(0, 2)  # a view created before the bind must see it too
    pool.take(0, 0, 2, bound=True, now=0.0)
    assert pool.view(0, 0)[2] == ESTABLISHED | BOUND
    assert pool.view(0, 1)[2] == BOUND
    assert pool.view(0, 2)[2] == BOUND
    assert pool.view(1, 0)[2] == 0  # another source address is unaffected (fact 13)
    pool.close(0, 0, 2, TIME_WAIT)
    assert pool.view(0, 0)[2] == TIME_WAIT | BOUND
    pool.release(0, 0, 2, bound=True, now=5.0)
    assert all(pool.view(0, d)[2] == 0 for d in range(3))
    assert pool.ports_in_use == 0


def test_ports_used_by_connect_block_bind() -> None:
    pool = PortPool(4, n_sources=1, n_destinations=2, sharing=True)
    pool.take(0, 0, 3, bound=False, now=0.0)
    assert pool.local[0][3]  # bind(0) must avoid it
    with pytest.raises(ValueError, match="cannot be bound"):
        pool.take(0, 1, 3, bound=True, now=0.0)


def test_reserved_ports_are_never_usable() -> None:
    pool = PortPool(6, n_destinations=2, reserved={0, 4})
    assert pool.usable_per_source == 4
    assert pool.view(0, 1)[0] == RESERVED
    assert pool.local[0][4] == RESERVED


def test_reuse_interval_is_measured_per_4_tuple() -> None:
    pool = PortPool(4, n_destinations=2)
    assert pool.take(0, 0, 1, bound=False, now=1.0) == (-1.0, None)
    pool.release(0, 0, 1, bound=False, now=3.0)
    assert pool.take(0, 1, 1, bound=False, now=3.5) == (-1.0, None)  # other destination: a new 4-tuple
    assert pool.take(0, 0, 1, bound=False, now=10.0) == (pytest.approx(7.0), None)


class PoolMachine(RuleBasedStateMachine):
    """Random take / time-wait / release sequences against a simple model of who holds what."""

    SIZE = 6
    SOURCES = 2
    DESTS = 3

    def __init__(self) -> None:
        super().__init__()
        self.pool = PortPool(self.SIZE, self.SOURCES, self.DESTS, sharing=True, reserved={5})
        self.held: dict[tuple[int, int, int], tuple[bool, bool]] = {}  # (src, dst, port) -> (bound, in TW)
        self.now = 0.0

    connections = Bundle("connections")

    @rule(
        target=connections,
        src=st.integers(0, SOURCES - 1),
        dst=st.integers(0, DESTS - 1),
        bound=st.booleans(),
        data=st.data(),
    )
    def take(self, src: int, dst: int, bound: bool, data: st.DataObject) -> tuple[int, int, int]:
        usable = self.pool.local[src] if bound else self.pool.view(src, dst)
        free = [o for o in range(self.SIZE) if usable[o] == 0]
        if not free:
            return (-1, -1, -1)
        o = data.draw(st.sampled_from(free))
        self.now += 1.0
        self.pool.take(src, dst, o, bound, self.now)
        self.held[(src, dst, o)] = (bound, False)
        return (src, dst, o)

    @rule(conn=connections)
    def to_time_wait(self, conn: tuple[int, int, int]) -> None:
        if conn in self.held and not self.held[conn][1]:
            self.pool.close(*conn, TIME_WAIT)
            self.held[conn] = (self.held[conn][0], True)

    @rule(conn=consumes(connections))
    def release(self, conn: tuple[int, int, int]) -> None:
        if conn in self.held:
            bound, _ = self.held.pop(conn)
            self.now += 1.0
            self.pool.release(*conn, bound=bound, now=self.now)

    @invariant()
    def no_4_tuple_twice_and_states_match(self) -> None:
        bound_ports = {(s, o) for (s, _, o), (bound, _) in self.held.items() if bound}
        for src in range(self.SOURCES):
            for dst in range(self.DESTS):
                for o in range(self.SIZE):
                    state = self.pool.state(src, dst, o)
                    if (src, dst, o) in self.held:
                        bound, in_tw = self.held[(src, dst, o)]
                        assert state & (TIME_WAIT if in_tw else ESTABLISHED)
                        assert bool(state & BOUND) == bound
                    else:
                        assert not state & (ESTABLISHED | TIME_WAIT)
                        assert bool(state & BOUND) == ((src, o) in bound_ports)

    @invariant()
    def in_use_plus_free_is_the_range(self) -> None:
        in_use = {(s, o) for (s, _, o) in self.held}
        assert self.pool.ports_in_use == len(in_use)
        for src in range(self.SOURCES):
            used = sum(1 for o in range(self.SIZE) if self.pool.refs[src][o])
            free = sum(1 for o in range(self.SIZE) if not self.pool.local[src][o])
            assert used + free + len(self.pool.reserved) == self.SIZE
            assert all(0 <= o < self.SIZE for (s, _, o) in self.held if s == src)
            assert 5 not in {o for (s, _, o) in self.held}

    @invariant()
    def bound_ports_are_exclusive(self) -> None:
        for (src, _, o), (bound, _) in self.held.items():
            if bound:
                assert self.pool.refs[src][o] == 1
                assert sum(1 for (s, _, p) in self.held if (s, p) == (src, o)) == 1


TestPoolMachine = PoolMachine.TestCase
SCALE = float(os.environ.get("PORTSIM_EXAMPLES_SCALE", "1"))
TestPoolMachine.settings = settings(max_examples=max(10, int(150 * SCALE)), stateful_step_count=40, deadline=None)


def test_a_promoted_time_wait_is_free_for_its_own_4_tuple_only() -> None:
    """tcp_tw_reuse: the TIME_WAIT's byte clears, its pool's occupancy drops, and the next take recycles it."""
    pool = PortPool(4, n_sources=2, n_destinations=2, sharing=True)
    conn = (1, 1, 2, 0, 9, 0.0)
    pool.take(1, 1, 2, bound=False, now=0.0)
    pool.close(1, 1, 2, TIME_WAIT)
    assert pool.request(1, 1)[1] == 0.25
    pool.make_reusable(1, 1, 2, conn, now=2.0)
    view, occupancy = pool.request(1, 1)
    assert (view[2], occupancy) == (0, 0.0)
    assert pool.view(0, 1)[2] == 0  # other pairs never saw it
    assert pool.view(1, 0)[2] == 0
    assert pool.ports_in_use == 1  # the socket still sits on the port
    interval, recycled = pool.take(1, 1, 2, bound=False, now=3.5)
    assert (interval, recycled) == (1.5, conn)
    assert pool.refs[1][2] == 1
    pool.release(1, 1, 2, bound=False, now=5.0)
    assert pool.ports_in_use == 0


def test_occupancy_counts_the_usable_ports_only() -> None:
    """The fraction of a pool in use has the usable ports, reserved ones left out, as its denominator."""
    pool = PortPool(10, n_sources=1, n_destinations=1, reserved={0, 1, 2, 3, 4, 5})
    pool.take(0, 0, 7, bound=False, now=0.0)
    assert pool.request(0, 0)[1] == 0.25
    pool.take(0, 0, 8, bound=True, now=0.0)
    assert pool.request(0, 0)[1] == 0.5
    assert pool.local_occupancy(0) == 0.5


def test_flags_read_a_view_without_creating_one() -> None:
    """The port map reads the bytes toward a destination never asked for: the bound and reserved ports, nothing else."""
    pool = PortPool(6, n_sources=1, n_destinations=3, sharing=True, reserved=[5])
    pool.take(0, 0, 1, bound=False, now=0.0)
    pool.take(0, 1, 2, bound=True, now=0.0)
    assert list(pool.flags(0, 2)) == [0, 0, BOUND, 0, 0, RESERVED]
    assert pool._views[0][2] is None  # still lazily created by the first connect() toward it
    assert list(pool.flags(0, 0)) == [0, ESTABLISHED, BOUND, 0, 0, RESERVED]
    assert pool.flags(0, 0) is pool.view(0, 0)  # the view itself, not a copy


def test_reserved_offsets_must_lie_inside_the_range() -> None:
    """Offsets run from 0 to size - 1: the size itself is already outside."""
    with pytest.raises(ValueError, match="must lie within the range"):
        PortPool(4, reserved={4})
    with pytest.raises(ValueError, match="must lie within the range"):
        PortPool(4, reserved={-1})
    assert PortPool(4, reserved={3}).usable_per_source == 3


def test_port_seconds_count_from_time_zero_without_a_window() -> None:
    """A fresh pool measures from 0: a port held over [0, 3] and one still held since 1 give 3 + 3 s at t = 4."""
    pool = PortPool(4)
    pool.take(0, 0, 0, bound=False, now=0.0)
    pool.take(0, 0, 1, bound=False, now=1.0)
    pool.release(0, 0, 0, bound=False, now=3.0)
    assert pool.port_seconds(4.0) == pytest.approx(6.0)


def test_port_seconds_are_cut_at_the_window_start() -> None:
    """A port taken before the window counts only from the window start; the window starts empty."""
    pool = PortPool(4)
    pool.take(0, 0, 2, bound=False, now=0.0)
    pool.start_window(5.0)
    assert pool.port_seconds(5.0) == 0.0
    pool.take(0, 0, 3, bound=False, now=6.0)
    pool.release(0, 0, 2, bound=False, now=10.0)  # held 0 to 10: 5 s inside the window
    pool.release(0, 0, 3, bound=False, now=8.0)  # taken inside the window: all 2 s count
    assert pool.port_seconds(12.0) == pytest.approx(7.0)


def test_releases_lower_the_per_source_port_count_by_one() -> None:
    pool = PortPool(8, n_sources=2)
    for slot in (1, 2, 3):
        pool.take(1, 0, slot, bound=False, now=0.0)
    pool.release(1, 0, 2, bound=False, now=1.0)
    assert list(pool.in_use) == [0, 2]
    assert pool.local_occupancy(1) == 0.25
    pool.release(1, 0, 1, bound=False, now=2.0)
    pool.release(1, 0, 3, bound=False, now=2.0)
    assert list(pool.in_use) == [0, 0]
    assert pool.ports_in_use == 0


def test_only_a_time_wait_can_be_made_reusable() -> None:
    """make_reusable promotes a TIME_WAIT 4-tuple (True) and leaves an ESTABLISHED one alone (False)."""
    pool = PortPool(4, n_destinations=2)
    conn = (0, 1, 2, 0, 1, 0.0)
    pool.take(0, 1, 2, bound=False, now=0.0)
    assert pool.make_reusable(0, 1, 2, conn, now=1.0) is False
    assert pool.state(0, 1, 2) == ESTABLISHED
    assert pool.request(0, 1)[1] == 0.25
    assert pool.make_reusable(0, 0, 2, conn, now=1.0) is False  # a key never used: nothing to promote
    pool.close(0, 1, 2, TIME_WAIT)
    assert pool.make_reusable(0, 1, 2, conn, now=2.0) is True
    assert pool.state(0, 1, 2) == 0
    assert pool.request(0, 1)[1] == 0.0


def test_without_sharing_every_destination_uses_the_one_view() -> None:
    """macOS-like pools (no sharing): state, promotion and release toward destination 1 act on the single view."""
    pool = PortPool(4, n_sources=1, n_destinations=3, sharing=False)
    conn = (0, 2, 1, 0, 1, 0.0)
    pool.take(0, 2, 1, bound=False, now=0.0)
    assert pool.state(0, 1, 1) == ESTABLISHED  # another destination sees the port taken
    pool.close(0, 2, 1, TIME_WAIT)
    assert pool.state(0, 0, 1) == TIME_WAIT
    assert pool.make_reusable(0, 2, 1, conn, now=2.0) is True
    assert pool.state(0, 1, 1) == 0
    interval, recycled = pool.take(0, 1, 1, bound=False, now=3.0)
    assert (interval, recycled) == (1.0, conn)


def test_releasing_another_4_tuple_leaves_a_promoted_time_wait_alone() -> None:
    """With one TIME_WAIT promoted, the release of a different 4-tuple frees that one normally."""
    pool = PortPool(4, n_destinations=2)
    promoted = (0, 0, 0, 0, 1, 0.0)
    pool.take(0, 0, 0, bound=False, now=0.0)
    pool.take(0, 0, 1, bound=False, now=0.0)
    pool.close(0, 0, 0, TIME_WAIT)
    assert pool.make_reusable(0, 0, 0, promoted, now=1.0)
    pool.release(0, 0, 1, bound=False, now=2.0)
    assert pool.state(0, 0, 1) == 0
    assert pool.ports_in_use == 1  # the promoted TIME_WAIT still sits on port 0
    assert pool.take(0, 0, 0, bound=False, now=3.0) == (2.0, promoted)
