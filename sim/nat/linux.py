"""The ``linux-snat`` translator: netfilter SNAT/MASQUERADE, port by port (``docs/nat-kernel.md``).

Each pool is a (public address, destination) pair with one state byte per port of the ``to`` range
(``sim.nat.snat_search``). The public address is a fixed hash of (host, destination), of the host only with
``persistent``: addresses do not pool, so a full address fails while another has room (measured, Q8). A
connection keeps its host port when it lies in the range and is free (``default``/``persistent``); a SYN
whose own earlier connection still sits in TIME_WAIT or CLOSE takes that entry over (the TCP tracker kills
it); otherwise the bounded search runs, and may evict a closing entry in a round's last 32 tries.

Not modelled: ``find_appropriate_src`` (a host ip:port already mapped toward another destination keeps
its mapped port), the race of two SYNs between the search and conntrack's confirm.
"""

from __future__ import annotations

import numpy as np

from .kinds import LinuxSnat
from .snat_search import BUSY, CLOSING, FREE, SnatSearch
from .translator import Translator

_MIX = (0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D)


class LinuxSnatTranslator(Translator):
    """netfilter SNAT in front of ``hosts`` hosts (see the module docstring)."""

    def __init__(self, kind: LinuxSnat, hosts: int, n_destinations: int, rng: np.random.Generator) -> None:
        super().__init__(kind, hosts, n_destinations)
        self.low, self.high = kind.ports
        self.size = self.high - self.low + 1
        self._fully_random = kind.mode in ("random", "fully-random")
        self._persistent = kind.mode == "persistent"
        self.search = SnatSearch(self.size, rng, fully_random=self._fully_random, evict=kind.evict)
        self._salt = int(rng.integers(1 << 31))
        self._states: dict[int, bytearray] = {}
        self._used: dict[int, int] = {}
        """Per pool: ports open or closing."""
        self._owner: dict[int, tuple[int, int, int]] = {}
        """Per token (pool x range + index) not free: (host, host port, connection id)."""
        self._evicted = 0
        self._with_free = 0

    def address(self, host: int, dst: int) -> int:
        """The public address (unit) of ``host``'s connections to ``dst``: a fixed hash, not the least used."""
        units = self.units
        if units == 1:
            return 0
        x = ((host + 1) * _MIX[0]) ^ self._salt
        if not self._persistent:
            x ^= (dst + 1) * _MIX[1]
        x = (x * _MIX[2]) & 0xFFFFFFFF
        return (x >> 8) % units

    def _take(self, conn: int, host: int, port: int, dst: int, now: float) -> tuple[int, int]:
        unit = self.address(host, dst)
        pool = unit * self.n_dest + dst
        states = self._states.get(pool)
        if states is None:
            states = self._states[pool] = bytearray(self.size)
            self._used[pool] = 0
        size = self.size
        keep = port - self.low if self.low <= port <= self.high else None
        base = pool * size
        if keep is not None and not self._fully_random and states[keep] == CLOSING:
            owner = self._owner[base + keep]
            if owner[0] == host and owner[1] == port:  # the same original tuple: its SYN kills the old entry
                self._probes.append(1)
                self._level(unit, now, 0, -1)
                self.host_held[host] -= 1
                self.host_cooling[host] -= 1
                states[keep] = BUSY
                self._owner[base + keep] = (host, port, conn)
                return base + keep, unit
        pick = self.search.pick(states, keep)
        self._probes.append(pick.probes)
        if pick.index < 0:
            if self._used[pool] < size:
                self._with_free += 1
            return -1, unit
        token = base + pick.index
        if pick.evicted:
            self._evicted += 1
            self._level(unit, now, 0, -1)
            self.host_held[self._owner[token][0]] -= 1
            self.host_cooling[self._owner[token][0]] -= 1
        else:
            self._used[pool] += 1
        states[pick.index] = BUSY
        self._owner[token] = (host, port, conn)
        return token, unit

    def _cool(self, token: int) -> None:
        self._states[token // self.size][token % self.size] = CLOSING

    def _free(self, token: int, conn: int, cooled: bool) -> bool:
        owner = self._owner.get(token)
        if owner is None or owner[2] != conn:
            return False
        del self._owner[token]
        pool = token // self.size
        self._states[pool][token % self.size] = FREE
        self._used[pool] -= 1
        return True

    def room_elsewhere(self, host: int, dst: int, unit: int) -> bool:
        size = self.size
        return any(self._used.get(u * self.n_dest + dst, 0) < size for u in range(self.units) if u != unit)

    @property
    def evicted(self) -> int | None:
        return self._evicted

    @property
    def failed_with_free_ports(self) -> int | None:
        return self._with_free
