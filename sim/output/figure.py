"""The Figure every plot returns: built without pyplot, shown as PNG in Jupyter.

Figures are built without pyplot, so drawing selects no backend and opens no window.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure

DPI = 120
"""Dots per inch of every PNG plot."""


class PlotFigure(Figure):
    """A Figure that shows itself as PNG in Jupyter even when pyplot was never imported."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()
