"""A sweep's files: written, read back, and drawn for one, two and three dimensions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from matplotlib.figure import Figure

from sim.config.scenario import Scenario
from sim.experiments.sweep import sweep
from sim.output.folders import ResultsError
from sim.output.sweep import load_sweep, load_sweep_points, write_sweep
from sim.output.sweep_plot import axis_label, sweep_figure


@pytest.fixture
def written(make_scenario: Callable[..., Scenario], tmp_path: Path) -> tuple[Any, Path]:
    base = make_scenario(duration=20.0, replications=2, sweep={"workloads.w.arrivals.rate": [2.0, 6.0]})
    frame = sweep(base, {"host.time_wait": [1.0, 2.0]}, workers=1)
    failed: list[str] = []
    write_sweep(frame, base, list(frame.attrs["keys"]), tmp_path, True, failed)
    assert failed == []
    return frame, tmp_path


def test_files_are_written_and_read_back(written: tuple[Any, Path]) -> None:
    frame, folder = written
    assert {p.name for p in folder.iterdir()} == {"sweep.yaml", "sweep.csv", "sweep.json", "sweep.png"}
    again = load_sweep(folder)
    assert again.attrs["keys"] == ["workloads.w.arrivals.rate", "host.time_wait"]
    assert again["blocking_probability"].tolist() == pytest.approx(frame["blocking_probability"].tolist(), nan_ok=True)
    data = load_sweep_points(folder)
    assert len(data["points"]) == 4
    assert data["confidence_level"] == 0.95
    json.dumps(data, allow_nan=False)  # NaN written as null
    assert (folder / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_yaml_repeats_the_sweep(written: tuple[Any, Path]) -> None:
    from sim.config.load import load_scenario

    _, folder = written
    again = load_scenario(folder / "sweep.yaml")
    assert again.sweep is not None
    assert list(again.sweep) == ["workloads.w.arrivals.rate"]


def test_not_a_sweep_folder(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="not a sweep"):
        load_sweep(tmp_path)


def _data(keys: list[str], values: list[dict[str, Any]], variants: bool = False) -> dict[str, Any]:
    points = []
    for i, v in enumerate(values):
        b = 0.01 * (i + 1)
        points.append(
            {
                "point": i,
                "values": v,
                "replications": 3,
                "mean": {"blocking_probability": b, "erlang_b": b * 1.1 if i % 2 else None},
                "ci95": {"blocking_probability": [b * 0.9, b * 1.1] if i % 3 else None},
            }
        )
    return {"scenario": "s", "seed": 1, "keys": keys, "variants": variants, "points": points}


def test_three_dimensions_draw_lines_and_panels() -> None:
    values = [{"a": x, "b": y, "c": z} for z in (1, 2, 3, 4) for y in ("p", "q") for x in (10, 20, 30)]
    fig = sweep_figure(_data(["a", "b", "c"], values))
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4
    assert all(len(ax.get_lines()) >= 2 for ax in fig.axes)


def test_a_categorical_axis_and_variants() -> None:
    values = [{"host.preset": p, "variant": v} for v in ("x", "y") for p in ("linux", "freebsd", "windows")]
    fig = sweep_figure(_data(["host.preset"], values, variants=True))
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["linux", "freebsd", "windows"]
    assert fig.legends
    assert fig.legends[0].get_title().get_text() == "variant"


@pytest.mark.parametrize(("xs", "whole"), [((1, 2, 3), True), ((0.5, 1.0, 2.5), False)])
def test_a_count_axis_gets_whole_ticks(xs: tuple[float, ...], whole: bool) -> None:
    fig = sweep_figure(_data(["hosts.hot.count"], [{"hosts.hot.count": x} for x in xs]))
    fig.canvas.draw()
    ticks = [t for t in fig.axes[0].get_xticks() if xs[0] <= t <= xs[-1]]
    assert all(t == int(t) for t in ticks) is whole


def test_units_in_axis_labels() -> None:
    assert axis_label("workloads.api.arrivals.rate") == "workloads.api.arrivals.rate (connections/s)"
    assert axis_label("workloads.api.requests.arrivals.rate") == "workloads.api.requests.arrivals.rate (requests/s)"
    assert axis_label("host.time_wait") == "host.time_wait (s)"
    assert axis_label("host.source_addresses") == "host.source_addresses"
