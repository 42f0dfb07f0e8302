"""The progress bar of a run on a terminal: simulated time, connections per second, time left."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from ..experiments.runner import Progress

SHOW_AFTER = 1.0
"""Seconds of wall time before the bar appears (short runs show none)."""


def progress_bar(total: float) -> tuple[Progress, Callable[[], None]]:
    """A progress callback for a job of ``total`` simulated seconds, and a function that removes the bar.

    The model calls back every 1/200 of simulated time and every 4,096 attempts, so the bar moves with
    wall time even when simulated time crawls.
    """
    from rich.console import Console
    from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress

    started = time.perf_counter()
    duration_label = f"{total:,.0f} s"
    state: dict[str, Any] = {"bar": None, "task": None}

    def update(fraction: float, attempts: int) -> None:
        elapsed = time.perf_counter() - started
        if state["bar"] is None:
            if elapsed < SHOW_AFTER:
                return
            bar = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("simulated {task.fields[simulated]} of " + duration_label),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task("simulating", total=1.0, rate="", simulated="")
        rate = f"{attempts / elapsed:,.0f} conn/s" if elapsed > 0 else ""
        state["bar"].update(state["task"], completed=fraction, rate=rate, simulated=f"{fraction * total:,.0f}")

    def stop() -> None:
        if state["bar"] is not None:
            state["bar"].stop()

    return update, stop


def task_bar(label: str = "tasks") -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A progress callback for a batch of tasks, called with (done, total); and a function that removes the bar."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress

    state: dict[str, Any] = {"bar": None, "task": None}

    def update(done: int, total: int) -> None:
        if state["bar"] is None:
            bar = RichProgress(
                TextColumn(f"[bold]{label}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(label, total=total, completed=done)
        state["bar"].update(state["task"], completed=done, total=total)

    def stop() -> None:
        if state["bar"] is not None:
            state["bar"].stop()

    return update, stop


def status_line(command: str) -> tuple[Callable[[str, int, float | None], None], Callable[[], None]]:
    """A one-line status on stderr for searches whose number of runs is not known in advance.

    The callback takes (what is searched, or "", simulation runs so far, current estimate per second or None).
    """

    def update(where: str, runs: int, rate: float | None) -> None:
        estimate = f"about {rate:,.4g}/s" if rate is not None else "bracketing"
        label = f"{where}: " if where else ""
        print(f"\r\x1b[K{command}: {label}{runs} simulation runs, {estimate}", end="", file=sys.stderr)

    def stop() -> None:
        print("\r\x1b[K", end="", file=sys.stderr)

    return update, stop
