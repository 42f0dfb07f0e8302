"""A quick look at a scenario: the same scenario over a shorter run, and what was shortened.

``sim.explore`` redraws within about a second of a change, so it runs a shortened copy of the scenario.
The parameters stay as given (the pool, the rates, the timers); only the simulated time shrinks. A pool
that fills and then waits out TIME_WAIT swings with a period of one hold time (ESTABLISHED plus
TIME_WAIT) before it settles, so the preview warms up for 1.5 hold times and measures over one whole
hold time, which averages out the swing (quickstart: 0.108 blocking against 0.104 over 600 s). Where even
that would take more than ``max_attempts`` connection attempts, the run is cut to that many and the note
says its figures still carry the start-up transient.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config.scenario import Scenario
from ..report.theory import hold_time

WARMUP_HOLDS = 1.5
"""Hold times of warm-up in a shortened run."""
WINDOW_HOLDS = 1.0
"""Hold times measured in a shortened run."""
MIN_WINDOW_ATTEMPTS = 2_000
"""Attempts the measured window expects at least (short holds would otherwise give a few dozen)."""
MAX_ATTEMPTS = 150_000
"""Attempts a preview expects at most (about half a second of simulation on one core)."""
SOURCE = "explore preview"


@dataclass(frozen=True)
class Preview:
    """A scenario as it will be run for a quick look, and what differs from the scenario as written."""

    scenario: Scenario
    original_duration: float
    original_warmup: float
    hold: float
    transient: bool
    """Whether the run is too short to settle: its figures still carry the start-up transient."""

    @property
    def shortened(self) -> bool:
        """Whether the run is shorter than the scenario as written."""
        return self.scenario.duration < self.original_duration

    @property
    def note(self) -> str:
        """One sentence for the reader: what was run, and how it differs from the full run."""
        s = self.scenario
        if not self.shortened:
            return f"Full run: {s.duration:g} s simulated, measured from {s.warmup:g} s."
        text = (
            f"Shortened for speed: {s.duration:.4g} s simulated of {self.original_duration:g} s, measured from "
            f"{s.warmup:.4g} s (the scenario measures from {self.original_warmup:g} s); a connection holds its "
            f"4-tuple {self.hold:.3g} s on average."
        )
        if self.transient:
            text += " Too short to settle at this load: the figures still carry the start-up transient."
        return text + " sim.run() gives the full run."


def preview(scenario: Scenario, max_attempts: int | None = MAX_ATTEMPTS) -> Preview:
    """``scenario`` shortened to warm up for 1.5 hold times and measure one (``max_attempts=None``: as written).

    A scenario that expects at most ``max_attempts`` attempts over its whole duration runs as written; one
    replication either way.
    """
    rate = sum(w.offered.mean_rate for w in scenario.workloads)
    hold = max(hold_time(scenario, i) for i in range(len(scenario.workloads)))
    single = scenario.with_changes(source=SOURCE, replications=1) if scenario.replications != 1 else scenario
    same = Preview(single, scenario.duration, scenario.warmup, hold, transient=False)
    if max_attempts is None or rate * scenario.duration <= max_attempts:
        return same
    warmup = WARMUP_HOLDS * hold
    duration = warmup + max(WINDOW_HOLDS * hold, MIN_WINDOW_ATTEMPTS / rate)
    transient = False
    if rate * duration > max_attempts:
        duration = max_attempts / rate
        warmup = min(warmup, 0.6 * duration)
        transient = True
    if duration >= scenario.duration:
        return same
    short = single.with_changes(source=SOURCE, duration=duration, warmup=warmup, sample_interval=None)
    return Preview(short, scenario.duration, scenario.warmup, hold, transient)
