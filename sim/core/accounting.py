"""The accounting of connection states: levels, peaks and seconds spent, in all and per destination.

Levels are how many connections are ESTABLISHED, in TIME_WAIT and in FIN_WAIT2 now. Peaks and the
seconds spent in each state count from the start of the measured window (the end of warm-up): each
interval adds its seconds when it ends, and ``Lifecycle.still_open`` supplies the intervals not yet ended.
"""

from __future__ import annotations

from array import array


class Accounting:
    """Levels, peaks and time integrals of the connection states."""

    def __init__(self, n_destinations: int, n_sources: int = 1) -> None:
        self.established = 0
        self.time_wait = 0
        self.fin_wait2 = 0
        self.peak_established = 0
        self.peak_time_wait = 0
        self.peak_fin_wait2 = 0
        self.dest_held = [0] * n_destinations
        """Per destination: 4-tuples held (ESTABLISHED, TIME_WAIT or FIN_WAIT2)."""
        self.dest_time_wait = [0] * n_destinations
        self.source_time_wait = array("q", bytes(8 * n_sources))
        """Per source address (a fleet's host): its connections in TIME_WAIT (a typed array the compiled path
        shares)."""
        self.dest_peak_held = [0] * n_destinations
        self.dest_peak_time_wait = [0] * n_destinations
        self.dest_recycled = [0] * n_destinations
        """Per destination: TIME_WAITs taken over by tcp_tw_reuse in the window."""
        self.dest_overflow = [0] * n_destinations
        """Per destination: closes that skipped TIME_WAIT or FIN_WAIT2 because max_tw_buckets was reached."""
        self.window_start = 0.0
        self.seconds_established = 0.0
        self.seconds_time_wait = 0.0
        self.seconds_fin_wait2 = 0.0

    def measured(self, start: float, end: float) -> float:
        """Seconds of [start, end] inside the measured window."""
        window = self.window_start
        return end - (start if start > window else window) if end > window else 0.0

    def opened(self, dst: int) -> None:
        """A connection to ``dst`` became ESTABLISHED."""
        n = self.established = self.established + 1
        if n > self.peak_established:
            self.peak_established = n
        held = self.dest_held[dst] = self.dest_held[dst] + 1
        if held > self.dest_peak_held[dst]:
            self.dest_peak_held[dst] = held

    def closed(self, opened: float, t: float) -> None:
        """A connection ESTABLISHED since ``opened`` left that state at ``t``."""
        self.established -= 1
        self.seconds_established += self.measured(opened, t)

    def entered_time_wait(self, src: int, dst: int) -> None:
        """A connection from ``src`` to ``dst`` entered TIME_WAIT."""
        self.source_time_wait[src] += 1
        n = self.time_wait = self.time_wait + 1
        if n > self.peak_time_wait:
            self.peak_time_wait = n
        tw = self.dest_time_wait[dst] = self.dest_time_wait[dst] + 1
        if tw > self.dest_peak_time_wait[dst]:
            self.dest_peak_time_wait[dst] = tw

    def left_time_wait(self, src: int, dst: int, since: float, t: float) -> None:
        """A TIME_WAIT from ``src`` to ``dst`` entered at ``since`` ended at ``t`` (expired or taken over), freeing
        its 4-tuple."""
        self.source_time_wait[src] -= 1
        self.time_wait -= 1
        self.seconds_time_wait += self.measured(since, t)
        self.dest_time_wait[dst] -= 1
        self.dest_held[dst] -= 1

    def entered_fin_wait2(self) -> None:
        """A connection entered FIN_WAIT2."""
        n = self.fin_wait2 = self.fin_wait2 + 1
        if n > self.peak_fin_wait2:
            self.peak_fin_wait2 = n

    def left_fin_wait2(self, dst: int, since: float, t: float) -> None:
        """A FIN_WAIT2 orphan entered at ``since`` expired at ``t``, freeing its 4-tuple."""
        self.fin_wait2 -= 1
        self.seconds_fin_wait2 += self.measured(since, t)
        self.dest_held[dst] -= 1

    def released(self, dst: int) -> None:
        """A connection to ``dst`` freed its 4-tuple at its close (no TIME_WAIT or FIN_WAIT2)."""
        self.dest_held[dst] -= 1

    def start_window(self, now: float) -> None:
        """Count seconds, peaks, recycled and overflowed TIME_WAITs from ``now`` on."""
        self.window_start = now
        self.seconds_established = self.seconds_time_wait = self.seconds_fin_wait2 = 0.0
        self.peak_established = self.established
        self.peak_time_wait = self.time_wait
        self.peak_fin_wait2 = self.fin_wait2
        self.dest_peak_held = list(self.dest_held)
        self.dest_peak_time_wait = list(self.dest_time_wait)
        self.dest_recycled = [0] * len(self.dest_recycled)
        self.dest_overflow = [0] * len(self.dest_overflow)
