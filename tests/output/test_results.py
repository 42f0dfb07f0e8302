"""Results folders: contents, round trip, and atomic replacement."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.config.scenario import Scenario
from sim.model.recorder import SERIES
from sim.output import plots
from sim.output.folders import ResultsError, staged_folder
from sim.output.results import load_result


@pytest.fixture
def result(make_scenario: Callable[..., Scenario]) -> sim.RunResult:
    return sim.run(make_scenario(workload={"arrivals": {"kind": "poisson", "rate": 8.0}}))


def test_folder_holds_everything_named_in_the_readme(result: sim.RunResult, tmp_path: Path) -> None:
    out = result.save(tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == [
        "histograms.json",
        "plots",
        "port_map.npz",
        "scenario.yaml",
        "summary.json",
        "timeseries.csv",
    ]
    every_run = [*plots.PLOTS, "port_map"]  # the port map's still: in every run's plots
    assert sorted(p.name for p in (out / "plots").iterdir()) == sorted(f"{name}.png" for name in every_run)
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "attempts",
        "established",
        "failures",
        "blocking_probability",
        "first_failure_time_s",
        "ports_in_use",
        "time_wait",
        "probes",
        "reuse_interval_s",
        "destinations",
        "workloads",
        "erlang_b",
        "sim_time_s",
        "wall_time_s",
        "seed",
        "version",
    ):
        assert key in summary
    assert set(summary["probes"]) == {"mean", "p99", "max"}
    assert {"min", "p01", "median"} <= set(summary["reuse_interval_s"])
    assert {"offered_load", "ports", "blocking_probability"} <= set(summary["erlang_b"])
    with (out / "timeseries.csv").open() as fh:
        header = next(csv.reader(fh))
    assert header == list(SERIES)


def test_scenario_yaml_repeats_the_run_exactly(result: sim.RunResult, tmp_path: Path) -> None:
    out = result.save(tmp_path / "run", plots=False)
    again = sim.run(out / "scenario.yaml")
    assert again.scenario == result.scenario
    assert again.scenario.portsim_version == sim.__version__
    assert {k: v for k, v in again.summary.items() if k != "wall_time_s"} == {
        k: v for k, v in result.summary.items() if k != "wall_time_s"
    }


def test_load_result_round_trips(result: sim.RunResult, tmp_path: Path) -> None:
    out = result.save(tmp_path / "run", plots=False)
    loaded = load_result(out)
    assert loaded.summary["failures"] == result.summary["failures"]
    for column, values in result.series.items():
        np.testing.assert_allclose(loaded.series[column], values)
    np.testing.assert_array_equal(np.trim_zeros(loaded.probe_counts, "b"), np.trim_zeros(result.probe_counts, "b"))
    np.testing.assert_array_equal(loaded.reuse_counts, result.reuse_counts)
    loaded.plot_reuse_intervals()


def test_timeseries_is_a_dataframe_with_pandas(result: sim.RunResult) -> None:
    pd = pytest.importorskip("pandas")
    frame = result.timeseries
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns)[:3] == ["time_s", "established", "time_wait"]


def write_then_raise(target: Path, error: BaseException) -> None:
    with staged_folder(target) as tmp:
        (tmp / "summary.json").write_text("half")
        raise error


def write_complete(target: Path) -> None:
    with staged_folder(target) as tmp:
        (tmp / "summary.json").write_text("new")


def test_a_failed_write_keeps_the_old_folder(tmp_path: Path) -> None:
    target = tmp_path / "run"
    target.mkdir()
    (target / "summary.json").write_text("old")
    with pytest.raises(RuntimeError):
        write_then_raise(target, RuntimeError("disk full"))
    assert (target / "summary.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_an_interrupted_write_keeps_the_old_folder(tmp_path: Path) -> None:
    target = tmp_path / "run"
    target.mkdir()
    (target / "summary.json").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        write_then_raise(target, KeyboardInterrupt())
    assert (target / "summary.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_complete_write_replaces_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "run"
    target.mkdir()
    (target / "histograms.json").write_text("from an older run")
    write_complete(target)
    assert sorted(p.name for p in target.iterdir()) == ["summary.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_refuses_to_replace_a_file(tmp_path: Path) -> None:
    target = tmp_path / "run"
    target.write_text("not a folder")
    with pytest.raises(ResultsError, match="exists and is not a folder"):
        write_complete(target)
    assert target.read_text() == "not a folder"


def test_save_never_replaces_a_folder_with_other_files(result: sim.RunResult, tmp_path: Path) -> None:
    folder = tmp_path / "my-scenarios"
    folder.mkdir()
    (folder / "keep.yaml").write_text("mine")
    with pytest.raises(ResultsError, match=r"holds files portsim did not write \(keep\.yaml\)"):
        result.save(folder)
    assert (folder / "keep.yaml").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-scenarios"]


def test_a_results_folder_can_be_replaced_again_and_again(result: sim.RunResult, tmp_path: Path) -> None:
    out = tmp_path / "run"
    for _ in range(3):
        result.save(out, plots=False)
    assert (out / "summary.json").is_file()
    assert oct(out.stat().st_mode & 0o777) == oct(0o755)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_scenario_yaml_header_names_no_temporary_path(result: sim.RunResult, tmp_path: Path) -> None:
    text = (result.save(tmp_path / "run", plots=False) / "scenario.yaml").read_text()
    assert ".tmp-" not in text
    assert text.startswith("# Resolved scenario written by portsim")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda out: (out / "summary.json").write_text("{broken"), r"summary\.json: cannot read"),
        (lambda out: (out / "timeseries.csv").unlink(), r"timeseries\.csv: cannot read"),
        (lambda out: (out / "summary.json").unlink(), "not a portsim results folder"),
    ],
)
def test_damaged_folders_name_the_file(result: sim.RunResult, tmp_path: Path, damage: object, message: str) -> None:
    out = result.save(tmp_path / "run", plots=False)
    damage(out)  # type: ignore[operator]
    with pytest.raises(ResultsError, match=message):
        load_result(out)


def test_repr_is_short(result: sim.RunResult) -> None:
    text = repr(result)
    assert text.startswith("RunResult(scenario='tiny'")
    assert len(text) < 200
