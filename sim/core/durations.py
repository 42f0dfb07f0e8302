"""Connection durations: how long a connection stays ESTABLISHED, in seconds.

Each class is both the validated scenario entry (a frozen pydantic model selected by ``kind``) and the
sampler used at run time; it draws from the numpy ``Generator`` it is given, in batches.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Iterator
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from .spec import KeyedError, NonNegativeSeconds, PositiveSeconds, Spec
from .streams import batched


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
            raise KeyedError("low", f"low ({self.low:g}) is greater than high ({self.high:g})")
        return self

    @property
    def expected(self) -> float:
        return (self.low + self.high) / 2

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


class Pareto(Duration):
    """Pareto (type I) durations: ``shape`` > 1 and either ``scale`` (the minimum) or ``mean``."""

    kind: Literal["pareto"] = "pareto"
    shape: Annotated[float, Field(gt=1, le=1e6, allow_inf_nan=False, description="tail index; > 1 for a finite mean")]
    scale: PositiveSeconds | None = None
    mean: PositiveSeconds | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Pareto:
        if (self.scale is None) == (self.mean is None):
            raise KeyedError("shape", "give exactly one of 'scale' and 'mean'")
        return self

    @property
    def minimum(self) -> float:
        """The scale x_m: the shortest possible duration."""
        if self.scale is not None:
            return self.scale
        assert self.mean is not None  # _one_of guarantees one of them
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
