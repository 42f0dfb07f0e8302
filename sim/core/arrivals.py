"""Arrival processes: when a workload attempts new connections.

Each class is both the validated scenario entry (a frozen pydantic model selected by ``kind``) and the
sampler used at run time. ``times(rng, start, stop)`` yields increasing attempt times in [start, stop)
and then ends, so every process makes progress in simulated time even when it yields nothing.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping
from itertools import chain
from typing import Annotated, Literal, overload

import numpy as np
from pydantic import Field, model_validator

from .durations import Fixed
from .spec import MAX_RATE, MAX_SECONDS, KeyedError, NonNegativeSeconds, PositiveSeconds, Rate, Spec
from .streams import BATCH, batched
from .trace import TraceFacts, TraceReader


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

    def scaled(self, factor: float) -> Mapping[str, object]:
        """The fields to change for ``factor`` times the mean rate (same pattern, scaled in time)."""
        raise NotImplementedError

    def mean_rate_over(self, start: float, stop: float) -> float:
        """The mean rate over [start, stop] (the long-run mean where it does not change in time)."""
        return self.mean_rate

    @property
    def max_factor(self) -> float:
        """The largest ``factor`` that ``scaled`` may be given (its fields stay within their bounds)."""
        rate = self.mean_rate
        return MAX_RATE / rate if rate > 0 else math.inf

    @property
    def replays(self) -> bool:
        """Whether every run makes the same attempts (a trace): replications differ in nothing that counts."""
        return False

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
        scale = 1.0 / self.rate

        def batches() -> Iterator[list[float]]:
            t = start
            while True:
                stamps = t + np.cumsum(rng.exponential(scale, BATCH))
                before = int(np.searchsorted(stamps, stop))  # increasing: the first at or after stop
                yield stamps[:before].tolist()
                if before < BATCH:
                    return
                t = float(stamps[-1])

        return chain.from_iterable(batches())  # one Python step per batch, not per attempt


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

    @property
    def max_factor(self) -> float:
        return MAX_RATE / self.rate

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


MAX_POINTS = 10_000
"""Points a rate profile may have."""

Piece = tuple[float, float, float, Callable[[np.ndarray], np.ndarray] | None]
"""(from, to, bound, rate): a stretch of time, the highest rate in it, and the rate at given times in it
(None when the rate is the bound throughout: no thinning needed)."""


def _line(t0: float, r0: float, slope: float) -> Callable[[np.ndarray], np.ndarray]:
    """The rate ``r0 + slope * (t - t0)`` of one linear segment."""

    def rate(t: np.ndarray) -> np.ndarray:
        return r0 + slope * (t - t0)

    return rate


class Varying(Arrivals):
    """A Poisson process whose rate changes in time: attempts drawn by thinning (Lewis and Shedler, 1979).

    Candidates come from a homogeneous Poisson process at a bound on the rate, piece by piece, and each
    is kept with probability rate(t) / bound. Times are seconds from the start of the run. Not a
    stationary Poisson process, so ``is_poisson`` is False and Erlang B does not apply.
    """

    @overload
    def rate_at(self, t: float) -> float: ...

    @overload
    def rate_at(self, t: np.ndarray) -> np.ndarray: ...

    def rate_at(self, t: float | np.ndarray) -> float | np.ndarray:
        """The rate (attempts per second) at time ``t`` (seconds from the start of the run), elementwise."""
        rates = self._rates(np.asarray(t, dtype=float))
        return rates if isinstance(t, np.ndarray) else float(rates)

    @abstractmethod
    def _rates(self, t: np.ndarray) -> np.ndarray:
        """The rate at each time of ``t``."""

    @abstractmethod
    def pieces(self, start: float, stop: float) -> Iterator[Piece]:
        """Consecutive pieces covering [start, stop), each with a bound on the rate over it."""

    def steps(self, span: float) -> float:
        """Thinning candidates over [0, span): each piece's bound times its length."""
        return sum(bound * (b - a) for a, b, bound, _ in self.pieces(0.0, span))

    def times(self, rng: np.random.Generator, start: float, stop: float) -> Iterator[float]:
        """Candidates in batches of at most BATCH, sized to what is left of each piece (plus a margin), so
        that short pieces draw few numbers; a piece starts afresh at its beginning (memoryless)."""
        for a, b, bound, rate in self.pieces(start, stop):
            if bound <= 0:
                continue
            t = a
            while True:
                left = bound * (b - t)  # expected candidates still to come in this piece
                n = BATCH if left >= BATCH else min(BATCH, math.ceil(left * 1.1) + 16)
                stamps = t + np.cumsum(rng.exponential(1.0 / bound, n))
                inside = stamps[: np.searchsorted(stamps, b)]
                if rate is not None:
                    inside = inside[rng.random(inside.size) * bound < rate(inside)]
                yield from inside.tolist()
                if stamps[-1] >= b:
                    break
                t = float(stamps[-1])


