"""The ``host`` of a scenario as written, filled from its preset, and its fully resolved form.

Units: seconds. Keys left out are taken from ``preset``; ``resolved`` is the same host with every
value set (``core.host.ResolvedHost``), which is all the model reads.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, ModelWrapValidatorHandler, PrivateAttr, field_validator, model_validator

from ..core.host import ResolvedHost, Sharing
from ..core.policies import policy_params, split_policy
from ..core.spec import MAX_SECONDS, KeyedError, NonNegativeSeconds, Spec
from ..core.timers import TIMER_HZ, wheel_granularity
from .presets import PRESET_NAMES, PRESETS

Port = Annotated[int, Field(ge=1, le=65535)]
MAX_SOURCE_ADDRESSES = 256
MAX_RESERVED_ITEMS = 1024
"""Entries (ports or ranges) in ``reserved_ports``."""
MIN_GRANULARITY = 0.001
"""The finest timer grid: one jiffy at HZ 1000."""
MAX_TW_BUCKETS = 1 << 31


def parse_reserved(items: Iterable[int | str]) -> frozenset[int]:
    """Ports from a list of ports and ``"low-high"`` ranges (or one comma-separated string)."""
    ports: set[int] = set()
    for item in items:
        parts = item.split(",") if isinstance(item, str) else [item]
        if len(parts) > MAX_RESERVED_ITEMS:
            raise ValueError(f"more than {MAX_RESERVED_ITEMS} ports or ranges")
        for part in parts:
            if isinstance(part, int):
                low = high = part
            else:
                match = re.fullmatch(r"\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?", part)
                if not match:
                    raise ValueError(f"{json.dumps(part[:40])} is neither a port nor a 'low-high' range")
                low = int(match[1])
                high = int(match[2] or match[1])
            if not 1 <= low <= high <= 65535:
                raise ValueError(f"reserved ports {low}-{high}: ports must satisfy 1 <= low <= high <= 65535")
            ports.update(range(low, high + 1))
    return frozenset(ports)


T = TypeVar("T")


def _filled(value: T | None) -> T:
    """A host value after the preset filled it in (every preset sets every key)."""
    if value is None:
        raise ValueError("a host value is missing after the preset was applied")
    return value


def _grid(data: Mapping[str, Any], timer_grid: bool) -> float | None:
    """The TIME_WAIT grid a preset with a timer wheel implies, when time_wait and timer_hz are valid."""
    if not timer_grid:
        return 0.0
    time_wait, hz = data.get("time_wait"), data.get("timer_hz")
    if not isinstance(time_wait, int | float) or isinstance(time_wait, bool) or hz not in TIMER_HZ:
        return None  # left to validation, which reports the bad value
    if not 0 <= time_wait <= MAX_SECONDS or math.isnan(time_wait):
        return None
    assert isinstance(hz, int)
    return wheel_granularity(float(time_wait), hz) if time_wait > 0 else 0.0


class Host(Spec):
    """The machine opening connections: its ephemeral range, allocation policy, TCP timers and reuse rules.

    Fields left out are taken from ``preset``.
    """

    preset: Annotated[str, Field(json_schema_extra={"enum": list(PRESET_NAMES)})] = "iana"
    port_range: tuple[Port, Port] | None = None
    policy: str | dict[str, Any] | None = None
    time_wait: NonNegativeSeconds | None = None
    source_addresses: Annotated[int, Field(ge=1, le=MAX_SOURCE_ADDRESSES)] = 1
    sharing: Sharing | None = None
    reserved_ports: Annotated[list[int | str], Field(max_length=MAX_RESERVED_ITEMS)] | str = Field(default_factory=list)
    tw_reuse: Literal[0, 1, 2] | None = None
    tw_reuse_delay: NonNegativeSeconds | None = None
    timestamps: bool | None = None
    max_tw_buckets: Annotated[int, Field(ge=0, le=MAX_TW_BUCKETS)] | Literal["unlimited"] | None = None
    fin_timeout: NonNegativeSeconds | None = None
    timer_hz: Literal[100, 250, 300, 1000] | None = None
    time_wait_granularity: NonNegativeSeconds | None = None
    connect_base_us: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)] | None = None
    probe_cost_ns: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)] | None = None

    _explicit: frozenset[str] = PrivateAttr(default=frozenset())
    _preset_given: bool = PrivateAttr(default=False)
    _written: dict[str, Any] | None = PrivateAttr(default=None)
    _resolved: ResolvedHost | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _apply_preset(cls, data: Any, handler: ModelWrapValidatorHandler[Host]) -> Host:
        """Fill the keys left out from the preset, remembering which keys were given."""
        if not isinstance(data, Mapping):
            return handler(data)
        explicit = frozenset(k for k, v in data.items() if v is not None and k != "preset")
        name = data.get("preset", "iana")
        preset = PRESETS.get(name) if isinstance(name, str) else None
        filled = dict(data)
        if preset is not None:
            for key, value in preset.host_defaults().items():
                if filled.get(key) is None:
                    filled[key] = value
            if filled.get("time_wait_granularity") is None:
                filled["time_wait_granularity"] = _grid(filled, preset.timer_grid)
        given_range = filled.get("port_range")
        if isinstance(given_range, list):
            filled["port_range"] = tuple(given_range)
        elif isinstance(given_range, str) and re.fullmatch(r"\s*\d{1,5}\s*-\s*\d{1,5}\s*", given_range):
            low, high = given_range.split("-")  # "32768-60999", as ip_local_port_range is often written
            filled["port_range"] = (int(low), int(high))
        host = handler(filled)
        host._explicit = explicit
        host._preset_given = data.get("preset") is not None
        return host

    def __eq__(self, other: object) -> bool:
        """Equal when every value is equal, whether it came from the preset or the file."""
        return isinstance(other, Host) and self.model_dump() == other.model_dump()

    def __hash__(self) -> int:
        return hash(json.dumps(self.model_dump(mode="json"), sort_keys=True))

    def given(self) -> dict[str, Any]:
        """The host as written: the preset and the keys given explicitly (what overrides start from)."""
        full = self.model_dump(mode="json", exclude_none=True)
        return {k: v for k, v in full.items() if k == "preset" or k in self._explicit}

    def written(self) -> dict[str, Any]:
        """The keys as written, the preset only when it was (what a host group changes of the scenario's host)."""
        if self._written is not None:
            return dict(self._written)
        given = self.given()
        return given if self._preset_given else {k: v for k, v in given.items() if k != "preset"}

    def changed(self, keys: dict[str, Any]) -> Host:
        """This host with ``keys`` (written as a host group writes them) changed; ``written()`` gives ``keys`` back."""
        host = Host.model_validate({**self.given(), **keys})
        host._written = dict(keys)
        return host

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str) -> str:
        if value not in PRESETS:
            raise ValueError(f"unknown preset {json.dumps(value[:40])} (known: {', '.join(PRESET_NAMES)})")
        return value

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, value: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
        if value is not None:
            policy_params(value)
        return value

    @field_validator("reserved_ports")
    @classmethod
    def _reserved(cls, value: list[int | str] | str) -> list[int | str] | str:
        parse_reserved([value] if isinstance(value, str) else value)
        return value

    @field_validator("port_range")
    @classmethod
    def _ordered(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError(f"low ({value[0]}) is greater than high ({value[1]})")
        return value

    @field_validator("time_wait_granularity")
    @classmethod
    def _fine_enough(cls, value: float | None) -> float | None:
        if value is not None and 0 < value < MIN_GRANULARITY:
            raise ValueError(f"must be 0 (exact expiries) or at least {MIN_GRANULARITY:g} s (got {value:g})")
        return value

    @model_validator(mode="after")
    def _resolve(self) -> Host:
        resolved = self.resolve()
        if not resolved.usable_ports:
            raise KeyedError("reserved_ports", "every port of port_range is reserved")
        self._resolved = resolved
        return self

    def resolve(self) -> ResolvedHost:
        """This host with every value set."""
        given = self.reserved_ports
        policy = self.policy
        if policy is None:
            raise ValueError("host.policy is missing after the preset was applied")
        return ResolvedHost(
            preset=self.preset,
            low=_filled(self.port_range)[0],
            high=_filled(self.port_range)[1],
            policy=policy,
            sharing=_filled(self.sharing),
            source_addresses=self.source_addresses,
            reserved=parse_reserved([given] if isinstance(given, str) else given),
            time_wait=_filled(self.time_wait),
            time_wait_granularity=_filled(self.time_wait_granularity),
            timer_hz=_filled(self.timer_hz),
            tw_reuse=_filled(self.tw_reuse),
            tw_reuse_delay=_filled(self.tw_reuse_delay),
            timestamps=_filled(self.timestamps),
            max_tw_buckets=None if self.max_tw_buckets == "unlimited" else _filled(self.max_tw_buckets),
            fin_timeout=_filled(self.fin_timeout),
            connect_base_us=_filled(self.connect_base_us),
            probe_cost_ns=_filled(self.probe_cost_ns),
        )

    @property
    def resolved(self) -> ResolvedHost:
        """This host with every value set (presets applied, the timer grid derived)."""
        assert self._resolved is not None  # set by validation
        return self._resolved

    @property
    def policy_name(self) -> str:
        """The allocation policy's registered name."""
        return split_policy(self.resolved.policy)[0]

    @property
    def low(self) -> int:
        """Lowest ephemeral port."""
        return self.resolved.low

    @property
    def high(self) -> int:
        """Highest ephemeral port."""
        return self.resolved.high

    @property
    def size(self) -> int:
        """Ports in the range, reserved ones included."""
        return self.resolved.size

    @property
    def reserved(self) -> frozenset[int]:
        """Every reserved port, inside the range or not."""
        return self.resolved.reserved

    @property
    def reserved_offsets(self) -> frozenset[int]:
        """Reserved ports inside the range, as offsets from ``low``."""
        return self.resolved.reserved_offsets

    @property
    def usable_ports(self) -> int:
        """Ports automatic selection may use, per source address."""
        return self.resolved.usable_ports
