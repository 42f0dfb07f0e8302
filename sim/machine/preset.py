"""Which portsim presets' ranges hold a port, and which preset is closest to this machine."""

from __future__ import annotations

import re

from ..config.presets import PRESETS
from .settings import MachineSettings

LINUX_PRESETS: tuple[tuple[tuple[int, int], str], ...] = (((5, 18), "linux"), ((5, 12), "linux-5.12"))
"""The first Linux release each preset's algorithm applies from; older ones are closest to linux-4.6."""
BY_SYSTEM = {"Darwin": "macos", "FreeBSD": "freebsd", "NetBSD": "netbsd", "Windows": "windows"}


def presets_holding(port: int) -> list[str]:
    """The presets whose ephemeral range contains ``port``, in the order ``portsim presets`` lists them."""
    return [name for name, p in PRESETS.items() if p.port_range[0] <= port <= p.port_range[1]]


def closest_preset(settings: MachineSettings) -> tuple[str, str]:
    """The preset that best describes this machine, and why."""
    if settings.system == "Linux":
        match = re.match(r"(\d+)\.(\d+)", settings.release)
        if match is None:
            return "linux", f"Linux, release {settings.release!r} not understood: taken as current"
        version = (int(match[1]), int(match[2]))
        for since, name in LINUX_PRESETS:
            if version >= since:
                return name, f"Linux {version[0]}.{version[1]}, {since[0]}.{since[1]} or later"
        return "linux-4.6", f"Linux {version[0]}.{version[1]}, before 5.12"
    if settings.system in BY_SYSTEM:
        return BY_SYSTEM[settings.system], settings.system
    same = [n for n, p in PRESETS.items() if p.port_range == settings.port_range.value]
    if same:
        return same[0], f"the same ephemeral range as the {same[0]} preset"
    return "iana", f"{settings.system or 'this system'} has no preset of its own: the IANA range"
