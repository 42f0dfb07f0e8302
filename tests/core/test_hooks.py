"""Layers attach to the lifecycle through hooks, and drive the connections they manage themselves."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sim.config.scenario import Scenario
from sim.core.hooks import Connection
from sim.core.lifecycle import Lifecycle
from sim.core.pool import PortPool
from sim.core.timers import Timers
from sim.core.transitions import AT_ONCE, CLIENT, HALF
from sim.model.model import PortModel
from sim.report.summary import report


def lifecycle() -> Lifecycle:
    pool = PortPool(4, 1, 2)
    return Lifecycle(pool, Timers(time_wait=2.0, fin_timeout=3.0), ["client"], [False])


def test_a_layer_sees_every_close_and_release_with_its_time_and_side() -> None:
    """A connection pool keeps connections open itself and closes them from either side, on its own schedule."""
    lc = lifecycle()
    closed: list[tuple[int, float, int]] = []
    released: list[tuple[int, float]] = []
    lc.on_close(lambda conn, t, code: closed.append((conn[4], t, code)))
    lc.on_release(lambda conn, t: released.append((conn[4], t)))
    conns: list[Connection] = []
    for ident, (slot, dst) in enumerate([(0, 0), (1, 0), (2, 1)]):
        lc.pool.take(0, dst, slot, False, 0.0)
        conn = (0, dst, slot, 0, ident, 0.0)
        lc.start(conn)
        conns.append(conn)
    assert lc.established == 3
    lc.close_at(1.0, conns[0])  # the class's side: client, TIME_WAIT until 3
    lc.close_now(1.5, conns[1], "server")  # the peer closed an idle connection: released at once
    lc.close_now(2.0, conns[2], "half")  # FIN_WAIT2 until 5
    assert closed == [(0, 1.0, CLIENT), (1, 1.5, AT_ONCE), (2, 2.0, HALF)]
    assert released == [(1, 1.5)]
    assert (lc.established, lc.time_wait, lc.fin_wait2) == (0, 1, 1)
    lc.advance(10.0)
    assert released == [(1, 1.5), (0, 3.0), (2, 5.0)]
    assert lc.pool.ports_in_use == 0


def test_a_takeover_releases_the_old_connection() -> None:
    pool = PortPool(1, 1, 1)
    lc = Lifecycle(pool, Timers(time_wait=60.0, reuse_delay=1.0), ["client"], [False], [[True]])
    released: list[tuple[int, float]] = []
    lc.on_release(lambda conn, t: released.append((conn[4], t)))
    pool.take(0, 0, 0, False, 0.0)
    old = (0, 0, 0, 0, 7, 0.0)
    lc.open(1.0, old)
    lc.advance(2.5)  # TIME_WAIT since 1, takeable after 2
    _, recycled = pool.take(0, 0, 0, False, 2.5)
    assert recycled == old
    lc.recycled(old, 2.5)
    assert released == [(7, 2.5)]
    assert lc.time_wait == 0


@pytest.mark.parametrize("preset", ["iana", "linux"])
def test_a_layer_that_only_watches_changes_nothing(preset: str, make_scenario: Callable[..., Scenario]) -> None:
    """Subscribing moves the lifecycle to its general path; the run must come out the same."""
    scenario = make_scenario(
        duration=60.0,
        warmup=10.0,
        host={"preset": preset, "port_range": [50000, 50015]},
        workload={"arrivals": {"kind": "poisson", "rate": 6.0}, "close": "client"},
    )
    plain = PortModel(scenario)
    watched = PortModel(scenario)
    seen: list[float] = []
    watched.lifecycle.on_release(lambda conn, t: seen.append(t))
    a, b = report(plain.run()), report(watched.run())
    assert {**a.summary.to_json(), "wall_time_s": 0} == {**b.summary.to_json(), "wall_time_s": 0}
    assert len(seen) > 100
    assert seen == sorted(seen)


def test_watching_closes_alone_still_sees_every_close() -> None:
    lc = lifecycle()
    closed: list[tuple[int, int]] = []
    lc.on_close(lambda conn, t, code: closed.append((conn[4], code)))
    for ident, slot in enumerate((0, 1, 2)):
        lc.pool.take(0, 0, slot, False, 0.0)
        lc.open(1.0, (0, 0, slot, 0, ident, 0.0))  # three closes at the same instant: in opening order
    lc.advance(1.0)
    assert closed == [(0, CLIENT), (1, CLIENT), (2, CLIENT)]
    conn = (0, 1, 3, 0, 3, 1.0)
    lc.pool.take(0, 1, 3, False, 1.0)
    lc.start(conn)
    lc.close_now(2.0, conn)  # the class's own side
    assert closed[-1] == (3, CLIENT)
    assert lc.time_wait == 4
