"""The host's TCP timers and reuse rules, and the kernel's timer-wheel granularity."""

from __future__ import annotations

import math
from dataclasses import dataclass

WHEEL_LEVEL_SIZE = 64
WHEEL_CLOCK_SHIFT = 3
"""The Linux timer wheel (kernel/time/timer.c): 64 buckets per level, each level 8 times coarser."""
TIMER_HZ = (100, 250, 300, 1000)
"""The kernel's CONFIG_HZ choices."""
GRID_EPSILON = 1e-12
"""Relative slack when rounding an expiry up to the grid, so that an expiry on a grid point stays there."""


def wheel_granularity(seconds: float, hz: int) -> float:
    """Seconds between the expiries the Linux timer wheel can fire for a timer armed ``seconds`` ahead.

    The wheel puts a timer ``delta`` jiffies ahead on the first level n with
    delta < (LVL_SIZE - 1) << (n * LVL_CLK_SHIFT), whose buckets are 8**n jiffies wide, and rounds the
    expiry up to the bucket. For a 60 s timer: 512 jiffies = 2.048 s at HZ 250, 4.096 s at HZ 1000,
    5.12 s at HZ 100.
    """
    delta = math.ceil(seconds * hz)
    last = 8 if hz > 100 else 7  # LVL_DEPTH is 9 above HZ 100, else 8 (kernel/time/timer.c)
    level = 0
    while delta >= (WHEEL_LEVEL_SIZE - 1) << (level * WHEEL_CLOCK_SHIFT) and level < last:
        level += 1
    return (1 << (level * WHEEL_CLOCK_SHIFT)) / hz


@dataclass(frozen=True)
class Timers:
    """The host's TCP timers and reuse rules (seconds)."""

    time_wait: float
    fin_timeout: float = 60.0
    granularity: float = 0.0
    max_tw_buckets: int | None = None
    reuse_delay: float = 1.0

    def time_wait_end(self, closed_at: float) -> float:
        """When a TIME_WAIT entered at ``closed_at`` expires: on the timer grid when there is one."""
        end = closed_at + self.time_wait
        if self.granularity > 0:
            end = math.ceil(end / self.granularity - GRID_EPSILON) * self.granularity
        return end
