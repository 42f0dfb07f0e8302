"""Workloads estimated from two snapshots: rates from new 4-tuples or TIME_WAIT, durations by Little's law."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.machine.estimate import MIN_DURATION, estimate
from tests.machine.fakes import linux, snap, sock

A, B, C = "10.0.0.5:443", "10.0.0.6:80", "10.0.0.7:8443"
FIRST = snap(
    sock("ESTABLISHED", "10.0.0.2:33000", A, 7),
    sock("TIME_WAIT", "10.0.0.2:33002", A),
    sock("TIME_WAIT", "10.0.0.2:33010", A),
    sock("ESTABLISHED", "10.0.0.2:34000", B, 7),
    *(sock("TIME_WAIT", f"10.0.0.2:{35000 + i}", C) for i in range(6)),
    at=100.0,
)
SECOND = snap(
    sock("TIME_WAIT", "10.0.0.2:33000", A),  # closed since: not new
    sock("TIME_WAIT", "10.0.0.2:33002", A),  # still waiting: not new
    sock("ESTABLISHED", "10.0.0.2:33004", A, 7),  # new
    sock("ESTABLISHED", "10.0.0.2:33006", A, 7),  # new
    sock("TIME_WAIT", "10.0.0.2:33008", A),  # opened and closed in between: new
    sock("ESTABLISHED", "10.0.0.2:33010", A, 7),  # a TIME_WAIT taken over by tw_reuse: new
    sock("ESTABLISHED", "10.0.0.2:34000", B, 7),  # long-lived
    *(sock("TIME_WAIT", f"10.0.0.2:{35000 + i}", C) for i in range(6)),  # the same TIME_WAITs: nothing new
    at=104.0,
)


def test_rates_durations_and_close_sides(tmp_path: Path) -> None:
    got = {str(e.destination): e for e in estimate(FIRST, SECOND, linux(tmp_path), 60.0, 10)}
    a, b, c = got[A], got[B], got[C]
    assert (a.new, a.open, a.time_wait, a.ports, a.rate_from) == (4, 3, 3, 6, "new")
    assert a.rate == pytest.approx(4 / 4.0)
    assert a.mean_duration == pytest.approx(3 / a.rate)
    assert a.close == "client"
    assert (b.rate, b.rate_from, b.close) == (0.0, "none", "server")
    assert (c.rate, c.rate_from, c.close) == (pytest.approx(6 / 60), "time_wait", "client")
    assert c.mean_duration == MIN_DURATION  # nothing open toward it


def test_most_ports_first_and_top_cuts(tmp_path: Path) -> None:
    got = estimate(FIRST, SECOND, linux(tmp_path), 60.0, 2)
    assert [str(e.destination) for e in got] == [A, C]


def test_the_time_wait_length_scales_the_fallback_rate(tmp_path: Path) -> None:
    got = {str(e.destination): e for e in estimate(FIRST, SECOND, linux(tmp_path), 30.0, 10)}
    assert got[C].rate == pytest.approx(6 / 30)


def test_snapshots_out_of_order_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="after the first"):
        estimate(SECOND, FIRST, linux(tmp_path), 60.0, 10)
