"""Hooks: how other layers (connection pools, NAT translators, recorders) follow the lifecycle.

A layer subscribes a callback instead of adding branches to the lifecycle. The lifecycle runs its
general path while anything is subscribed, so runs without subscribers keep the fast path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Connection = tuple[int, int, int, int, int, float]
"""(source index, destination index, slot, connection class, connection id, time it opened)."""

CloseHook = Callable[[Connection, float, int], None]
"""Called with (connection, time, close code) when a connection leaves ESTABLISHED."""
ReleaseHook = Callable[[Connection, float], None]
"""Called with (connection, time) when a connection stops holding its 4-tuple."""


@dataclass
class Hooks:
    """The subscribers of one lifecycle."""

    closed: list[CloseHook] = field(default_factory=list)
    released: list[ReleaseHook] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.closed or self.released)
