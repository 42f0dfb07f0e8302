"""Trace replay in the model: a trace of a workload's own connections replays to that workload's run, exactly."""

from __future__ import annotations

import copy
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.config.errors import ScenarioError
from sim.config.scenario import Scenario, validate
from sim.core.arrivals import Trace
from sim.core.streams import component_rng
from sim.core.transitions import CLOSE_CODES, CLOSES
from sim.model.model import PortModel
from sim.model.replay import Replay
from sim.output.results import RunResult
from sim.report.summary import report

DESTINATIONS = [
    {"address": "10.0.0.1", "port": 80, "weight": 3},
    {"address": "10.0.0.2", "port": 443},
    {"address": "2001:db8::7", "port": 8080},
]
POISSON: dict[str, Any] = {
    "name": "poisson",
    "duration": 60.0,
    "seed": 11,
    "warmup": 5.0,
    "host": {"preset": "iana", "port_range": [50000, 50011], "time_wait": 3.0},
    "workloads": [
        {
            "name": "w",
            "arrivals": {"kind": "poisson", "rate": 9.0},
            "duration": {"kind": "exponential", "mean": 1.0},
            "destinations": DESTINATIONS,
        }
    ],
}
"""Three destinations sharing 12 ports, at about 1.6 times what they hold: many failures, every rule busy."""

Row = tuple[float, float, str, str]
"""(start, duration, destination, close side)."""


def label(d: dict[str, Any]) -> str:
    return f"[{d['address']}]:{d['port']}" if ":" in d["address"] else f"{d['address']}:{d['port']}"


def recorded_rows(scenario: Scenario) -> list[Row]:
    """Run the (one-workload) scenario and record each attempt: its time, destination and, if it opened, duration.

    A failed attempt's duration is never read, so any value does: it gets 0.
    """
    model = PortModel(scenario)
    driver = model.drivers[0]
    assert driver.pick_destination is not None
    labels = [label(d) for d in DESTINATIONS]
    picked: list[int] = []
    durations: dict[int, float] = {}

    def destinations(inner: Iterator[int]) -> Iterator[int]:
        for d in inner:
            picked.append(d)
            yield d

    def holds(inner: Iterator[float]) -> Iterator[float]:
        for h in inner:
            durations[len(picked) - 1] = h
            yield h

    driver.pick_destination = destinations(driver.pick_destination)
    driver.durations = holds(driver.durations)
    model.run()
    w = scenario.workloads[0]
    rng = component_rng(scenario.seed, 0, f"workload:{w.name}:arrivals")
    times = list(w.offered.times(rng, 0.0, scenario.duration))
    assert len(times) == len(picked)
    return [(t, durations.get(i, 0.0), labels[picked[i]], w.close) for i, t in enumerate(times)]


def write_trace(path: Path, rows: list[Row], close: bool = True) -> Path:
    """A trace file of ``rows`` (floats written with repr, so they read back exactly)."""
    with path.open("w") as fh:
        fh.write("start,duration,destination" + (",close\n" if close else "\n"))
        for start, duration, destination, side in rows:
            fh.write(f"{start!r},{duration!r},{destination}" + (f",{side}\n" if close else "\n"))
    return path


def traced(base: dict[str, Any], files: list[tuple[str, Path, str]]) -> Scenario:
    """``base`` with its workloads replaced by trace workloads: (name, file, close) each."""
    raw = copy.deepcopy(base)
    raw["name"] = "traced"
    raw["workloads"] = [
        {"name": name, "arrivals": {"kind": "trace", "file": str(file)}, "close": close, "destinations": DESTINATIONS}
        for name, file, close in files
    ]
    return validate(raw, "<trace>")


def run(scenario: Scenario, fast: bool = True) -> RunResult:
    return RunResult.of(report(PortModel(scenario, fast=fast).run()))


def measured(result: RunResult) -> dict[str, Any]:
    """The summary without what depends on how the load is described (rates, Erlang B, wall time, workloads)."""
    summary = result.summary.to_json()
    for key in ("wall_time_s", "erlang_b", "capacity_at_1pct_blocking", "workloads", "scenario"):
        summary.pop(key, None)
    for figures in summary["destinations"].values():
        figures.pop("erlang_b", None)
    return summary


def assert_same_run(a: RunResult, b: RunResult) -> None:
    assert measured(a) == measured(b)
    assert a.series.keys() == b.series.keys()
    for column, values in a.series.items():
        np.testing.assert_array_equal(values, b.series[column], err_msg=column)
    np.testing.assert_array_equal(a.probe_counts, b.probe_counts)
    np.testing.assert_array_equal(a.reuse_counts, b.reuse_counts)
    np.testing.assert_array_equal(a.occupancy_attempts, b.occupancy_attempts)


@pytest.mark.parametrize("close", ["client", "server", "half"])
def test_a_trace_of_a_poisson_workload_replays_to_its_run_exactly(close: str, tmp_path: Path) -> None:
    """The key check: the same attempt times, destinations and durations give the same run, figure for figure."""
    raw = copy.deepcopy(POISSON)
    raw["workloads"][0]["close"] = close
    poisson = validate(raw, "<poisson>")
    rows = recorded_rows(poisson)
    trace = traced(raw, [("w", write_trace(tmp_path / "conns.csv", rows, close=False), close)])
    original, replayed = run(poisson), run(trace)
    assert original.summary.failures > 5
    assert original.summary.established > 5
    assert_same_run(original, replayed)
    assert replayed.summary.workloads["w"].attempts == original.summary.attempts


