"""Writing one command's files into its results folder, then reporting them: shared by sweep, capacity, remedies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..output.folders import owned_by, staged_folder
from ..output.results import PlotError


def write_results(
    out: Path, entries: frozenset[str], write: Callable[[Path, list[str]], None], text: Callable[[], str], quiet: bool
) -> None:
    """Stage the command's ``entries`` into ``out`` with ``write(folder, failed)``, print ``text()`` unless
    ``quiet``, and raise PlotError (after the data is in place) when a plot failed."""
    failed: list[str] = []
    with staged_folder(out, owns=owned_by(entries)) as tmp:
        write(tmp, failed)
    if not quiet:
        print(text())
    if failed:
        raise PlotError(f"{out}: data written, but plot {failed[0]}")
