"""``portsim run --port-map``: the GIF and its frames, the still in every run, redrawing, and bad values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from sim.cli.main import main
from sim.output import port_map_plot
from tests.conftest import BASE, merge

NOTE = f"portsim: note: {port_map_plot.MP4_MISSING}"


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    """tiny (16 ports, 20 s) at 8 connections a second toward two backends, so that it fails."""
    raw = merge(BASE, {})
    raw["workloads"][0]["arrivals"] = {"kind": "poisson", "rate": 16.0}
    raw["workloads"][0]["destinations"] = [{"address": "10.0.0.1", "port": 80}, {"address": "10.0.0.2", "port": 80}]
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def exit_status(args: list[str]) -> int | str | None:
    """What ``portsim ARGS`` exits with: main's status, or argparse's for a bad option value."""
    try:
        return main(args)
    except SystemExit as exc:
        return exc.code


@pytest.fixture
def no_ffmpeg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(port_map_plot, "ffmpeg", lambda: None)


@pytest.mark.usefixtures("no_ffmpeg")
def test_port_map_writes_the_gif_and_says_why_there_is_no_mp4(
    scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["run", str(scenario), "--out", str(out), "--quiet", "--port-map", "--port-map-fps", "4"]
    assert main([*args, "--port-map-seconds", "2.5", "--port-map-destination", "10.0.0.2:80"]) == 0
    assert capsys.readouterr().err.splitlines() == [NOTE]
    with Image.open(out / "plots" / "port_map.gif") as gif:
        assert gif.n_frames == 10
        assert gif.info["duration"] == 250
    assert not (out / "plots" / "port_map.mp4").exists()
    assert (out / "plots" / "port_map.png").stat().st_size > 10_000
    with np.load(out / "port_map.npz") as data:
        meta = json.loads(str(data["meta"]))
        assert data["frames"].shape == (10, 16)
        assert data["times"].tolist() == pytest.approx(np.linspace(0, 20, 10).tolist())
    assert (meta["destination"], meta["fps"]) == ("10.0.0.2:80", 4.0)
    summary = json.loads((out / "summary.json").read_text())
    assert meta["at_failure"]
    assert meta["still"]["time_s"] == summary["first_failure_time_s"]


def test_every_run_has_the_still_and_no_animation(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "--quiet"]) == 0
    assert (out / "plots" / "port_map.png").is_file()
    assert not (out / "plots" / "port_map.gif").exists()
    with np.load(out / "port_map.npz") as data:
        assert data["frames"].shape == (0, 16)
        assert data["still"].shape == (16,)


@pytest.mark.usefixtures("no_ffmpeg")
def test_plot_redraws_the_still_and_the_gif_from_the_folder(
    scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "--quiet", "--no-plots", "--port-map-fps", "2"]) == 0
    assert not (out / "plots").exists()  # recorded (a --port-map-* setting implies --port-map), not drawn
    capsys.readouterr()
    assert main(["plot", str(out)]) == 0
    captured = capsys.readouterr()
    assert {Path(line).name for line in captured.out.splitlines()} >= {"port_map.png", "port_map.gif"}
    assert captured.err.splitlines() == [NOTE]
    with Image.open(out / "plots" / "port_map.gif") as gif:
        assert gif.n_frames == 30  # 2 fps x the default 15 s


def test_too_many_frames_are_capped_with_a_warning(
    scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["run", str(scenario), "--out", str(out), "--quiet", "--no-plots"]
    assert main([*args, "--port-map", "--port-map-fps", "50", "--port-map-seconds", "30"]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "portsim: warning: --port-map: 1,500 frames asked (fps x seconds); 1,000 are kept, "
        "played at 33.3 frames per second"
    ]
    with np.load(out / "port_map.npz") as data:
        assert data["frames"].shape == (1000, 16)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--port-map-fps", "0"], "argument --port-map-fps: 0: must be above 0"),
        (["--port-map-fps", "-2"], "argument --port-map-fps: -2: must be above 0"),
        (["--port-map-fps", "60"], "argument --port-map-fps: 60: at most 50"),
        (["--port-map-fps", "ten"], "argument --port-map-fps: 'ten' is not a number"),
        (["--port-map-seconds", "0"], "argument --port-map-seconds: 0: must be above 0"),
        (["--port-map-seconds", "nan"], "argument --port-map-seconds: nan: must be a finite number above 0"),
        (["--port-map-seconds", "inf"], "argument --port-map-seconds: inf: must be a finite number above 0"),
        (["--port-map-source", "-1"], "argument --port-map-source: -1: must be 0"),
        (
            ["--port-map-destination", "10.0.0.9:80"],
            '--port-map-destination "10.0.0.9:80": not a destination of tiny (10.0.0.1:80, 10.0.0.2:80)',
        ),
        (["--port-map-source", "1"], "--port-map-source 1: tiny has 1 source address(es), numbered from 0"),
    ],
)
def test_bad_values_are_one_line_and_exit_2(
    options: list[str], message: str, scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert exit_status(["run", str(scenario), "--out", str(out), "--port-map", *options]) == 2
    err = capsys.readouterr().err
    assert err.startswith("portsim: error: ")
    assert message in err
    assert err.count("\n") == 1
    assert not out.exists()
