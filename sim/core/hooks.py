"""Hooks: how other layers (connection pools, NAT translators, recorders) follow the lifecycle.

A layer subscribes a callback instead of adding branches to the lifecycle. The lifecycle runs its
general path while anything is subscribed, so runs without subscribers keep the fast path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

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


class Driven(Protocol):
    """What a layer in front of the hosts uses of their lifecycle: one host's ``Lifecycle`` or a fleet's
    (``core.fleet.FleetLifecycle``)."""

    def advance(self, now: float) -> None:
        """Apply every close and expiry due at or before ``now``, in time order."""

    def on_close(self, hook: CloseHook) -> None:
        """Call ``hook`` whenever a connection leaves ESTABLISHED."""

    def start(self, connection: Connection) -> None:
        """Count a connection ESTABLISHED from now whose close is not scheduled."""

    def close_at(self, t: float, connection: Connection) -> None:
        """Schedule the close of a connection counted with ``start``."""

    def close_now(
        self, now: float, connection: Connection, close: Literal["client", "server", "reset", "half"] | None = None
    ) -> None:
        """Close a connection counted with ``start`` at ``now``."""

    def open(self, end: float, connection: Connection) -> None:
        """Register a connection ESTABLISHED now that closes at ``end``."""

    def close_per_connection(self, c: int) -> dict[int, int]:
        """Let each connection of class ``c`` close on a side of its own; returns the mapping to fill."""
