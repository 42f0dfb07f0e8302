"""Retry waits: the backoff of a ``RetrySpec`` with its jitter, drawn from the workload's own stream."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..core.streams import batched
from .spec import RetrySpec


class Backoff:
    """The waits before each retry of one workload."""

    def __init__(self, spec: RetrySpec, rng: np.random.Generator) -> None:
        self.spec = spec
        self.limit = spec.max
        self._uniform: Iterator[float] = batched(rng.random)

    def wait(self, k: int) -> float:
        """Seconds before retry ``k`` (1-based), jitter applied."""
        spec = self.spec
        delay = spec.delay(k)
        if spec.jitter == "full":
            return delay * next(self._uniform)
        if spec.jitter == "equal":
            return delay * (0.5 + 0.5 * next(self._uniform))
        return delay
