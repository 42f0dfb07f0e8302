"""Workload building blocks: arrival processes and connection-duration distributions.

Each class is both the validated scenario entry (a frozen pydantic model selected by ``kind``) and
the sampler used at run time. All times are seconds; rates are connections per second.
Samplers draw from the numpy ``Generator`` they are given, in batches, so that a run's random
numbers depend only on its seed.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable, Iterator
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

BATCH = 4096
"""How many random numbers a sampler draws from numpy at a time."""

PositiveSeconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeSeconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Rate = Annotated[float, Field(gt=0, allow_inf_nan=False, description="connections per second")]


class Spec(BaseModel):
    """A frozen, strictly validated scenario entry whose ``repr`` reads like the call."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    def __repr__(self) -> str:
        args = ", ".join(
            f"{name}={value!r}" for name, value in self.__dict__.items() if name != "kind" and value is not None
        )
        return f"{type(self).__name__}({args})"

    __str__ = __repr__


def batched(draw: Callable[[int], np.ndarray]) -> Iterator[float]:
    """Yield floats forever from ``draw(BATCH)``, one batch at a time."""
    while True:
        yield from draw(BATCH).tolist()


# --------------------------------------------------------------------------- durations


class Duration(Spec):
    """How long a connection stays ESTABLISHED, in seconds."""

    @property
    @abstractmethod
    def expected(self) -> float:
        """Expected duration in seconds."""

    @abstractmethod
    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` durations."""

    def stream(self, rng: np.random.Generator) -> Iterator[float]:
        """An endless iterator of durations."""
        return batched(lambda n: self.sample(rng, n))


class Fixed(Duration):
    """Every connection lasts exactly ``value`` seconds."""

    kind: Literal["fixed"] = "fixed"
    value: NonNegativeSeconds

    @property
    def expected(self) -> float:
        return self.value

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)


class Exponential(Duration):
    """Exponential durations with the given mean."""

    kind: Literal["exponential"] = "exponential"
    mean: PositiveSeconds

    @property
    def expected(self) -> float:
        return self.mean

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean, n)


class Lognormal(Duration):
    """Lognormal durations with the given mean and log-space standard deviation ``sigma``."""

    kind: Literal["lognormal"] = "lognormal"
    mean: PositiveSeconds
    sigma: Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)]

    @property
    def expected(self) -> float:
        return self.mean

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        mu = math.log(self.mean) - self.sigma**2 / 2
        return rng.lognormal(mu, self.sigma, n)


class Uniform(Duration):
    """Durations uniform on [low, high]."""

    kind: Literal["uniform"] = "uniform"
    low: NonNegativeSeconds
    high: NonNegativeSeconds

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is greater than high ({self.high})")
        return self

    @property
    def expected(self) -> float:
        return (self.low + self.high) / 2

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


class Pareto(Duration):
    """Pareto (type I) durations: ``shape`` > 1 and either ``scale`` (the minimum) or ``mean``."""

    kind: Literal["pareto"] = "pareto"
    shape: Annotated[float, Field(gt=1, allow_inf_nan=False, description="tail index; > 1 for a finite mean")]
    scale: PositiveSeconds | None = None
    mean: PositiveSeconds | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Pareto:
        if (self.scale is None) == (self.mean is None):
            raise ValueError("give exactly one of 'scale' and 'mean'")
        return self

    @property
    def minimum(self) -> float:
        """The scale x_m: the shortest possible duration."""
        if self.scale is not None:
            return self.scale
        assert self.mean is not None
        return self.mean * (self.shape - 1) / self.shape

    @property
    def expected(self) -> float:
        return self.minimum * self.shape / (self.shape - 1)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.minimum * (1.0 + rng.pareto(self.shape, n))


DurationSpec = Annotated[Fixed | Exponential | Lognormal | Uniform | Pareto, Field(discriminator="kind")]
DURATIONS: dict[str, type[Duration]] = {
    cls.model_fields["kind"].default: cls for cls in (Fixed, Exponential, Lognormal, Uniform, Pareto)
}


# --------------------------------------------------------------------------- arrivals


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

    @abstractmethod
    def times(self, rng: np.random.Generator, start: float) -> Iterator[float]:
        """Absolute attempt times after ``start``, increasing, endless."""


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

    def times(self, rng: np.random.Generator, start: float) -> Iterator[float]:
        t = start
        scale = 1.0 / self.rate
        while True:
            stamps = (t + np.cumsum(rng.exponential(scale, BATCH))).tolist()
            yield from stamps
            t = stamps[-1]


class Constant(Arrivals):
    """One attempt every ``interval`` seconds, the first one ``interval`` after the start."""

    kind: Literal["constant"] = "constant"
    interval: PositiveSeconds

    @property
    def mean_rate(self) -> float:
        return 1.0 / self.interval

    def times(self, rng: np.random.Generator, start: float) -> Iterator[float]:
        k = 1
        while True:
            yield start + k * self.interval
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

    def times(self, rng: np.random.Generator, start: float) -> Iterator[float]:
        unit = batched(rng.standard_exponential)
        t = start
        on = rng.random() < self.mean_on / (self.mean_on + self.mean_off)
        gap = 1.0 / self.rate
        while True:
            if on:
                end = t + self.mean_on * next(unit)
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