class Profile(Varying):
    """A piecewise-linear rate through ``points`` [time, rate] (seconds from the start of the run, per second).

    Before the first point the rate is the first point's; after the last point it stays at the last
    point's. ``mean_rate`` is the time average of the rate over [0, last point's time] (the first
    point's rate when that time is 0). Each linear segment is thinned against its own highest rate,
    so a tall, short peak costs only its own time.
    """

    kind: Literal["profile"] = "profile"
    points: Annotated[list[list[float]], Field(min_length=1, max_length=MAX_POINTS)]

    @model_validator(mode="after")
    def _check(self) -> Profile:
        previous = -math.inf
        for i, point in enumerate(self.points):
            if len(point) != 2:
                raise KeyedError(("points", i), f"a point is [time, rate], not {len(point)} number(s)")
            time, rate = point
            if not math.isfinite(time) or not 0 <= time <= MAX_SECONDS:
                raise KeyedError(("points", i, 0), f"time ({time:g}) must be between 0 and {MAX_SECONDS:g} s")
            if time <= previous:
                raise KeyedError(("points", i, 0), f"time ({time:g}) must be after the previous point's ({previous:g})")
            if not math.isfinite(rate) or not 0 <= rate <= MAX_RATE:
                raise KeyedError(("points", i, 1), f"rate ({rate:g}) must be between 0 and {MAX_RATE:g} per second")
            previous = time
        if not any(rate > 0 for _, rate in self.points):
            raise KeyedError("points", "every rate is 0: at least one point needs a positive rate")
        return self

    @property
    def mean_rate(self) -> float:
        """The time average of the rate over [0, last point's time]."""
        times = [t for t, _ in self.points]
        rates = [r for _, r in self.points]
        if times[-1] == 0:
            return rates[0]
        area = rates[0] * times[0] + sum(
            (t1 - t0) * (r0 + r1) / 2 for t0, t1, r0, r1 in zip(times, times[1:], rates, rates[1:], strict=False)
        )
        return area / times[-1]

    def scaled(self, factor: float) -> dict[str, list[list[float]]]:
        return {"points": [[t, r * factor] for t, r in self.points]}

    @property
    def max_factor(self) -> float:
        return MAX_RATE / max(r for _, r in self.points)

    def mean_rate_over(self, start: float, stop: float) -> float:
        if stop <= start:
            return float(np.interp(start, [p[0] for p in self.points], [p[1] for p in self.points]))
        times = [p[0] for p in self.points]
        knots = np.array([start, *(t for t in times if start < t < stop), stop])
        rates = np.interp(knots, times, [p[1] for p in self.points])
        return float(np.sum((rates[1:] + rates[:-1]) / 2 * np.diff(knots)) / (stop - start))

    def _rates(self, t: np.ndarray) -> np.ndarray:
        rates: np.ndarray = np.interp(t, [p[0] for p in self.points], [p[1] for p in self.points])
        return rates

    def pieces(self, start: float, stop: float) -> Iterator[Piece]:
        first_time, first_rate = self.points[0]
        last_time, last_rate = self.points[-1]
        if start < min(first_time, stop):
            yield start, min(first_time, stop), first_rate, None
        for (t0, r0), (t1, r1) in zip(self.points, self.points[1:], strict=False):
            a, b = max(t0, start), min(t1, stop)
            if a >= b:
                continue
            if r0 == r1:
                yield a, b, r0, None
            else:  # linear: the higher end of the part inside [start, stop) bounds it
                slope = (r1 - r0) / (t1 - t0)
                yield a, b, max(r0 + slope * (a - t0), r0 + slope * (b - t0), 0.0), _line(t0, r0, slope)
        if max(last_time, start) < stop:
            yield max(last_time, start), stop, last_rate, None


