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

    @abstractmethod
    def capped(self, cap: float) -> tuple[float, float]:
        """(E[min(D, cap)], P(D <= cap)): the mean time a connection stays open when something ends it at ``cap``
        at the latest (a translator's idle timeout), and the share that ends by itself first."""

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

    def capped(self, cap: float) -> tuple[float, float]:
        return min(self.value, cap), 1.0 if self.value <= cap else 0.0


class Exponential(Duration):
    """Exponential durations with the given mean."""

    kind: Literal["exponential"] = "exponential"
    mean: PositiveSeconds

    @property
    def expected(self) -> float:
        return self.mean

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean, n)

    def capped(self, cap: float) -> tuple[float, float]:
        ended = -math.expm1(-cap / self.mean)
        return self.mean * ended, ended


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

    def capped(self, cap: float) -> tuple[float, float]:
        if cap == math.inf:
            return self.mean, 1.0
        if cap <= 0:
            return 0.0, 0.0
        mu, s = math.log(self.mean) - self.sigma**2 / 2, self.sigma
        z = (math.log(cap) - mu) / s
        ended = _normal_cdf(z)
        # E[D; D <= cap] = mean x Phi(z - sigma) for a lognormal
        return self.mean * _normal_cdf(z - s) + cap * (1.0 - ended), ended


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

    def capped(self, cap: float) -> tuple[float, float]:
        low, high = self.low, self.high
        if cap >= high:
            return self.expected, 1.0
        if cap <= low:
            return cap, 0.0
        width = high - low
        return ((cap * cap - low * low) / 2 + cap * (high - cap)) / width, (cap - low) / width


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

    def capped(self, cap: float) -> tuple[float, float]:
        low, a = self.minimum, self.shape
        if cap == math.inf:
            return self.expected, 1.0
        if cap <= low:
            return cap, 0.0
        # E[min(D, cap)] = low + the integral from low to cap of P(D > x) = (low / x)^a
        return low + low**a * (cap ** (1 - a) - low ** (1 - a)) / (1 - a), 1.0 - (low / cap) ** a


def _normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


DurationSpec = Annotated[Fixed | Exponential | Lognormal | Uniform | Pareto, Field(discriminator="kind")]
DURATIONS: dict[str, type[Duration]] = {
    cls.model_fields["kind"].default: cls for cls in (Fixed, Exponential, Lognormal, Uniform, Pareto)
}
