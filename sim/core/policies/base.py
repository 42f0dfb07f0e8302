"""Port allocation policies: how a host picks the ephemeral port for a new connection.

A policy sees the port range through *slots*. With the ``natural`` layout slot = offset from the low
end of the range (port = low + offset); with the ``parity`` layout the ports whose offset is even come
first and the odd ones after, so that a scan in steps of two (Linux) is a contiguous scan. For each
request the policy gets a ``bytearray`` with one byte per slot, zero where the port may be taken, and
answers with the chosen slot (-1 when it gives up) and the number of candidate ports it examined:
the simulator's measure of what a connect() costs.

Policies are small classes registered by name; adding one is a new class with ``@register``.
Parameters, when a policy has any, are a ``Params`` model and are given in the scenario as
``policy: {name: double_hash, table_size: 16}``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np
from pydantic import ValidationError

from ..spec import Spec

Layout = Literal["natural", "parity"]


@dataclass(frozen=True)
class PortSpace:
    """What a policy may know about the host: the range, its source addresses and destinations."""

    low: int
    high: int
    n_sources: int = 1
    destinations: Sequence[tuple[str, int]] = ()

    @property
    def size(self) -> int:
        """Number of ports in the range."""
        return self.high - self.low + 1


def slot_of(offset: int, size: int, layout: Layout) -> int:
    """The slot holding the port at ``offset`` from the low end."""
    if layout == "natural":
        return offset
    return offset >> 1 if not offset & 1 else (size + 1) // 2 + (offset >> 1)


def offset_of(slot: int, size: int, layout: Layout) -> int:
    """The offset from the low end of the port in ``slot``."""
    if layout == "natural":
        return slot
    half = (size + 1) // 2
    return slot << 1 if slot < half else ((slot - half) << 1) | 1


class NoParams(Spec):
    """A policy without parameters."""


class Policy(ABC):
    """Base class: a stateful port chooser with its own random stream."""

    name: ClassVar[str]
    description: ClassVar[str]
    layout: ClassVar[Layout] = "natural"
    Params: ClassVar[type[Spec]] = NoParams

    def __init__(self, space: PortSpace, rng: np.random.Generator, params: Spec | None = None) -> None:
        self.space = space
        self.size = space.size
        self.rng = rng
        self.params = params if params is not None else self.Params()

    @abstractmethod
    def connect(self, usable: bytearray, src: int, dst: int, now: float) -> tuple[int, int]:
        """Choose a port for connect() from ``src`` to destination ``dst``: (slot or -1, probes)."""

    def bind(self, usable: bytearray, src: int, now: float, reuseaddr: bool = False) -> tuple[int, int]:
        """Choose a port for bind(port=0) on ``src``; by default the same search as connect()."""
        return self.connect(usable, src, -1, now)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.params.__dict__.items())
        return f"{type(self).__name__}({fields})"


POLICIES: dict[str, type[Policy]] = {}
P = TypeVar("P", bound=type[Policy])


def register(cls: P) -> P:
    """Class decorator: make a policy available to scenarios under ``cls.name``."""
    POLICIES[cls.name] = cls
    return cls


def split_policy(value: str | Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, parameters) from ``"name"`` or ``{name: ..., parameter: value, ...}``."""
    if isinstance(value, str):
        return value, {}
    params = dict(value)
    name = params.pop("name", None)
    if not isinstance(name, str):
        raise ValueError("a policy with parameters needs a 'name' key, e.g. {name: double_hash, table_size: 16}")
    return name, params


def policy_params(value: str | Mapping[str, Any]) -> tuple[type[Policy], Spec]:
    """The policy class and its validated parameters; ValueError with a readable message otherwise."""
    name, given = split_policy(value)
    try:
        cls = POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r} (known: {', '.join(sorted(POLICIES))})") from None
    try:
        return cls, cls.Params.model_validate(given)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        allowed = ", ".join(cls.Params.model_fields) or "none"
        if error["type"] == "extra_forbidden":
            raise ValueError(f"policy {name!r} has no parameter {where!r} (parameters: {allowed})") from None
        raise ValueError(f"policy {name!r} parameter {where!r}: {error['msg']}") from None


def make_policy(value: str | Mapping[str, Any], space: PortSpace, rng: np.random.Generator) -> Policy:
    """Instantiate a policy from its scenario form (a name, or a mapping with ``name`` and parameters)."""
    cls, params = policy_params(value)
    return cls(space, rng, params)
