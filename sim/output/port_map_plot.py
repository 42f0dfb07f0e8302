"""The port map drawn: every port of the range as a cell, coloured by its state toward one destination.

Ports run from the low end of the range, left to right and top to bottom: 128 columns for up to
16,384 ports (a 128 x 128 grid for the IANA range), 256 for more, fewer for small ranges. A cell is
free, ESTABLISHED, TIME_WAIT, FIN_WAIT2, bound (owned by a bind()-before-connect socket toward another
destination), reserved, or in use only toward other destinations (free for this one: 4-tuple
sharing). A TIME_WAIT that tcp_tw_reuse has made takeable shows as free, as connect() sees it.

``still`` draws the snapshot taken at the first failure (``plots/port_map.png``); ``save_animation``
writes the recorded frames as ``plots/port_map.gif`` with matplotlib's PillowWriter, and as
``plots/port_map.mp4`` with its FFMpegWriter where an ffmpeg binary is found (on the PATH, or the one
the ``imageio-ffmpeg`` package ships). Everything is read from the run's report (``port_map.npz``).
"""

from __future__ import annotations

import base64
import importlib
import math
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
from matplotlib.animation import FFMpegWriter, PillowWriter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap, to_rgb, to_rgba
from matplotlib.patches import Patch
from PIL import Image

from ..core.pool import BOUND, ESTABLISHED, FIN_WAIT2, RESERVED, TIME_WAIT
from ..model.portmap import OTHER, PortMap
from .figure import DPI, PlotFigure

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    from ..report.run import RunReport

MAX_STILL_PORTS = 65536
"""The still is drawn for ranges up to this many ports (every range of 1-65535 is)."""
CATEGORIES = (
    ("free", "#e8edf1"),
    ("ESTABLISHED", "#2b7bba"),
    ("TIME_WAIT", "#f0a030"),
    ("FIN_WAIT2", "#8e44ad"),
    ("bound (bind() toward another destination)", "#c0392b"),
    ("reserved", "#333333"),
    ("in use toward other destinations only", "#a6d96a"),
)
"""Cell states, in the order of their codes, with their colours."""
FREE, ESTABLISHED_CELL, TIME_WAIT_CELL, FIN_WAIT2_CELL, BOUND_CELL, RESERVED_CELL, OTHER_CELL = range(7)
ALWAYS_SHOWN = (FREE, ESTABLISHED_CELL, TIME_WAIT_CELL)
"""States listed in the legend even when no port is in them."""
OUTSIDE = len(CATEGORIES)
"""Cells past the end of the range (the last row's tail)."""
COLOURS = (*(colour for _, colour in CATEGORIES), "#ffffff")
"""Colour of each cell state, OUTSIDE last."""
ANIMATION_DPI = 100
"""Pixels per inch of the animation's frames, and of the layout's whole pixels."""
MAP_PIXELS = 512
"""Width of the map in pixels at ANIMATION_DPI: 4 per cell for 128 columns, 2 for 256."""
MARGINS = (90, 30, 150, 90)
"""Pixels around the map at ANIMATION_DPI: left, right, top (titles), bottom (axis label, legend) at least."""
LEGEND_ROW = 15
"""Pixels per row of the legend (two entries a row), below the axis label."""
FILES = ("port_map.gif", "port_map.mp4")
"""What ``save_animation`` may write in plots/."""


def _lookup() -> np.ndarray:
    """The cell state of every possible flag byte: the 4-tuple's own state first, then why it is unusable."""
    table = np.zeros(256, dtype=np.uint8)
    for byte in range(256):
        if byte & RESERVED:
            table[byte] = RESERVED_CELL
        elif byte & FIN_WAIT2:
            table[byte] = FIN_WAIT2_CELL
        elif byte & TIME_WAIT:
            table[byte] = TIME_WAIT_CELL
        elif byte & ESTABLISHED:
            table[byte] = ESTABLISHED_CELL
        elif byte & BOUND:
            table[byte] = BOUND_CELL
        elif byte & OTHER:
            table[byte] = OTHER_CELL
    table.setflags(write=False)
    return table


LOOKUP = _lookup()


def cells(flags: np.ndarray) -> np.ndarray:
    """The cell state (an index of CATEGORIES) of each port from its snapshot byte."""
    return np.asarray(LOOKUP[flags], dtype=np.uint8)


def columns(size: int) -> int:
    """Cells per row: the smallest power of two at least the square root of ``size`` (128 for 16,384 ports)."""
    return 1 << max(0, math.ceil(math.log2(math.sqrt(size)))) if size > 1 else 1


