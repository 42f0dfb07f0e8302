"""Replaying a trace workload: its rows streamed into the traffic process, one row per connection attempt.

The file is read as the run goes, never whole, so memory stays flat however long the trace. The
traffic process takes a workload's next attempt time only after the attempt at the current one, so
the row behind the current time is kept, and the workload's destination and duration streams give
that row's values: they stay with the row being attempted, whichever attempts fail.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping

from ..config.errors import ScenarioError
from ..config.workload import Workload
from ..core.arrivals import Trace
from ..core.hooks import Driven
from ..core.trace import DEFAULT_CLOSE, TraceError, TraceReader
from ..core.transitions import CLOSE_CODES, CLOSES


class Replay:
    """One run's replay of a trace workload: attempt times, and the destination and duration of each."""

    def __init__(
        self,
        spec: Trace,
        destinations: Mapping[str, int],
        close: int,
        sides: dict[int, int] | None = None,
        last_id: Callable[[], int] | None = None,
        key: str = "arrivals.file",
    ) -> None:
        """``destinations``: each destination's index by ``address:port``; ``close``: the workload's close code.

        ``sides`` (with ``last_id``, the id of the connection that opened last): where to record each
        connection's close side, for a trace with a ``close`` column; None otherwise. ``key``: the
        scenario key naming the file, for messages.
        """
        self.spec = spec
        self.key = key
        self.destinations_by_label = dict(destinations)
        self.codes = [CLOSE_CODES[name] for name in CLOSES] + [close]
        """Close code by a row's side; the last, at DEFAULT_CLOSE (-1), is the workload's."""
        assert self.codes[DEFAULT_CLOSE] == close
        self.sides = sides
        self.last_id = last_id
        self.destination = -1
        """The destination index of the row being attempted."""
        self.duration = 0.0
        """The duration of the row being attempted."""
        self.close = close
        """The close code of the row being attempted."""
        self._check_unchanged()

    @classmethod
    def of(
        cls,
        c: int,
        workload: Workload,
        index: Mapping[tuple[str, int], int],
        lifecycle: Driven,
        last_id: Callable[[], int],
    ) -> Replay | None:
        """The replay of workload ``workload`` (connection class ``c``) if it is a trace, else None.

        ``index``: each destination's index by (address, port). A trace with close sides of its own
        makes its class close per connection in ``lifecycle``.
        """
        spec = workload.arrivals
        if not isinstance(spec, Trace):
            return None
        labels = {d.label: index[d.endpoint] for d in workload.destinations}
        sides = lifecycle.close_per_connection(c) if spec.facts.sides else None
        return cls(
            spec, labels, CLOSE_CODES[workload.close], sides, last_id, f"workloads.{workload.name}.arrivals.file"
        )

    def _check_unchanged(self) -> None:
        """Refuse a file that is gone or changed since the scenario was validated (its results would not be its)."""
        facts = self.spec.facts
        name = f"{self.key}: {self.spec.file}"
        try:
            info = os.stat(self.spec.file)
        except OSError as exc:
            raise ScenarioError(f"{name}: cannot read the trace: {exc.strerror or exc}") from None
        if (info.st_size, info.st_mtime_ns) != (facts.size, facts.mtime_ns):
            raise ScenarioError(
                f"{name}: the trace changed since the scenario was checked; load the scenario again to check it anew"
            )

    def times(self, start: float, stop: float) -> Iterator[float]:
        """Start times of the rows in [start, stop) (divided by the trace's ``speed``), keeping each row."""
        speed = self.spec.speed
        labels = self.destinations_by_label
        codes = self.codes
        reader = TraceReader(self.spec.file)
        try:
            for line, begin, duration, label, side in reader.rows():
                t = begin / speed
                if t < start:
                    continue
                if t >= stop:
                    return
                destination = labels.get(label)
                if destination is None:
                    raise ScenarioError(
                        f"{reader.name}:{line}: destination {label} is not one of the workload's destinations"
                    )
                self.destination = destination
                self.duration = duration
                self.close = codes[side]
                yield t
        except TraceError as exc:
            raise ScenarioError(str(exc)) from None

    def destinations(self) -> Iterator[int]:
        """The destination of the row being attempted, at each attempt."""
        while True:
            yield self.destination

    def durations(self) -> Iterator[float]:
        """The duration of the row being attempted, read once its connection has opened.

        With close sides of its own, the row's side is recorded for that connection (``last_id()``).
        """
        sides = self.sides
        if sides is None or self.last_id is None:
            while True:
                yield self.duration
        else:
            last_id = self.last_id
            while True:
                sides[last_id()] = self.close
                yield self.duration
