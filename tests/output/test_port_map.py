"""port_map.npz: written with every run's results, read back equal, and refused in one line when damaged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.config.scenario import Scenario
from sim.output import plots
from sim.output.folders import ResultsError
from sim.output.port_map import FILE, load_port_map, write_port_map
from tests.conftest import assert_same_port_map


@pytest.fixture
def recorded(make_scenario: Callable[..., Scenario]) -> sim.RunResult:
    scenario = make_scenario(workload={"arrivals": {"kind": "poisson", "rate": 10.0}})
    return sim.run(scenario, port_map=sim.PortMapSpec(fps=4, seconds=3))


def test_the_port_map_is_read_back_as_written(recorded: sim.RunResult, tmp_path: Path) -> None:
    port_map = recorded.port_map_data
    assert port_map is not None
    assert port_map.animated
    assert port_map.at_failure
    written = write_port_map(port_map, tmp_path)
    assert written == tmp_path / FILE
    loaded = load_port_map(tmp_path)
    assert loaded is not None
    assert_same_port_map(port_map, loaded)


def test_a_saved_result_carries_its_port_map(recorded: sim.RunResult, tmp_path: Path) -> None:
    out = recorded.save(tmp_path / "run", plots=False)
    loaded = sim.load_result(out)
    assert loaded.port_map_data is not None
    assert recorded.port_map_data is not None
    assert_same_port_map(recorded.port_map_data, loaded.port_map_data)
    assert (out / FILE).stat().st_size < 20_000  # 12 frames of 16 ports and a still, compressed


def test_a_folder_without_the_file_has_no_port_map(recorded: sim.RunResult, tmp_path: Path) -> None:
    """Results folders written before the port map existed still load; they simply have no still to draw."""
    out = recorded.save(tmp_path / "run", plots=False)
    (out / FILE).unlink()
    loaded = sim.load_result(out)
    assert loaded.port_map_data is None
    assert "port_map" not in plots.plots_for(loaded)
    assert "port_map" in plots.plots_for(recorded)


@pytest.mark.parametrize("damage", ["not a zip", "truncated", "missing array"])
def test_a_damaged_file_is_one_line_naming_it(damage: str, recorded: sim.RunResult, tmp_path: Path) -> None:
    out = recorded.save(tmp_path / "run", plots=False)
    path = out / FILE
    if damage == "not a zip":
        path.write_text("hello")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    else:
        with np.load(path) as data:
            kept = {k: data[k] for k in data.files if k != "frames"}
        with path.open("wb") as fh:
            np.savez(fh, **kept)
    with pytest.raises(ResultsError) as caught:
        sim.load_result(out)
    message = str(caught.value)
    assert message.startswith(f"{path}: cannot read this results file: not a port map")
    assert "\n" not in message