def grid(states: np.ndarray, width: int) -> np.ndarray:
    """``states`` wrapped into rows of ``width`` cells; the tail of the last row is OUTSIDE."""
    rows = -(-states.size // width)
    out = np.full(rows * width, OUTSIDE, dtype=np.uint8)
    out[: states.size] = states
    return out.reshape(rows, width)


def has_still(result: RunReport) -> bool:
    """Whether ``result`` holds a still to draw (every run does, unless read from an older results folder)."""
    return result.port_map_data is not None and result.port_map_data.size <= MAX_STILL_PORTS


def has_frames(result: RunReport) -> bool:
    """Whether ``result`` holds recorded frames (``portsim run --port-map``, ``sim.run(..., port_map=True)``)."""
    return result.port_map_data is not None and result.port_map_data.animated


def _port_map(result: RunReport) -> PortMap:
    if result.port_map_data is None:
        raise ValueError("this result has no port map (a results folder written before port_map.npz existed)")
    return result.port_map_data


def _about(result: RunReport, source: int, destination: str) -> str:
    scenario = result.scenario
    host = scenario.fleet_host
    reps = result.summary.replications
    text = (
        f"{host.preset} preset, policy {host.policy_name}, TIME_WAIT {host.time_wait:g} s, seed {result.scenario.seed}"
    )
    if reps:
        text += f", replication 0 of {reps}"
    origin = f"source address {source}"
    group = next((g for g in scenario.fleet if source in g.sources), None)
    if scenario.fleet_hosts > 1 and group is not None:
        k = group.host.source_addresses
        origin = f"host {(source - group.first_source) // k + 1} of group {group.name}"
        origin += f", address {(source - group.first_source) % k}" if k > 1 else ""
    return f"ports {host.low}-{host.high} toward {destination} from {origin}\n{text}"


def _counts(attempts: int, failures: int) -> str:
    return f"{attempts:,} attempts, {failures:,} failure{'' if failures == 1 else 's'} since the start"


def _clock(interval: float) -> Callable[[float], str]:
    """Seconds with enough decimals to tell frames ``interval`` apart."""
    decimals = max(0, min(6, math.ceil(-math.log10(interval)) + 1)) if interval > 0 else 2
    return lambda t: f"{t:,.{decimals}f} s"


def frame_layout(width: int) -> tuple[int, int, int]:
    """Where an animation frame's map lies, in pixels: (left edge, top edge, cell side) for ``width`` columns."""
    return MARGINS[0], MARGINS[2], max(1, MAP_PIXELS // width)


class _Map:
    """A figure with the map, a headline, a line of counts per state and a legend.

    Laid out in whole pixels at ANIMATION_DPI, each cell a square of whole pixels, so that an animation
    frame is drawn by pasting the cells' colours into the canvas and redrawing only the text that changes.
    """

    def __init__(self, result: RunReport, states: np.ndarray, dpi: float, shown: set[int], labels: list[str]) -> None:
        port_map = _port_map(result)
        rows, width = states.shape
        left, top, self.cell = frame_layout(width)
        map_w, map_h = self.cell * width, self.cell * rows
        shown_states = [i for i in range(len(CATEGORIES)) if i in ALWAYS_SHOWN or i in shown]
        legend_rows = -(-len(shown_states) // 2)
        fig_w, fig_h = left + map_w + MARGINS[1], top + map_h + max(MARGINS[3], 50 + LEGEND_ROW * legend_rows)
        fig_w, fig_h = fig_w + fig_w % 2, fig_h + fig_h % 2  # even: video writers take the frames as they are
        scale = ANIMATION_DPI
        fig = PlotFigure(figsize=(fig_w / scale, fig_h / scale), dpi=dpi)
        self.box = (left, top, map_w, map_h)
        """The map in pixels at ANIMATION_DPI: left edge, top edge (from the top), width, height."""
        bottom = fig_h - top - map_h
        self.ax = ax = fig.add_axes((left / fig_w, bottom / fig_h, map_w / fig_w, map_h / fig_h))
        ax.imshow(
            states,
            cmap=ListedColormap(list(COLOURS)),
            vmin=-0.5,
            vmax=OUTSIDE + 0.5,
            interpolation="nearest",
            aspect="auto",
        )
        yticks = list(range(0, rows, max(1, rows // 4)))
        ax.set_yticks(yticks, [f"{port_map.low + r * width}" for r in yticks], fontsize=8)
        xticks = list(range(0, width, max(1, width // 4)))
        ax.set_xticks(xticks, [str(x) for x in xticks], fontsize=8)
        ax.set_ylabel("first port of the row")
        ax.set_xlabel("port - first port of its row (offset)")
        fig.legend(
            [Patch(facecolor=CATEGORIES[i][1], edgecolor="#999999", lw=0.5) for i in shown_states],
            [labels[i] for i in shown_states],
            loc="lower center",
            ncol=2,
            fontsize=8,
            frameon=False,
            bbox_to_anchor=(0.5, 0.0),
        )
        fig.suptitle(f"Port map: {result.scenario.name}", fontsize=12, fontweight="bold", y=1 - 12 / fig_h)
        self.headline: Text = fig.text(0.5, 1 - 44 / fig_h, "", ha="center", va="top", fontsize=10)
        self.counts: Text = fig.text(0.5, 1 - 66 / fig_h, "", ha="center", va="top", fontsize=8)
        self.about: Text = fig.text(
            0.5,
            1 - 88 / fig_h,
            _about(result, port_map.source, port_map.destination),
            ha="center",
            va="top",
            fontsize=8,
            color="#555555",
        )
        self.fig: Figure = fig
        self._canvas: Any = None
        """The Agg canvas frames are drawn on (matplotlib leaves its blitting methods untyped)."""
        self._background: Any = None
        self._colours = np.array([[round(255 * v) for v in to_rgba(c)] for c in COLOURS], dtype=np.uint8)

    def frame(self, states: np.ndarray, headline: str, counts: str) -> None:
        """Draw one frame on the figure's Agg canvas: paste the cells, redraw the two lines of text."""
        canvas = self._canvas
        if canvas is None:
            canvas = self._canvas = _agg(self.fig)
            for text in (self.headline, self.counts):
                text.set_animated(True)
            canvas.draw()  # everything that never changes, once
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        canvas.restore_region(self._background)
        left, top, width, height = self.box
        pixels = self._colours[states].repeat(self.cell, axis=0).repeat(self.cell, axis=1)
        np.asarray(canvas.buffer_rgba())[top : top + height, left : left + width] = pixels
        for spine in self.ax.spines.values():
            self.ax.draw_artist(spine)
        self.headline.set_text(headline)
        self.counts.set_text(counts)
        self.fig.draw_artist(self.headline)
        self.fig.draw_artist(self.counts)


def _agg(fig: Figure) -> Any:
    """An Agg canvas for ``fig`` (typed loosely: matplotlib leaves its blitting methods untyped)."""
    return FigureCanvasAgg(fig)


def _tally(states: np.ndarray, shown: set[int]) -> str:
    """Ports in each state, for the line under the headline."""
    counts = np.bincount(states.ravel(), minlength=OUTSIDE + 1)
    return "   ".join(
        f"{CATEGORIES[i][0].split(' (')[0]} {counts[i]:,}"
        for i in range(len(CATEGORIES))
        if i in ALWAYS_SHOWN or i in shown
    )


def _shown(flags: np.ndarray) -> set[int]:
    return {int(s) for s in np.unique(cells(flags))}


def still(result: RunReport) -> Figure:
    """The pool at the first failure (or at the end of a run without any): ``plots/port_map.png``."""
    port_map = _port_map(result)
    snap = port_map.still
    states = grid(cells(snap.flags), columns(snap.flags.size))
    shown = _shown(snap.flags)
    counts = np.bincount(states.ravel(), minlength=OUTSIDE + 1)
    labels = [f"{name}: {counts[i]:,}" for i, (name, _) in enumerate(CATEGORIES)]
    drawn = _Map(result, states, DPI, shown, labels)
    drawn.about.set_text(_about(result, snap.source, snap.destination))
    where = f" on group {result.scenario.fleet[0].name}'s hosts" if result.scenario.parts_per_group else ""
    if port_map.at_failure:
        drawn.headline.set_text(f"the first connect() (or bind()) failure{where}, at {snap.time:,.2f} s")
    else:
        drawn.headline.set_text(f"the end of the run, at {snap.time:,.2f} s: no connect() failed{where}")
    drawn.counts.set_text(_counts(snap.attempts, snap.failures))
    return drawn.fig


def _render(result: RunReport, writer: PillowWriter | FFMpegWriter, path: Path) -> None:
    """Draw every recorded frame into ``writer``, which saves them to ``path``."""
    port_map = _port_map(result)
    if not port_map.animated:
        raise ValueError(
            "no port map frames in this result: run with sim.run(scenario, port_map=True) or portsim run --port-map"
        )
    frames, times = port_map.frames, port_map.times
    width = columns(port_map.size)
    shown = _shown(frames)
    drawn = _Map(result, grid(cells(frames[0]), width), ANIMATION_DPI, shown, [name for name, _ in CATEGORIES])
    clock = _clock(float(np.min(np.diff(times))) if times.size > 1 else 0.0)
    with writer.saving(drawn.fig, str(path), ANIMATION_DPI):
        for k in range(times.size):
            states = grid(cells(frames[k]), width)
            counts = _counts(int(port_map.attempts[k]), int(port_map.failures[k]))
            drawn.frame(states, f"t = {clock(float(times[k]))}: {counts} so far", _tally(states, shown))
            writer.grab_frame()


def _palette() -> Image.Image:
    """A fixed palette: the states' colours, white, and greys for text."""
    colours = [to_rgb(c) for _, c in CATEGORIES] + [(1.0, 1.0, 1.0)]
    colours += [(g / 31, g / 31, g / 31) for g in range(32)]
    colours += [to_rgb(c) for c in ("#555555", "#999999")]
    flat = [round(255 * v) for rgb in colours for v in rgb]
    palette = Image.new("P", (1, 1))
    palette.putpalette(flat + flat[:3] * (256 - len(colours)))
    return palette


class PaletteWriter(PillowWriter):
    """matplotlib's PillowWriter, taking each frame as drawn on the canvas (see ``_Map.frame``) and keeping it
    in a fixed palette: exact colours, a quarter of the memory of RGB frames."""

    def setup(self, fig: Figure, outfile: str | Path, dpi: float | None = None) -> None:
        super().setup(fig, outfile, dpi=dpi)
        self._palette = _palette()

    def grab_frame(self, **savefig_kwargs: Any) -> None:
        rgb = Image.fromarray(np.ascontiguousarray(_pixels(self.fig)[..., :3]))
        writer: Any = self  # PillowWriter keeps its frames in _frames until finish()
        writer._frames.append(rgb.quantize(palette=self._palette, dither=Image.Dither.NONE))


class VideoWriter(FFMpegWriter):
    """matplotlib's FFMpegWriter, taking each frame as drawn on the canvas (see ``_Map.frame``)."""

    def grab_frame(self, **savefig_kwargs: Any) -> None:
        writer: Any = self  # FFMpegWriter pipes frames to ffmpeg's standard input
        writer._proc.stdin.write(_pixels(self.fig).tobytes())


def _pixels(fig: Figure) -> np.ndarray:
    canvas: Any = fig.canvas  # the Agg canvas of ``_Map.frame``
    return np.asarray(canvas.buffer_rgba())


def _writer(kind: Callable[..., PillowWriter | FFMpegWriter], fps: float) -> PillowWriter | FFMpegWriter:
    """A writer at ``fps`` frames per second (matplotlib types fps as int; both writers take a float)."""
    return kind(fps=fps)


def ffmpeg() -> str | None:
    """An ffmpeg binary: on the PATH, or the one the imageio-ffmpeg package ships; None without either."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        module = importlib.import_module("imageio_ffmpeg")
        return str(module.get_ffmpeg_exe())
    except (ImportError, RuntimeError, OSError):
        return None


MP4_MISSING = (
    "plots/port_map.mp4 not written: no ffmpeg binary found (apt-get install ffmpeg, or pip install 'portsim[video]')"
)
"""The one line said when the GIF is written without its MP4."""


def save_animation(result: RunReport, folder: Path) -> list[Path]:
    """Write ``port_map.gif`` (and ``port_map.mp4`` where ffmpeg is found) into ``folder``; the paths written."""
    port_map = _port_map(result)
    folder.mkdir(parents=True, exist_ok=True)
    gif = folder / FILES[0]
    _render(result, _writer(PaletteWriter, port_map.fps), gif)
    written = [gif]
    binary = ffmpeg()
    if binary is not None:
        mp4 = folder / FILES[1]
        with mpl.rc_context({"animation.ffmpeg_path": binary}):
            _render(result, _writer(VideoWriter, port_map.fps), mp4)
        written.append(mp4)
    return written


class PortMapAnimation:
    """The port map's GIF, shown inline by Jupyter (``result.port_map()``)."""

    def __init__(self, gif: bytes, frames: int, fps: float) -> None:
        self.gif = gif
        self.frames = frames
        self.fps = fps

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.gif).decode("ascii")
        return f'<img src="data:image/gif;base64,{data}" alt="port map, {self.frames} frames"/>'

    def save(self, path: str | Path) -> Path:
        """Write the GIF to ``path``."""
        target = Path(path)
        target.write_bytes(self.gif)
        return target

    def __repr__(self) -> str:
        return f"PortMapAnimation({self.frames} frames at {self.fps:g} fps, {len(self.gif):,} bytes of GIF)"


def animated(result: RunReport) -> PortMapAnimation:
    """The recorded frames as a GIF for Jupyter."""
    port_map = _port_map(result)
    with tempfile.TemporaryDirectory(prefix="portsim-port-map-") as tmp:
        path = Path(tmp) / "port_map.gif"
        _render(result, _writer(PaletteWriter, port_map.fps), path)
        gif = path.read_bytes()
    return PortMapAnimation(gif, int(port_map.times.size), port_map.fps)
