"""Operating-system presets: the real defaults a scenario's ``host`` starts from.

Each preset fixes the ephemeral range, the TIME_WAIT length, the allocation policy and whether
connect() may share one local port across destinations (4-tuple sharing). A scenario may override
any of them. Sources are in ``../shared/reference/domain.md`` (sections 1-4) and the README.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Sharing = Literal["per_destination", "none"]


@dataclass(frozen=True)
class Preset:
    """Defaults for one operating system (times in seconds)."""

    name: str
    port_range: tuple[int, int]
    time_wait: float
    policy: str
    sharing: Sharing
    source: str

    @property
    def size(self) -> int:
        """Number of ports in the range."""
        return self.port_range[1] - self.port_range[0] + 1


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "iana",
            (49152, 65535),
            60.0,
            "random_start",
            "per_destination",
            "RFC 6335 section 6 dynamic range; TIME_WAIT 2 x MSL = 60 s as on Linux and FreeBSD",
        ),
        Preset(
            "linux",
            (32768, 60999),
            60.0,
            "random_start",
            "per_destination",
            "ip_local_port_range default (af_inet.c), TCP_TIMEWAIT_LEN = 60 s (tcp.h); "
            "the kernel's own algorithm is approximated by random_start until the 'linux' policy lands",
        ),
        Preset(
            "windows",
            (49152, 65535),
            120.0,
            "random_start",
            "per_destination",
            "Microsoft Learn 'Troubleshoot port exhaustion' (49152-65535 since Vista), "
            "TcpTimedWaitDelay 120 s; the selection algorithm is undocumented",
        ),
        Preset(
            "macos",
            (49152, 65535),
            30.0,
            "sequential",
            "none",
            "XNU in_pcb.c (ipport_firstauto 49152), TCPTV_MSL 15 s so TIME_WAIT 30 s, "
            "net.inet.tcp.randomize_ports = 0 (sequential), implicit bind never shares a port",
        ),
        Preset(
            "freebsd",
            (10000, 65535),
            60.0,
            "random_start",
            "per_destination",
            "sys/netinet/in.h IPPORT_EPHEMERALFIRST 10000, TCPTV_MSL 30 s, "
            "in_pcb_lport_dest(): random start then +1 scan with a 4-tuple check",
        ),
    )
}
