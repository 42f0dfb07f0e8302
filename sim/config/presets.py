"""Operating-system presets: the real defaults a scenario's ``host`` starts from.

Each preset fixes the ephemeral range, the allocation policy, whether connect() may share one local
port across destinations (4-tuple sharing), the TCP timers and reuse rules, and the cost model of a
connect(). A scenario may override any of them. Sources: ``docs/domain.md``
(sections 1-4 and 9) and ``docs/kernel.md`` (the measured Linux 6.18 laws).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..core.host import Sharing

LINUX_COST = {"connect_base_us": 12.5, "probe_cost_ns": 50.0}
"""kernel.md fact 22: 12.5 µs for a connect() that takes its first candidate, ~50 ns per port scanned."""


@dataclass(frozen=True)
class Preset:
    """Defaults for one operating system (times in seconds)."""

    name: str
    port_range: tuple[int, int]
    time_wait: float
    policy: str | dict[str, Any]
    sharing: Sharing
    algorithm: str
    source: str
    tw_reuse: Literal[0, 1, 2] = 0
    tw_reuse_delay: float = 1.0
    timestamps: bool = True
    max_tw_buckets: int | Literal["unlimited"] = "unlimited"
    fin_timeout: float = 60.0
    timer_grid: bool = False
    """Whether TIME_WAIT expires on the kernel's timer wheel (its grid derived from ``timer_hz``)."""
    timer_hz: int = 250
    cost: dict[str, float] = field(default_factory=lambda: dict(LINUX_COST))

    @property
    def size(self) -> int:
        """Number of ports in the range."""
        return self.port_range[1] - self.port_range[0] + 1

    def host_defaults(self) -> dict[str, Any]:
        """The ``host`` keys this preset fills in."""
        return {
            "port_range": self.port_range,
            "policy": self.policy,
            "time_wait": self.time_wait,
            "sharing": self.sharing,
            "tw_reuse": self.tw_reuse,
            "tw_reuse_delay": self.tw_reuse_delay,
            "timestamps": self.timestamps,
            "max_tw_buckets": self.max_tw_buckets,
            "fin_timeout": self.fin_timeout,
            "timer_hz": self.timer_hz,
            **self.cost,
        }


def _linux(name: str, policy: str | dict[str, Any], algorithm: str, source: str, tw_reuse: Literal[0, 1, 2]) -> Preset:
    """A Linux preset: the range, timers and sysctls measured on 6.18 (kernel.md section 0)."""
    return Preset(
        name=name,
        port_range=(32768, 60999),
        time_wait=60.0,
        policy=policy,
        sharing="per_destination",
        algorithm=algorithm,
        source=source,
        tw_reuse=tw_reuse,
        max_tw_buckets=131072,
        timer_grid=True,
    )


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="iana",
            port_range=(49152, 65535),
            time_wait=60.0,
            policy="random_start",
            sharing="per_destination",
            algorithm="RFC 6056 alg. 1 (random start, linear scan)",
            source="RFC 6335 section 6 dynamic range; a neutral host with TIME_WAIT = 2 x MSL = 60 s",
        ),
        _linux(
            "linux",
            "linux",
            "Linux >= 5.18: 65,536-entry perturbation table, even ports first, step 2, +2*U{0..7}",
            "kernel.md section 4 (__inet_hash_connect, measured on 6.18); ip_local_port_range 32768-60999; "
            "TCP_TIMEWAIT_LEN 60 s on the timer wheel (CONFIG_HZ 250: 2.048 s grid); tcp_tw_reuse 2, "
            "tcp_tw_reuse_delay 1000 ms; tcp_max_tw_buckets 131072 "
            "(ehash/2 on the measured VM); tcp_fin_timeout 60 s; hash re-salted every 10 s (secure_seq.c)",
            tw_reuse=2,
        ),
        _linux(
            "linux-5.12",
            {"name": "linux", "table_bits": 8, "random_increment": False, "resalt_period": 0},
            "Linux 5.12-5.17: RFC 6056 alg. 4 with a 256-entry table, even ports first, no random step",
            "commit 190cc82 (double hash, 256 entries), before ca7af0402550 (random increments), "
            "4c2c8f03a5ab (2^16 entries) and 4dfa9b438ee3 (re-salt every 10 s)",
            tw_reuse=2,
        ),
        _linux(
            "linux-4.6",
            {"name": "linux", "table_bits": 0, "random_increment": False, "resalt_period": 0},
            "Linux 4.6-5.11: RFC 6056 alg. 3 (one global hint + per-destination hash), even ports first",
            "commit 1580ab63fc9a (step-2 parity scan); the hint update hint += i + 2 is unverified "
            "(domain.md 2.2); tcp_tw_reuse defaulted to 0 before 2-for-loopback",
            tw_reuse=0,
        ),
        Preset(
            name="windows",
            port_range=(49152, 65535),
            time_wait=120.0,
            policy="random_start",
            sharing="per_destination",
            algorithm="undocumented; modelled as RFC 6056 alg. 1 (random start, linear scan)",
            source="Microsoft Learn 'Troubleshoot port exhaustion' (49152-65535 since Vista); "
            "TcpTimedWaitDelay 120 s (Server 2003 docs); sharing from event 4227's wording",
        ),
        Preset(
            name="macos",
            port_range=(49152, 65535),
            time_wait=30.0,
            policy="sequential",
            sharing="none",
            algorithm="sequential from the last port handed out (net.inet.tcp.randomize_ports = 0)",
            source="XNU in_pcb.c (ipport_firstauto 49152, implicit bind never shares a port); "
            "TCPTV_MSL 15 s so TIME_WAIT 30 s",
        ),
        Preset(
            name="freebsd",
            port_range=(10000, 65535),
            time_wait=60.0,
            policy="random_start",
            sharing="per_destination",
            algorithm="RFC 6056 alg. 1 with a 4-tuple check on connect (in_pcb_lport_dest)",
            source="sys/netinet/in.h IPPORT_EPHEMERALFIRST 10000; TCPTV_MSL 30 s",
        ),
        Preset(
            name="netbsd",
            port_range=(49152, 65535),
            time_wait=60.0,
            policy="sequential_down",
            sharing="none",
            algorithm="NetBSD 'bsd': downward from anonportmax, wrapping",
            source="rfc6056(7) and portalgo.c algo_bsd; range and 60 s TIME_WAIT unverified",
        ),
    )
}

PRESET_NAMES: tuple[str, ...] = tuple(PRESETS)
