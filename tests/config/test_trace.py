"""Trace workloads in scenarios: files relative to the scenario, read once, checked, and never stale in a cache."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

import sim
from sim.config import trace as config_trace
from sim.config.errors import ScenarioError
from sim.config.load import load_scenario
from sim.config.scenario import Scenario, validate
from sim.core.arrivals import Trace
from sim.experiments.tasks import Task

ROWS = "".join(f"{t / 4},0.5,10.0.0.1:80\n" for t in range(40)) + "10.5,2,[2001:db8::1]:443\n"

SCENARIO = """\
name: replay
duration: 20
host: {port_range: [50000, 50007], time_wait: 2}
workloads:
  - name: w
    arrivals: {kind: trace, file: conns.csv}
    destinations:
      - {address: 10.0.0.1, port: 80}
      - {address: "2001:db8::1", port: 443}
"""


def trace_of(scenario: Scenario, i: int = 0) -> Trace:
    spec = scenario.workloads[i].arrivals
    assert isinstance(spec, Trace)
    return spec


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A scenario and its trace in a folder of their own."""
    here = tmp_path / "scenario"
    here.mkdir()
    (here / "conns.csv").write_text("start,duration,destination\n" + ROWS)
    (here / "s.yaml").write_text(SCENARIO)
    return here


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files read by validation, in order."""
    seen: list[str] = []
    scan = config_trace.scan

    def counted(path: str) -> Any:
        seen.append(path)
        return scan(path)

    monkeypatch.setattr(config_trace, "scan", counted)
    return seen


def test_a_relative_file_is_relative_to_the_scenario_and_stored_absolute(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    scenario = load_scenario(folder / "s.yaml")
    spec = trace_of(scenario)
    assert spec.file == str(folder / "conns.csv")
    assert spec.facts.rows == 41
    assert spec.facts.destinations == ["10.0.0.1:80", "[2001:db8::1]:443"]
    assert spec.mean_rate == 41 / 10.5
    assert scenario.workloads[0].holding.expected == pytest.approx((40 * 0.5 + 2) / 41)
    assert scenario.workloads[0].duration is None


def test_the_file_is_read_once_and_again_only_when_it_changes(folder: Path, scans: list[str]) -> None:
    scenario = load_scenario(folder / "s.yaml")
    assert len(scans) == 1
    scenario.with_changes({"host.time_wait": 3.0}).with_changes(seed=4)
    again = yaml.safe_load(scenario.to_yaml())
    assert validate(again, "<results>") == scenario  # a results folder's scenario.yaml, read back
    assert len(scans) == 1
    (folder / "conns.csv").write_text("start,duration,destination\n" + ROWS + "12,1,10.0.0.1:80\n")
    changed = scenario.with_changes(seed=4)
    assert len(scans) == 2
    assert trace_of(changed).facts.rows == 42


def test_another_file_of_the_same_size_and_time_is_read_too(folder: Path, scans: list[str]) -> None:
    scenario = load_scenario(folder / "s.yaml")
    twin = folder / "twin.csv"
    twin.write_text("start,duration,destination\n" + ROWS.replace("0.5,", "0.7,"))
    info = (folder / "conns.csv").stat()
    os.utime(twin, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert twin.stat().st_size == info.st_size
    other = scenario.with_changes({"workloads.w.arrivals.file": str(twin)})
    assert scans == [str(folder / "conns.csv"), str(twin)]
    assert trace_of(other).facts.sha256 != trace_of(scenario).facts.sha256
    assert trace_of(other).facts.file == str(twin)


def test_a_changed_file_gets_a_new_cache_key(folder: Path) -> None:
    scenario = load_scenario(folder / "s.yaml")
    key = Task(scenario).key
    assert Task(scenario.with_changes(seed=scenario.seed)).key == key
    (folder / "conns.csv").write_text("start,duration,destination\n" + ROWS.replace("0.5,10.0.0.1", "0.6,10.0.0.1"))
    assert Task(load_scenario(folder / "s.yaml")).key != key


def test_a_sweep_cache_is_not_reused_for_a_changed_file(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    over = {"host.time_wait": [1.0, 2.0]}
    first = sim.sweep(load_scenario(folder / "s.yaml"), over, workers=1, cache=cache)
    assert len(list(cache.glob("*.json"))) == 2
    sim.sweep(load_scenario(folder / "s.yaml"), over, workers=1, cache=cache)
    assert len(list(cache.glob("*.json"))) == 2  # unchanged: reused
    (folder / "conns.csv").write_text("start,duration,destination\n" + ROWS.replace(",0.5,", ",5,"))
    second = sim.sweep(load_scenario(folder / "s.yaml"), over, workers=1, cache=cache)
    assert len(list(cache.glob("*.json"))) == 4
    assert list(second["failures"]) != list(first["failures"])


def test_variants_and_sweeps_name_files_relative_to_the_scenario(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / "other.csv").write_text("start,duration,destination\n1,1,10.0.0.1:80\n")
    (folder / "s.yaml").write_text(
        SCENARIO
        + "variants:\n  - {name: other, set: {workloads.w.arrivals.file: other.csv}}\n"
        + "  - {name: whole, set: {workloads.w.arrivals: {kind: trace, file: other.csv}}}\n"
        + "sweep:\n  workloads.w.arrivals.file: [conns.csv, other.csv]\n"
    )
    monkeypatch.chdir(tmp_path)
    scenario = load_scenario(folder / "s.yaml")
    for name in ("other", "whole"):
        assert trace_of(scenario.variant(name)).file == str(folder / "other.csv")
    assert scenario.sweep is not None
    assert scenario.sweep["workloads.w.arrivals.file"] == [str(folder / "conns.csv"), str(folder / "other.csv")]


def test_set_on_the_command_line_is_relative_to_the_current_folder(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "here.csv").write_text("start,duration,destination\n1,1,10.0.0.1:80\n")
    monkeypatch.chdir(tmp_path)
    scenario = load_scenario(folder / "s.yaml", ["workloads.w.arrivals.file=here.csv"])
    assert trace_of(scenario).file == str(tmp_path / "here.csv")


def test_a_results_scenario_stays_loadable_when_the_trace_is_gone(folder: Path, tmp_path: Path) -> None:
    """Its figures can still be read and plotted; running it again says the trace is missing."""
    scenario = load_scenario(folder / "s.yaml")
    saved = tmp_path / "scenario.yaml"
    saved.write_text(scenario.to_yaml())
    (folder / "conns.csv").unlink()
    assert load_scenario(saved) == scenario
    with pytest.raises(ScenarioError, match=r"conns\.csv: cannot read the trace: No such file"):
        sim.simulate(load_scenario(saved))
    with pytest.raises(ScenarioError, match=r"s\.yaml:6: workloads\[0\]\.arrivals\.file: .*conns\.csv: no such file"):
        load_scenario(folder / "s.yaml")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("    duration: {kind: fixed, value: 1}\n", r":7: workloads\[0\]\.duration: a trace gives each connection's"),
        ("    retry: {max: 2}\n", r":7: workloads\[0\]\.retry: a trace records the connections that happened, retries"),
    ],
)
def test_keys_that_do_not_go_with_a_trace(change: str, message: str, folder: Path) -> None:
    lines = SCENARIO.splitlines(keepends=True)
    (folder / "s.yaml").write_text("".join([*lines[:6], change, *lines[6:]]))
    with pytest.raises(ScenarioError, match=message):
        load_scenario(folder / "s.yaml")


def test_a_trace_cannot_give_requests(folder: Path) -> None:
    text = SCENARIO.replace(
        "    arrivals: {kind: trace, file: conns.csv}\n",
        "    requests:\n      arrivals: {kind: trace, file: conns.csv}\n      latency: {kind: fixed, value: 0.1}\n",
    )
    (folder / "s.yaml").write_text(text)
    with pytest.raises(ScenarioError, match=r"workloads\[0\]\.requests\.arrivals\.kind: a trace replays connections"):
        load_scenario(folder / "s.yaml")


def test_every_destination_of_the_trace_must_be_listed(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(folder)
    with pytest.raises(
        ScenarioError,
        match=r"^s\.yaml:6: workloads\[0\]\.arrivals\.file: conns\.csv:42: destination \[2001:db8::1\]:443 is not "
        r"one of the workload's destinations \(10\.0\.0\.1:80\)$",
    ):
        load_scenario("s.yaml", ["workloads.w.destinations=[{address: 10.0.0.1, port: 80}]"])
    scenario = load_scenario("s.yaml")
    with pytest.raises(ScenarioError, match=r"conns\.csv:2: destination 10\.0\.0\.1:80 is not one of"):
        scenario.with_changes({"workloads.w.destinations": [{"address": "10.0.0.2", "port": 80}]})