def test_a_close_column_of_one_side_gives_the_workloads_close(tmp_path: Path) -> None:
    """Rows that each say client (the per-connection path) give the run of close: client (the fast path)."""
    poisson = validate(POISSON, "<poisson>")
    rows = recorded_rows(poisson)
    plain = traced(POISSON, [("w", write_trace(tmp_path / "plain.csv", rows, close=False), "client")])
    sided = traced(POISSON, [("w", write_trace(tmp_path / "sided.csv", rows), "server")])
    assert sided.workloads[0].offered.facts.sides == ["client"]  # type: ignore[union-attr]
    assert_same_run(run(plain), run(sided))
    assert_same_run(run(plain), run(sided, fast=False))


def test_one_trace_with_mixed_sides_is_the_workloads_split_by_side(tmp_path: Path) -> None:
    """One trace whose rows close on client, server, reset and half sides, against one workload per side
    (with only its rows): every figure of the host is the same (attempt times are all distinct)."""
    poisson = validate(POISSON, "<poisson>")
    rows = recorded_rows(poisson)
    sides = np.random.default_rng(3).choice(CLOSES, size=len(rows)).tolist()
    mixed_rows = [(s, d, dst, side) for (s, d, dst, _), side in zip(rows, sides, strict=True)]
    mixed = traced(POISSON, [("w", write_trace(tmp_path / "mixed.csv", mixed_rows), "client")])
    split = traced(
        POISSON,
        [
            (side, write_trace(tmp_path / f"{side}.csv", [r for r in mixed_rows if r[3] == side], close=False), side)
            for side in CLOSES
        ],
    )
    one, several = run(mixed), run(split)
    assert one.summary.fin_wait2.peak > 0
    assert one.summary.time_wait.peak > 0
    assert_same_run(one, several)
    assert_same_run(one, run(mixed, fast=False))


def test_rows_outside_the_run_or_the_window_are_not_replayed(tmp_path: Path) -> None:
    rows = [(float(t), 0.5, "10.0.0.1:80", "client") for t in range(0, 100, 5)]  # 0, 5, ..., 95
    path = write_trace(tmp_path / "conns.csv", rows)
    scenario = traced(POISSON, [("w", path, "client")]).with_changes(duration=50.0, warmup=0.0)
    assert run(scenario).summary.attempts == 10  # 0 to 45; 50 and after are beyond the run
    window = scenario.with_changes({"workloads.w.start": 10.0, "workloads.w.stop": 30.0})
    assert run(window).summary.attempts == 4  # 10, 15, 20, 25
    faster = scenario.with_changes({"workloads.w.arrivals.speed": 2.0})
    assert run(faster).summary.attempts == 20  # every start halved: 0 to 47.5


def test_a_trace_changed_after_validation_is_refused_at_run_time(tmp_path: Path) -> None:
    rows = [(float(t), 0.5, "10.0.0.1:80", "client") for t in range(10)]
    path = write_trace(tmp_path / "conns.csv", rows)
    scenario = traced(POISSON, [("w", path, "client")])
    write_trace(path, [*rows, (20.0, 1.0, "10.0.0.1:80", "client")])
    with pytest.raises(ScenarioError, match=r"conns\.csv: the trace changed since the scenario was checked"):
        PortModel(scenario)
    path.unlink()
    with pytest.raises(ScenarioError) as info:
        PortModel(scenario)
    assert str(info.value).startswith(f"workloads.w.arrivals.file: {path}: cannot read the trace: No such file")


def test_replay_memory_stays_flat(tmp_path: Path) -> None:
    """A trace five times longer replays in the same memory: rows are streamed, never loaded (the shorter
    trace is already several chunks long)."""
    peaks = []
    for n in (30_000, 150_000):
        path = tmp_path / f"t{n}.csv"
        with path.open("w") as fh:
            fh.write("start,duration,destination,close\n")
            fh.writelines(f"{s!r},0.5,10.0.0.2:443,server\n" for s in (np.arange(n) * 0.01).tolist())
        spec = traced(POISSON, [("w", path, "client")]).workloads[0].arrivals
        assert isinstance(spec, Trace)
        sides: dict[int, int] = {}
        replay = Replay(spec, {"10.0.0.2:443": 1}, CLOSE_CODES["client"], sides, sides.__len__)
        destinations, durations = replay.destinations(), replay.durations()
        tracemalloc.start()
        count = 0
        for _ in replay.times(0.0, 1e9):
            assert next(destinations) == 1
            assert next(durations) == 0.5
            sides.clear()  # as the lifecycle does when the connection closes
            count += 1
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert count == n
        assert replay.close == CLOSE_CODES["server"]
    assert peaks[1] < 1.2 * peaks[0] + 65536, peaks
    assert peaks[1] < 4 << 20  # two chunks of the file and their lines
