"""The port map: snapshots of the pool itself, one byte per port, at fixed times and at the first failure.

A ``PortMapRecorder`` reads the pool's flag bytes (``core.pool``) toward one destination from one
source address, in port order, after the model has brought every layer up to the snapshot's time. It
takes one *still* in every run, when the first connect() (or bind()) fails, from the failing source
toward the failing destination, or of the pair a ``PortMapSpec`` chose (at the end of the run when
nothing fails), and, when asked with a
``PortMapSpec``, *frames* at evenly spaced times from 0 to the end of the run, taken by a SimPy
process of its own. Nothing is added to a successful attempt's path: the still is taken on the failure
path, once, and a run without frames has no process. The recorder only reads: a run gives the same
results with or without it.

A snapshot byte holds the pool's flags (``ESTABLISHED``, ``TIME_WAIT``, ``FIN_WAIT2``, ``BOUND``,
``RESERVED``), plus ``OTHER`` on a port that is free toward this destination but carries a socket
toward another one (4-tuple sharing: connect() may still take it, bind() may not).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field

import numpy as np
import simpy

from ..config.errors import ScenarioError, echo
from ..config.scenario import Scenario
from ..core.pool import PortPool
from .recorder import Recorder

OTHER = 32
"""Snapshot flag: free toward the chosen destination, but carrying a socket toward another one."""
MAX_FRAMES = 1000
"""Frames kept at most (fps x seconds is capped here; the frames stay evenly spaced over the run)."""
MAX_FPS = 50.0
"""Frames per second at most: a GIF cannot show a frame for less than 0.02 s."""
MIN_FRAMES = 2
"""Frames at least: the start and the end of the run."""
DEFAULT_FPS = 10.0
DEFAULT_SECONDS = 15.0


@dataclass(frozen=True)
class PortMapSpec:
    """What to animate: ``fps`` frames per second over ``seconds`` of animation, toward ``destination``
    (``"ADDR:PORT"``; None: the scenario's first) from source address ``source`` (0: the first)."""

    fps: float = DEFAULT_FPS
    seconds: float = DEFAULT_SECONDS
    destination: str | None = None
    source: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.fps <= MAX_FPS:
            raise ScenarioError(f"port map fps {echo(self.fps)}: must be above 0 and at most {MAX_FPS:g}")
        if not 0 < self.seconds < float("inf"):
            raise ScenarioError(f"port map seconds {echo(self.seconds)}: must be a finite number above 0")
        if self.source < 0:
            raise ScenarioError(f"port map source {self.source}: must be 0 (the first address) or more")

    @property
    def asked(self) -> int:
        """Frames asked for: fps x seconds, rounded."""
        return max(MIN_FRAMES, round(self.fps * self.seconds))

    @property
    def frames(self) -> int:
        """Frames recorded: ``asked``, at most MAX_FRAMES."""
        return min(MAX_FRAMES, self.asked)

    @property
    def playback_fps(self) -> float:
        """Frames per second of the animation: ``fps``, or fewer when the frames were capped (same length)."""
        return self.fps if self.asked <= MAX_FRAMES else MAX_FRAMES / self.seconds

    def check(
        self, scenario: Scenario, destination_name: str = "port map destination", source_name: str = "port map source"
    ) -> int:
        """The index of the chosen destination in ``scenario.destinations``; ScenarioError if there is no such
        destination or source address (the message names them ``destination_name`` and ``source_name``)."""
        n_sources = scenario.fleet_host.source_addresses
        if self.source >= n_sources:
            raise ScenarioError(
                f"{source_name} {self.source}: {scenario.name} has {n_sources} source address(es), numbered from 0"
            )
        if self.destination is None:
            return 0
        labels = [d.label for d in scenario.destinations]
        wanted = self.destination.strip()
        for i, label in enumerate(labels):
            if wanted in (label, label.replace("[", "").replace("]", "")):
                return i
        listed = ", ".join(labels[:5]) + (", ..." if len(labels) > 5 else "")
        raise ScenarioError(
            f"{destination_name} {echo(self.destination)}: not a destination of {scenario.name} ({listed})"
        )


@dataclass(frozen=True)
class Snapshot:
    """The pool toward one destination from one source address at one instant."""

    time: float
    attempts: int
    """Connection attempts made before the snapshot (the failing one included for a failure still)."""
    failures: int
    source: int
    destination: str
    flags: np.ndarray
    """uint8 per port, in port order from the low end of the range."""


@dataclass
class PortMap:
    """What a run recorded of its pool: the still, and the frames when asked for."""

    low: int
    """The first port of the range."""
    still: Snapshot
    at_failure: bool
    """Whether the still was taken at the first failure (else at the end of the run: nothing failed)."""
    source: int
    """The frames' source address and destination."""
    destination: str
    fps: float
    """Frames per second to play the frames at."""
    times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    frames: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.uint8))
    """uint8, one row per frame, one column per port."""
    attempts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Attempts made before each frame, from the start of the run (warm-up included)."""
    failures: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def size(self) -> int:
        """Ports in the range."""
        return int(self.still.flags.size)

    @property
    def animated(self) -> bool:
        """Whether frames were recorded."""
        return bool(self.times.size)


class PortMapRecorder:
    """Takes the port map's snapshots of one run (see the module docstring)."""

    def __init__(
        self,
        pool: PortPool,
        counts: Recorder,
        labels: Sequence[str],
        low: int,
        spec: PortMapSpec | None = None,
        destination: int = 0,
        sources: range | None = None,
    ) -> None:
        """``labels``: the destinations' ``address:port``; ``destination``: the frames' (an index of ``labels``);
        ``sources``: the source indices ``pool`` holds (all), whose first failure makes the still."""
        self.pool = pool
        self.sources = range(pool.n_sources) if sources is None else sources
        self.counts = counts
        self.labels = list(labels)
        self.low = low
        self.spec = spec
        self.destination = destination
        self.source = spec.source if spec is not None else 0
        offsets = np.asarray(pool.offsets, dtype=np.int64)
        natural = bool((offsets == np.arange(pool.size)).all())
        self._slots: np.ndarray | None = None if natural else np.argsort(offsets)
        """Slot of each port, in port order (None: the same)."""
        self.still: Snapshot | None = None
        self.at_failure = False
        n = spec.frames if spec is not None else 0
        self.times = np.zeros(n)
        self.frames = np.zeros((n, pool.size), dtype=np.uint8)
        self.attempts = np.zeros(n, dtype=np.int64)
        self.failures = np.zeros(n, dtype=np.int64)
        self._taken = 0

    def flags(self, src: int, dst: int) -> np.ndarray:
        """The snapshot bytes toward ``dst`` from ``src`` now, in port order."""
        pool = self.pool
        flags = np.frombuffer(pool.flags(src, dst), dtype=np.uint8)
        held = np.frombuffer(pool.local[src], dtype=np.uint8) != 0
        out: np.ndarray = flags | ((flags == 0) & held).astype(np.uint8) * np.uint8(OTHER)
        return out if self._slots is None else out[self._slots]

    def _snapshot(self, src: int, dst: int, now: float) -> Snapshot:
        return Snapshot(
            time=now,
            attempts=sum(self.counts.attempts),
            failures=sum(self.counts.failures),
            source=src,
            destination=self.labels[dst],
            flags=self.flags(src, dst),
        )

    def failed(self, src: int, dst: int, now: float) -> None:
        """The first failure of the run, from ``src`` toward ``dst`` at ``now``: take the still (call once), of
        that pair, or of the pair the spec chose. Failures on sources of other pools (a fleet's other host
        groups) take nothing."""
        if src not in self.sources:
            return
        spec = self.spec
        if spec is not None and (spec.destination is not None or spec.source != 0):
            src, dst = self.source, self.destination
        self.still = self._snapshot(src, dst, now)
        self.at_failure = True

    def _frame(self, t: float) -> None:
        k = self._taken
        self.times[k] = t
        self.frames[k] = self.flags(self.source, self.destination)
        self.attempts[k] = sum(self.counts.attempts)
        self.failures[k] = sum(self.counts.failures)
        self._taken = k + 1

    def process(
        self, env: simpy.Environment, advance: Callable[[float], None], duration: float
    ) -> Generator[simpy.events.Event, object, None]:
        """Take every frame before the end of the run: wait for its time, bring the model up to it, read the pool.

        Attempts at exactly a frame's time come after it, as with the time-series samples.
        """
        times = np.linspace(0.0, duration, self.times.size)
        for t in times[:-1].tolist():
            if t > env.now:
                yield env.timeout(t - env.now)
            advance(t)
            self._frame(t)

    def finish(self, now: float) -> None:
        """At the end of the run (the model up to ``now``): the last frame, and the still if nothing failed."""
        if self._taken < self.times.size:
            self._frame(now)
        if self.still is None:
            self.still = self._snapshot(self.source, self.destination, now)

    def records(self) -> PortMap:
        """What was recorded (call after ``finish``)."""
        if self.still is None:
            raise ValueError("the port map has no still yet: call finish() at the end of the run")
        n = self._taken
        return PortMap(
            low=self.low,
            still=self.still,
            at_failure=self.at_failure,
            source=self.source,
            destination=self.labels[self.destination],
            fps=self.spec.playback_fps if self.spec is not None else DEFAULT_FPS,
            times=self.times[:n],
            frames=self.frames[:n],
            attempts=self.attempts[:n],
            failures=self.failures[:n],
        )