class Diurnal(Varying):
    """A sinusoidal rate: mean + amplitude * sin(2 pi (t - phase) / period), t in seconds from the start of the run.

    Thinned against the peak rate mean + amplitude.
    """

    kind: Literal["diurnal"] = "diurnal"
    mean: Rate
    amplitude: Annotated[float, Field(ge=0, le=MAX_RATE, allow_inf_nan=False, description="connections per second")]
    period: PositiveSeconds
    phase: NonNegativeSeconds = 0.0

    @model_validator(mode="after")
    def _check(self) -> Diurnal:
        if self.amplitude > self.mean:
            raise KeyedError(
                "amplitude",
                f"amplitude ({self.amplitude:g}) is greater than mean ({self.mean:g}): the rate would be negative",
            )
        if self.mean + self.amplitude > MAX_RATE:
            raise KeyedError(
                "amplitude", f"the peak rate, mean + amplitude ({self.mean + self.amplitude:g}), is above {MAX_RATE:g}"
            )
        return self

    @property
    def mean_rate(self) -> float:
        return self.mean

    def scaled(self, factor: float) -> dict[str, float]:
        return {"mean": self.mean * factor, "amplitude": self.amplitude * factor}

    @property
    def max_factor(self) -> float:
        return MAX_RATE / (self.mean + self.amplitude)

    def mean_rate_over(self, start: float, stop: float) -> float:
        w = 2 * math.pi / self.period
        if stop <= start:
            return self.mean + self.amplitude * math.sin(w * (start - self.phase))
        swing = math.cos(w * (start - self.phase)) - math.cos(w * (stop - self.phase))
        return self.mean + self.amplitude * swing / (w * (stop - start))

    def _rates(self, t: np.ndarray) -> np.ndarray:
        return self.mean + self.amplitude * np.sin(2 * np.pi * (t - self.phase) / self.period)

    def pieces(self, start: float, stop: float) -> Iterator[Piece]:
        if start < stop:
            yield start, stop, self.mean + self.amplitude, self._rates if self.amplitude else None


MAX_SPEED = 1e6
"""How many times faster than recorded a trace may be replayed."""


class Trace(Arrivals):
    """Connections replayed from a trace file (``trace``): one row each, with its start, duration,
    destination and optionally its close side.

    ``file`` is stored as an absolute path. ``checked`` is what reading the file found, filled in when
    the scenario is validated (and again whenever the file, its size or its modification time changes).
    ``speed`` divides every start time (2: the same connections in half the time); durations stay as
    they are. The model replays the rows itself (``sim.model.replay``); ``times`` gives their start times.
    """

    kind: Literal["trace"] = "trace"
    file: Annotated[str, Field(min_length=1, max_length=4096)]
    speed: Annotated[float, Field(gt=0, le=MAX_SPEED, allow_inf_nan=False)] = 1.0
    checked: TraceFacts | None = None

    @property
    def facts(self) -> TraceFacts:
        """What reading the file found (set once the workload is validated)."""
        assert self.checked is not None, "a trace workload is checked when its scenario is validated"
        return self.checked

    @property
    def mean_rate(self) -> float:
        """Rows per second between the first row's start and the last's (the rows, over one second, if equal)."""
        facts = self.facts
        span = (facts.last_start - facts.first_start) / self.speed
        return facts.rows / span if span > 0 else float(facts.rows)

    def steps(self, span: float) -> float:
        return min(float(self.facts.rows), self.mean_rate * span)

    def scaled(self, factor: float) -> dict[str, float]:
        return {"speed": self.speed * factor}

    @property
    def max_factor(self) -> float:
        return MAX_SPEED / self.speed

    @property
    def replays(self) -> bool:
        return True

    @property
    def holding(self) -> Fixed:
        """The rows' mean duration, as a fixed duration (for estimates; each row keeps its own)."""
        return Fixed(value=self.facts.mean_duration)

    def times(self, rng: np.random.Generator, start: float, stop: float) -> Iterator[float]:
        for _, begin, _, _, _ in TraceReader(self.file).rows():
            t = begin / self.speed
            if t >= stop:
                return
            if t >= start:
                yield t


ArrivalSpec = Annotated[Poisson | Constant | OnOff | Profile | Diurnal | Trace, Field(discriminator="kind")]
ARRIVALS: dict[str, type[Arrivals]] = {
    cls.model_fields["kind"].default: cls for cls in (Poisson, Constant, OnOff, Profile, Diurnal, Trace)
}
