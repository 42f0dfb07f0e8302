"""The Figure every plot returns: PNG for Jupyter without pyplot."""

from __future__ import annotations

import subprocess
import sys

from sim.output import plots
from sim.output.figure import DPI, PlotFigure


def test_a_plot_figure_shows_itself_as_png() -> None:
    fig = PlotFigure(figsize=(2.0, 1.0), dpi=DPI)
    fig.add_subplot().plot([0, 1], [1, 0])
    png = fig._repr_png_()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert int.from_bytes(png[16:20], "big") == 2 * DPI  # width in pixels, from the IHDR chunk
    assert plots.PlotFigure is PlotFigure  # still importable from plots, where the other plot modules find it


def test_drawing_selects_no_pyplot_backend() -> None:
    code = (
        "import sys; from sim.output.figure import PlotFigure; PlotFigure().add_subplot(); "
        "print('matplotlib.pyplot' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
