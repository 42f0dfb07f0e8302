"""The three IANA port tiers of RFC 6335 section 6, and reading a port number given by a user."""

from __future__ import annotations

from dataclasses import dataclass

MAX_PORT = 65535


class PortError(ValueError):
    """A port number that is not one (the message is one line for the user)."""


@dataclass(frozen=True)
class Tier:
    """One of the RFC 6335 port ranges."""

    name: str
    """``system``, ``user`` or ``dynamic``."""
    low: int
    high: int
    label: str
    """What RFC 6335 calls it."""
    meaning: str
    """Who assigns its ports and what they are for."""

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.low <= port <= self.high


TIERS: tuple[Tier, ...] = (
    Tier(
        "system",
        0,
        1023,
        "system ports (well-known)",
        "assigned by IANA to services; servers listen here, and binding one needs privileges on most systems",
    ),
    Tier(
        "user",
        1024,
        49151,
        "user ports (registered)",
        "assigned by IANA to services on request; Linux and FreeBSD also take outgoing source ports from part of it",
    ),
    Tier(
        "dynamic",
        49152,
        65535,
        "dynamic ports (private, ephemeral)",
        "never assigned by IANA; for ephemeral use: the source ports of outgoing connections",
    ),
)
"""RFC 6335 section 6: System Ports 0-1023, User Ports 1024-49151, Dynamic Ports 49152-65535."""

SOURCE = "RFC 6335 section 6"


def tier_of(port: int) -> Tier:
    """The tier holding ``port``; PortError outside 0-65535."""
    for tier in TIERS:
        if port in tier:
            return tier
    raise PortError(f"{port} is not a port number: TCP ports are 0-{MAX_PORT}")


def parse_port(text: str) -> int:
    """A port number from what a user typed (decimal digits, 0-65535)."""
    flat = text.strip()
    shown = repr(flat if len(flat) <= 20 else flat[:19] + "…")
    if not flat.isascii() or not flat.isdigit():
        raise PortError(f"{shown} is not a port number: give a whole number from 0 to {MAX_PORT}")
    digits = flat.lstrip("0") or "0"
    if len(digits) > len(str(MAX_PORT)) or int(digits) > MAX_PORT:
        raise PortError(f"{shown} is not a port number: TCP ports are 0-{MAX_PORT}")
    return int(digits)
