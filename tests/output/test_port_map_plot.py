"""The port map drawn: cells in port order, the still at the first failure, the GIF frame by frame."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

import sim
from sim.config.scenario import Scenario
from sim.core.pool import BOUND, ESTABLISHED, FIN_WAIT2, RESERVED, TIME_WAIT
from sim.model.portmap import OTHER
from sim.output import port_map_plot
from sim.output.port_map_plot import (
    BOUND_CELL,
    CATEGORIES,
    COLOURS,
    ESTABLISHED_CELL,
    FIN_WAIT2_CELL,
    FREE,
    OTHER_CELL,
    OUTSIDE,
    RESERVED_CELL,
    TIME_WAIT_CELL,
    cells,
    columns,
    frame_layout,
    grid,
)

FRAMES = 9


@pytest.fixture
def recorded(make_scenario: Callable[..., Scenario]) -> sim.RunResult:
    """16 ports, 6 connections a second each held about 3 s (1 s ESTABLISHED, 2 s TIME_WAIT): the pool fills."""
    scenario = make_scenario(workload={"arrivals": {"kind": "poisson", "rate": 6.0}})
    return sim.run(scenario, port_map=sim.PortMapSpec(fps=3, seconds=FRAMES / 3))


def test_each_flag_byte_has_one_state() -> None:
    states = cells(
        np.array(
            [0, ESTABLISHED, TIME_WAIT, FIN_WAIT2, BOUND, RESERVED, OTHER, ESTABLISHED | BOUND, TIME_WAIT | BOUND],
            dtype=np.uint8,
        )
    )
    assert states.tolist() == [
        FREE,
        ESTABLISHED_CELL,
        TIME_WAIT_CELL,
        FIN_WAIT2_CELL,
        BOUND_CELL,
        RESERVED_CELL,
        OTHER_CELL,
        ESTABLISHED_CELL,  # a bound connection toward this destination shows its own state
        TIME_WAIT_CELL,
    ]
    assert len(CATEGORIES) == OUTSIDE == len(COLOURS) - 1
    assert len(set(COLOURS)) == len(COLOURS)


@pytest.mark.parametrize(
    ("size", "width"), [(1, 1), (16, 4), (17, 8), (4096, 64), (16384, 128), (16385, 256), (28232, 256), (65535, 256)]
)
def test_grid_widths(size: int, width: int) -> None:
    assert columns(size) == width
    wrapped = grid(np.zeros(size, dtype=np.uint8), width)
    assert wrapped.shape == (-(-size // width), width)
    assert (wrapped == OUTSIDE).sum() == wrapped.size - size  # only the tail of the last row is outside the range


def test_ports_run_row_by_row_from_the_low_end() -> None:
    states = np.arange(10, dtype=np.uint8) % 7
    wrapped = grid(states, 4)
    assert wrapped.tolist() == [[0, 1, 2, 3], [4, 5, 6, 0], [1, 2, OUTSIDE, OUTSIDE]]


def test_the_still_names_the_moment_and_counts_the_states(recorded: sim.RunResult) -> None:
    port_map = recorded.port_map_data
    assert port_map is not None
    assert port_map.at_failure
    fig = recorded.plot_port_map()
    texts = [t.get_text() for t in fig.texts]
    assert fig.get_suptitle() == "Port map: tiny"
    failure = recorded.summary.first_failure_time_s
    assert failure is not None
    assert f"the first connect() (or bind()) failure, at {failure:,.2f} s" in texts
    assert any(t.endswith(", 1 failure since the start") for t in texts)
    assert any("ports 50000-50015 toward 10.0.0.1:80 from source address 0" in t for t in texts)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "free: 0" in labels  # a full pool: the failing connect() found nothing
    counts = np.bincount(cells(port_map.still.flags), minlength=OUTSIDE)
    assert f"ESTABLISHED: {counts[ESTABLISHED_CELL]}" in labels
    assert f"TIME_WAIT: {counts[TIME_WAIT_CELL]}" in labels
    assert counts[ESTABLISHED_CELL] + counts[TIME_WAIT_CELL] == 16
    ax = fig.axes[0]
    assert ax.get_ylabel() == "first port of the row"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["50000", "50004", "50008", "50012"]
    np.testing.assert_array_equal(ax.images[0].get_array(), grid(cells(port_map.still.flags), 4))


def test_a_run_without_failures_says_so(make_scenario: Callable[..., Scenario]) -> None:
    quiet = sim.run(make_scenario(workload={"arrivals": {"kind": "poisson", "rate": 0.5}}))
    assert quiet.summary.failures == 0
    texts = [t.get_text() for t in quiet.plot_port_map().texts]
    assert "the end of the run, at 20.00 s: no connect() failed" in texts


def frame_states(image: Image.Image, width: int, rows: int) -> np.ndarray:
    """The cell states of one GIF frame, read back from the colour at the centre of each cell."""
    rgb = np.asarray(image.convert("RGB"))
    left, top, cell = frame_layout(width)
    palette = {tuple(round(255 * v) for v in to_rgb(c)): i for i, c in enumerate(COLOURS)}
    states = np.zeros((rows, width), dtype=np.uint8)
    for r in range(rows):
        for c in range(width):
            pixel = tuple(int(v) for v in rgb[top + r * cell + cell // 2, left + c * cell + cell // 2])
            states[r, c] = palette[pixel]
    return states


def test_the_gif_holds_every_frame_as_recorded(
    recorded: sim.RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(port_map_plot, "ffmpeg", lambda: None)
    written = port_map_plot.save_animation(recorded, tmp_path)
    assert written == [tmp_path / "port_map.gif"]
    port_map = recorded.port_map_data
    assert port_map is not None
    with Image.open(written[0]) as gif:
        assert gif.n_frames == FRAMES
        assert gif.info["duration"] == pytest.approx(1000 / 3, abs=10)
        seen = set()
        for k in range(FRAMES):
            gif.seek(k)
            states = frame_states(gif, 4, 4)
            np.testing.assert_array_equal(states, grid(cells(port_map.frames[k]), 4), err_msg=f"frame {k}")
            seen |= set(states.ravel().tolist())
            assert np.asarray(gif.convert("L")).std() > 10  # text and cells, not a blank frame
    assert {FREE, ESTABLISHED_CELL, TIME_WAIT_CELL} <= seen
    assert port_map.frames[0].tolist() == [0] * 16  # nothing before the first arrival


def test_the_mp4_is_written_where_ffmpeg_is_found(recorded: sim.RunResult, tmp_path: Path) -> None:
    if port_map_plot.ffmpeg() is None:
        pytest.skip("no ffmpeg binary here (pip install 'portsim[video]' provides one)")
    written = port_map_plot.save_animation(recorded, tmp_path)
    assert [p.name for p in written] == ["port_map.gif", "port_map.mp4"]
    head = written[1].read_bytes()[:12]
    assert head[4:8] == b"ftyp"  # an MP4 container
    assert written[1].stat().st_size > 5_000


def test_port_map_shows_the_gif_in_jupyter(recorded: sim.RunResult) -> None:
    shown = recorded.port_map()
    html = shown._repr_html_()
    prefix = '<img src="data:image/gif;base64,'
    assert html.startswith(prefix)
    data = base64.b64decode(html[len(prefix) : html.index('"', len(prefix))])
    assert data == shown.gif
    with Image.open(io.BytesIO(data)) as gif:
        assert gif.n_frames == FRAMES
    assert f"{FRAMES} frames" in repr(shown)


def test_port_map_needs_recorded_frames(make_scenario: Callable[..., Scenario]) -> None:
    plain = sim.run(make_scenario())
    assert plain.port_map_data is not None
    assert not plain.port_map_data.animated
    with pytest.raises(ValueError, match=r"sim.run\(scenario, port_map=True\)"):
        plain.port_map()
