"""Streaming statistics: nothing here grows with the number of connections in a run.

- ``IntHistogram``: exact counts of small integers (probes per allocation).
- ``LogHistogram``: counts in logarithmic bins (reuse intervals), with exact count, sum and minimum.
"""

from __future__ import annotations

import math
from array import array

import numpy as np


class IntHistogram:
    """Exact histogram of non-negative integers."""

    def __init__(self) -> None:
        self.counts = np.zeros(64, dtype=np.int64)
        self._buffer: list[int] = []
        self.add = self._buffer.append
        """Record one value (buffered)."""

    def flush(self) -> None:
        """Fold buffered values into ``counts``."""
        if not self._buffer:
            return
        binned = np.bincount(np.asarray(self._buffer, dtype=np.int64))
        if binned.size > self.counts.size:
            self.counts = np.concatenate([self.counts, np.zeros(binned.size - self.counts.size, np.int64)])
        self.counts[: binned.size] += binned
        self._buffer.clear()

    def add_many(self, values: np.ndarray) -> None:
        """Record many values at once."""
        if values.size:
            self.flush()
            binned = np.bincount(values.astype(np.int64, copy=False))
            if binned.size > self.counts.size:
                self.counts = np.concatenate([self.counts, np.zeros(binned.size - self.counts.size, np.int64)])
            self.counts[: binned.size] += binned

    def clear(self) -> None:
        """Forget everything recorded so far."""
        self._buffer.clear()
        self.counts[:] = 0

    @property
    def n(self) -> int:
        """Number of values recorded."""
        self.flush()
        return int(self.counts.sum())

    def mean(self) -> float | None:
        """Mean value, or None when empty."""
        n = self.n
        if not n:
            return None
        return float(np.dot(self.counts, np.arange(self.counts.size)) / n)

    def quantile(self, q: float) -> int | None:
        """The smallest value v with P(X <= v) >= q (an exact order statistic), or None when empty."""
        n = self.n
        if not n:
            return None
        cumulative = np.cumsum(self.counts)
        return int(np.searchsorted(cumulative, q * n, side="left"))

    def max(self) -> int | None:
        """Largest value recorded, or None when empty."""
        if not self.n:
            return None
        return int(np.flatnonzero(self.counts)[-1])


class LogHistogram:
    """Histogram of non-negative reals in logarithmic bins, plus exact count, sum and minimum.

    Bins span ``[10**lo, 10**hi)`` with ``per_decade`` bins per factor of ten; bin 0 holds values
    below ``10**lo`` (zero included) and the last bin values at or above ``10**hi``. Quantiles
    interpolate geometrically inside a bin, so their relative error is below ``10**(1/per_decade) - 1``.
    """

    def __init__(self, lo: int = -6, hi: int = 7, per_decade: int = 100) -> None:
        self.lo, self.hi, self.per_decade = lo, hi, per_decade
        n_inner = (hi - lo) * per_decade
        self.edges = np.logspace(lo, hi, n_inner + 1)
        self.counts = np.zeros(n_inner + 2, dtype=np.int64)
        self.total = 0.0
        self.minimum = math.inf
        self._buffer = array("d")
        self.add = self._buffer.append
        """Record one value (buffered, as a float)."""

    def flush(self) -> None:
        """Fold buffered values into the counts."""
        if not self._buffer:
            return
        values = np.array(self._buffer, dtype=np.float64)  # a copy: the buffer is emptied next
        del self._buffer[:]
        self.total += float(values.sum())
        self.minimum = min(self.minimum, float(values.min()))
        index = np.searchsorted(self.edges, values, side="right")
        self.counts += np.bincount(index, minlength=self.counts.size)

    def clear(self) -> None:
        """Forget everything recorded so far."""
        del self._buffer[:]
        self.counts[:] = 0
        self.total = 0.0
        self.minimum = math.inf

    @property
    def buffered(self) -> int:
        """Values recorded but not yet folded into the counts."""
        return len(self._buffer)

    @property
    def n(self) -> int:
        """Number of values recorded."""
        self.flush()
        return int(self.counts.sum())

    def mean(self) -> float | None:
        """Exact mean, or None when empty."""
        n = self.n
        return self.total / n if n else None

    def min(self) -> float | None:
        """Exact minimum, or None when empty."""
        return self.minimum if self.n else None

    def quantile(self, q: float) -> float | None:
        """Approximate q-quantile (geometric interpolation inside the bin), or None when empty."""
        n = self.n
        if not n:
            return None
        cumulative = np.cumsum(self.counts)
        target = q * n
        b = int(np.searchsorted(cumulative, target, side="left"))
        if b == 0:
            return self.minimum if self.minimum < self.edges[0] else float(self.edges[0])
        if b == self.counts.size - 1:
            return float(self.edges[-1])
        before = cumulative[b - 1]
        fraction = (target - before) / self.counts[b]
        left, right = self.edges[b - 1], self.edges[b]
        return float(max(left * (right / left) ** fraction, self.minimum))
