"""Linux netfilter's search for a free translated port (``nf_nat_l4proto_unique_tuple``), as measured on 6.18.

The translator keeps, per (public address, destination), one state byte per port of its ``to`` range:
``FREE``, ``BUSY`` (a connection, or a new one not yet answered) or ``CLOSING`` (the conntrack entry of a
closed connection, in TIME_WAIT after a FIN or CLOSE after an RST). A new connection's port is found so:

1. Unless ``fully_random``: the host's own source port, when it lies in the range and is free (kept).
2. Else from a random 16-bit offset, ports ``low + ((offset + i) mod 2^16) mod N`` in turn, at most ``min(N, 128)``;
   when none is free and fewer than ``N`` were tried, again from a new offset with half as many while
   that is at least 8: at most 128 + 64 + 32 + 16 + 8 = 248 ports, then the connection fails, even with
   free ports left elsewhere in the range.
3. In the last 32 tries of each round (Linux 6.5 and later), a ``CLOSING`` port may be taken over: the
   kernel evicts the old entry when the new SYN's sequence number is ahead of the old connection's, which
   measured about half the time (40 of 80); ``evict`` is that probability.

Sources: ``net/netfilter/nf_nat_core.c`` (``get_unique_tuple``, ``nf_nat_l4proto_unique_tuple``,
``nf_nat_used_tuple_harder``; commit "netfilter: snat: evict closing tcp entries on reply tuple
collision", v6.5), measured in ``docs/nat-kernel.md`` (Q1-Q3).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..core.streams import random_ints

FREE, BUSY, CLOSING = 0, 1, 2
"""A translated port's state toward one destination."""
FIRST_ROUND = 128
"""Ports tried in the first round at most."""
LAST_ROUND = 8
"""The smallest round: a round of fewer than 16 ends the search."""
HARDER = 32
"""Within this many tries of a round's end, a closing entry may be evicted (NF_NAT_HARDER_THRESH)."""
MAX_PROBES = 128 + 64 + 32 + 16 + 8
"""Ports a search examines at most."""


@dataclass(frozen=True)
class Pick:
    """The outcome of one search: the port's index in the range (-1: none found), ports examined, and whether
    it took over a closing entry."""

    index: int
    probes: int
    evicted: bool = False


class SnatSearch:
    """Finds a free port of an ``N``-port range the way netfilter SNAT does (see the module docstring)."""

    def __init__(self, size: int, rng: np.random.Generator, *, fully_random: bool = False, evict: float = 0.5) -> None:
        if size < 1:
            raise ValueError("a range has at least one port")
        if not 0.0 <= evict <= 1.0:
            raise ValueError("evict is a probability")
        self.size = size
        self.fully_random = fully_random
        self.evict = evict
        self._offsets: Iterator[int] = random_ints(rng, 1 << 16)
        self._coins = rng

    def pick(self, states: bytearray, keep: int | None = None) -> Pick:
        """A port for a new connection given the range's ``states``; ``keep``: the host port's index in the
        range, when it lies in it (tried first unless fully random)."""
        if keep is not None and not self.fully_random and states[keep] == FREE:
            return Pick(keep, 1)
        size = self.size
        attempts = min(size, FIRST_ROUND)
        probes = 0
        while True:
            offset = next(self._offsets)
            for i in range(attempts):
                index = ((offset + i) & 0xFFFF) % size  # the kernel's offset is a u16 that wraps
                probes += 1
                state = states[index]
                if state == FREE:
                    return Pick(index, probes)
                if state == CLOSING and attempts - i <= HARDER and self._coins.random() < self.evict:
                    return Pick(index, probes, evicted=True)
            if attempts >= size or attempts < 2 * LAST_ROUND:
                return Pick(-1, probes)
            attempts //= 2


__all__ = ["BUSY", "CLOSING", "FREE", "MAX_PROBES", "Pick", "SnatSearch"]
