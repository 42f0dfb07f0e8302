"""What a scenario says about its clients: requests, the connection pool and retries (validated, frozen).

Units: seconds, and requests per second for request arrivals.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from ..core.arrivals import ArrivalSpec
from ..core.durations import DurationSpec
from ..core.spec import KeyedError, NonNegativeSeconds, PositiveSeconds, Spec
from .presets import CLIENT_PRESETS

MAX_CONNECTIONS = 1 << 20
"""The largest connection count a pool limit may give."""
MAX_RETRIES = 100

Count = Annotated[int, Field(ge=0, le=MAX_CONNECTIONS)]
PositiveCount = Annotated[int, Field(ge=1, le=MAX_CONNECTIONS)]


class Requests(Spec):
    """Requests instead of connections: when they arrive and how long each holds its connection."""

    arrivals: ArrivalSpec
    latency: DurationSpec


class PoolSpec(Spec):
    """A client's connection pool, one per (workload, destination) on each host.

    A request takes an idle connection (``order``: the most recently used first, ``lifo``, or the
    oldest, ``fifo``), else opens one unless ``max_per_host`` are open: then it waits in line
    (``when_full: wait``, at most ``wait_timeout`` seconds) or fails (``when_full: fail``). After the
    request the connection goes back to the idle set if fewer than ``max_idle_per_host`` (and
    ``max_idle_total`` over the workload's destinations) are idle, else the client closes it. The
    client closes an idle connection after ``idle_timeout``; the server closes it after
    ``server_idle_timeout`` (no TIME_WAIT here) when that comes first. A connection that has served
    ``max_requests`` requests or lived ``max_lifetime`` seconds is closed when it is next returned or
    taken. ``keep_alive: false``: one connection per request, closed after it by the workload's
    ``close`` side. ``null`` means no limit.
    """

    preset: str = "custom"
    """The client preset the values came from (``custom`` when none)."""
    keep_alive: bool = True
    max_per_host: PositiveCount | None = None
    when_full: Literal["wait", "fail"] = "wait"
    wait_timeout: PositiveSeconds | None = None
    max_idle_per_host: Count | None = None
    max_idle_total: Count | None = None
    idle_timeout: PositiveSeconds | None = None
    server_idle_timeout: PositiveSeconds | None = None
    max_requests: PositiveCount | None = None
    max_lifetime: PositiveSeconds | None = None
    order: Literal["lifo", "fifo"] = "lifo"

    def given(self) -> dict[str, Any]:
        """The pool as written: its preset and the keys that differ from it (so a new preset changes the rest)."""
        data = self.model_dump(mode="json")
        if self.preset not in CLIENT_PRESETS:
            return data
        base = PoolSpec.model_validate(CLIENT_PRESETS[self.preset].fields()).model_dump(mode="json")
        return {key: value for key, value in data.items() if key == "preset" or value != base[key]}

    def contradictions(self) -> list[str]:
        """Keys that are set but can change nothing, given the others (valid, but probably not meant)."""
        notes = []
        written = self.given()  # a preset's own values are not the user's contradiction
        if not self.keep_alive:
            unused: list[str] = [
                key
                for key in ("max_idle_per_host", "max_idle_total", "idle_timeout", "server_idle_timeout")
                if getattr(self, key) is not None and getattr(self, key) != 0 and key in written
            ]
            unused += [
                key for key in ("max_requests", "max_lifetime") if getattr(self, key) is not None and key in written
            ]
            if unused:
                verb = "changes" if len(unused) == 1 else "change"
                notes.append(f"keep_alive is false, so {', '.join(unused)} {verb} nothing (no connection is kept)")
        if self.max_per_host is None and (self.wait_timeout is not None or self.when_full == "fail"):
            key = "wait_timeout" if self.wait_timeout is not None else "when_full: fail"
            notes.append(f"{key} changes nothing without max_per_host (the pool is never full)")
        elif self.when_full == "fail" and self.wait_timeout is not None:
            notes.append("wait_timeout changes nothing with when_full: fail (requests do not wait)")
        idle, most = self.max_idle_per_host, self.max_per_host
        if self.keep_alive and most is not None and idle is not None and idle > most:
            notes.append(f"max_idle_per_host ({idle}) is above max_per_host ({most}): at most max_per_host can be idle")
        if self.keep_alive and self.max_idle_per_host == 0 and self.max_idle_total != 0:
            notes.append("max_idle_per_host is 0: no connection is kept, as with keep_alive: false")
        return notes

    @property
    def idle_close(self) -> tuple[float | None, bool]:
        """Seconds after which an idle connection closes, and whether the server closes it (no TIME_WAIT here)."""
        client, server = self.idle_timeout, self.server_idle_timeout
        if server is not None and (client is None or server < client):
            return server, True
        return client, False


Backoff = Literal["exponential", "fixed", "none"]
Jitter = Literal["none", "full", "equal"]


class RetrySpec(Spec):
    """Tries again after a failed connect() or bind(), or a pool wait that timed out or was refused.

    The k-th retry waits ``base * 2**(k-1)`` seconds capped at ``cap`` (``exponential``), ``base``
    (``fixed``) or nothing (``none``); ``jitter: full`` draws the wait uniformly in [0, wait],
    ``equal`` in [wait/2, wait]. After ``max`` retries the request fails for good.
    """

    max: Annotated[int, Field(ge=0, le=MAX_RETRIES)] = 3
    backoff: Backoff = "exponential"
    base: NonNegativeSeconds = 0.1
    cap: PositiveSeconds = 5.0
    jitter: Jitter = "none"

    @model_validator(mode="after")
    def _cap(self) -> RetrySpec:
        if self.backoff == "exponential" and self.cap < self.base:
            raise KeyedError("cap", f"cap ({self.cap:g}) is below base ({self.base:g})", ("base",))
        return self

    def delay(self, k: int) -> float:
        """The wait before retry ``k`` (1-based), before jitter."""
        if self.backoff == "none":
            return 0.0
        if self.backoff == "fixed":
            return self.base
        return min(self.cap, self.base * 2.0 ** min(k - 1, 1000))


def pool_fields(value: Any) -> Any:
    """The fields a ``pool`` value gives, for validation: a preset name, or a mapping (with an optional preset)."""
    if isinstance(value, str):
        if value not in CLIENT_PRESETS:
            known = ", ".join(CLIENT_PRESETS)
            raise ValueError(f"unknown client preset {value!r} (presets: {known})")
        return CLIENT_PRESETS[value].fields()
    if isinstance(value, dict) and isinstance(value.get("preset"), str) and value["preset"] != "custom":
        name = value["preset"]
        if name not in CLIENT_PRESETS:
            known = ", ".join(CLIENT_PRESETS)
            raise KeyedError("preset", f"unknown client preset {name!r} (presets: {known})")
        return {**CLIENT_PRESETS[name].fields(), **value}
    return value
