"""Arrival processes: when a workload attempts new connections.

Each class is both the validated scenario entry (a frozen pydantic model selected by ``kind``) and the
sampler used at run time. ``times(rng, start, stop)`` yields increasing attempt times in [start, stop)
and then ends, so every process makes progress in simulated time even when it yields nothing.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from .spec import PositiveSeconds, Rate, Spec
from .streams import BATCH, batched


class Arrivals(Spec):
    """When new connections are attempted."""

    @property
    @abstractmethod
    def mean_rate(self) -> float:
        """Long-run attempts per second."""

    @property
    def is_poisson(self) -> bool:
        """Whether attempts form a Poisson process (needed for the Erlang B cross-check)."""
        return False

    def scaled(self, factor: float) -> dict[str, float]:
        """The fields to change for ``factor`` times the mean rate (same pattern, scaled in time)."""
        raise NotImplementedError

    def steps(self, span: float) -> float:
        """Expected sampler steps over ``span`` seconds (attempts, plus any period changes): the work it costs."""
        return self.mean_rate * span

    @abstractmethod
    def times(self, rng: np.random.Generator, start: float, stop: float) -> Iterator[float]:
        """Attempt times in [start, stop), increasing."""


class Poisson(Arrivals):
    """Poisson arrivals: exponential gaps with mean 1/rate."""

    kind: Literal["poisson"] = "poisson"
    rate: Rate

    @property
    def mean_rate(self) -> float:
        return self.rate

    @property
    def is_poisson(self) -> bool:
        return True

    def scaled(self, factor: float) -> dict[str, float]:
        return {"rate": self.rate * factor}

    def times(self, rng: np.random.Generator, start: float, stop: float) -> Iterator[float]:
        t = start
        scale = 1.0 / self.rate
        while True:
            stamps = (t + np.cumsum(rng.exponential(scale, BATCH))).tolist()
            for stamp in stamps:
                if stamp >= stop:
                    return
                yield stamp
            t = stamps[-1]


class Constant(Arrivals):
    """One attempt every ``interval`` seconds, the first one ``interval`` after the start."""

    kind: Literal["constant"] = "constant"
    interval: PositiveSeconds

    @property
    def mean_rate(self) -> float:
        return 1.0 / self.interval

    def scaled(self, factor: float) -> dict[str, float]:
        return {"interval": self.interval / factor}

    def times(self, rng: np.random.Generator, start: float, stop: float) -> Iterator[float]:
        k = 1
        while (t := start + k * self.interval) < stop:
            yield t
            k += 1


class OnOff(Arrivals):
    """Poisson arrivals at ``rate`` while on; on and off periods are exponential with the given means.

    The process starts in its stationary state: on with probability mean_on / (mean_on + mean_off).
    """

    kind: Literal["onoff"] = "onoff"
    rate: Rate
    mean_on: PositiveSeconds
    mean_off: PositiveSeconds

    @property
    def mean_rate(self) -> float:
        return self.rate * self.mean_on / (self.mean_on + self.mean_off)

    def scaled(self, factor: float) -> dict[str, float]:
        return {"rate": self.rate * factor}

    def steps(self, span: float) -> float:
        return self.mean_rate * span + 2 * span / (self.mean_on + self.mean_off)

    def times(self, rng: np.random.Generator, start: float, stop: float) -> Iterator[float]:
        unit = batched(rng.standard_exponential)
        t = start
        on = rng.random() < self.mean_on / (self.mean_on + self.mean_off)
        gap = 1.0 / self.rate
        while t < stop:
            if on:
                end = min(t + self.mean_on * next(unit), stop)
                t += gap * next(unit)
                while t < end:
                    yield t
                    t += gap * next(unit)
                t = end
            else:
                t += self.mean_off * next(unit)
            on = not on


ArrivalSpec = Annotated[Poisson | Constant | OnOff, Field(discriminator="kind")]
ARRIVALS: dict[str, type[Arrivals]] = {cls.model_fields["kind"].default: cls for cls in (Poisson, Constant, OnOff)}
