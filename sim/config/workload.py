"""A scenario's workloads: streams of connections toward weighted destinations."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ..clients.spec import PoolSpec, Requests, RetrySpec, pool_fields
from ..core.arrivals import ArrivalSpec, Trace
from ..core.durations import DurationSpec
from ..core.spec import KeyedError, NonNegativeSeconds, PositiveSeconds, Spec
from ..core.transitions import Close
from .errors import echo
from .trace import checked_trace

Port = Annotated[int, Field(ge=1, le=65535)]
Bind = bool | Literal["no_port"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
"""Names of scenarios, workloads and variants: they name folders and command-line items."""
MAX_DESTINATIONS = 1024
"""Distinct destinations in a scenario (and destinations listed by one workload)."""
MIN_WEIGHT, MAX_WEIGHT = 1e-9, 1e9


class Destination(Spec):
    """A remote endpoint: address, port, and the share of the workload's connections it receives."""

    address: str
    port: Port
    weight: Annotated[float, Field(ge=MIN_WEIGHT, le=MAX_WEIGHT, allow_inf_nan=False)] = 1.0

    @field_validator("address")
    @classmethod
    def _ip(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError(f"{echo(value)} is not an IPv4 or IPv6 address") from None

    @property
    def label(self) -> str:
        """``address:port``, with brackets around IPv6 addresses."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"

    @property
    def loopback(self) -> bool:
        """Whether the address is a loopback address (127.0.0.0/8 or ::1): tcp_tw_reuse = 2 applies."""
        return ipaddress.ip_address(self.address).is_loopback

    @property
    def endpoint(self) -> tuple[str, int]:
        """(address, port): what identifies the destination across workloads."""
        return self.address, self.port


class Workload(Spec):
    """A stream of connections (``arrivals``, ``duration``) or of requests through a client's connection
    pool (``requests``, ``pool``), with a close side, a bind mode and optional retries.

    ``bind``: ``false`` is a plain connect() from the host's first source address; ``no_port`` is
    bind(address, 0) with IP_BIND_ADDRESS_NO_PORT, spreading connections over the source addresses
    with the port still chosen at connect(); ``true`` is bind(address, 0) then connect(): the port is
    then exclusive to its address. ``reuseaddr`` sets SO_REUSEADDR before bind(). ``close`` is the side
    that closes a connection first when it ends with its request or its drawn duration; connections a
    pool closes (surplus, idle, worn out) are closed by the client, and ``pool.server_idle_timeout`` by
    the server.
    """

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    arrivals: ArrivalSpec | None = None
    duration: DurationSpec | None = None
    requests: Requests | None = None
    pool: PoolSpec | None = None
    close: Close = "client"
    bind: Bind = False
    reuseaddr: bool = False
    destinations: Annotated[list[Destination], Field(min_length=1, max_length=MAX_DESTINATIONS)]
    start: NonNegativeSeconds = 0.0
    stop: PositiveSeconds | None = None
    retry: RetrySpec | None = None

    @field_validator("pool", mode="before")
    @classmethod
    def _preset(cls, value: object) -> object:
        return pool_fields(value)

    @model_validator(mode="before")
    @classmethod
    def _pool_default(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("requests") is not None and data.get("pool") is None:
            return {**data, "pool": "none"}
        return data

    @model_validator(mode="after")
    def _window(self) -> Workload:
        if self.stop is not None and self.stop <= self.start:
            raise KeyedError("stop", f"stop ({self.stop:g}) must be after start ({self.start:g})")
        return self

    @model_validator(mode="after")
    def _kind(self) -> Workload:
        if self.requests is not None:
            for key in ("arrivals", "duration"):
                if getattr(self, key) is not None:
                    raise KeyedError(
                        key, f"a request workload takes its {key} from requests: (arrivals, latency)", ("requests",)
                    )
        else:
            if self.pool is not None:
                raise KeyedError(
                    "pool",
                    "a pool serves requests: give requests: {arrivals, latency} instead of arrivals and duration",
                )
            traced = isinstance(self.arrivals, Trace)
            if traced and self.duration is not None:
                raise KeyedError("duration", "a trace gives each connection's duration: remove duration", ("arrivals",))
            for key in ("arrivals", "duration"):
                if getattr(self, key) is None and not (traced and key == "duration"):
                    raise KeyedError(key, "missing: a workload needs arrivals and duration (or requests: ...)")
        return self

    @model_validator(mode="after")
    def _trace(self) -> Workload:
        if self.requests is not None and isinstance(self.requests.arrivals, Trace):
            raise KeyedError(
                ("requests", "arrivals", "kind"), "a trace replays connections, not requests: give it as arrivals:"
            )
        if not isinstance(self.arrivals, Trace):
            return self
        if self.retry is not None:
            raise KeyedError("retry", "a trace records the connections that happened, retries included: remove retry")
        trace = checked_trace(self.arrivals, [d.label for d in self.destinations])
        return self if trace is self.arrivals else self.model_copy(update={"arrivals": trace})

    @property
    def offered(self) -> ArrivalSpec:
        """When connections (or requests) arrive."""
        spec = self.requests.arrivals if self.requests is not None else self.arrivals
        assert spec is not None  # _kind
        return spec

    @property
    def holding(self) -> DurationSpec:
        """How long a connection (or a request on its connection) lasts."""
        spec = self.requests.latency if self.requests is not None else self.duration
        if spec is None and isinstance(self.arrivals, Trace):
            return self.arrivals.holding
        assert spec is not None  # _kind
        return spec

    @property
    def arrivals_key(self) -> str:
        """The key path, under the workload, of its arrivals."""
        return "arrivals" if self.requests is None else "requests.arrivals"

    @property
    def pooled(self) -> bool:
        """Whether requests go through a keep-alive pool (not one connection per request)."""
        return self.pool is not None and self.pool.keep_alive

    @property
    def layered(self) -> bool:
        """Whether the workload goes through the client layer: requests (whatever the pool), or retries."""
        return self.requests is not None or (self.retry is not None and self.retry.max > 0)

    @property
    def bound(self) -> bool:
        """Whether the port is owned through bind() before connect() (exclusive to its address)."""
        return self.bind is True

    @property
    def weights(self) -> list[float]:
        """Each destination's share of the workload's connections (summing to 1)."""
        top = max(d.weight for d in self.destinations)
        scaled = [d.weight / top for d in self.destinations]
        total = sum(scaled)
        return [w / total for w in scaled]
