"""Scans over the usability bytes of a port range: the loops every policy is built from."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from .base import slot_of


def scan_from(usable: bytearray, start: int) -> tuple[int, int]:
    """Linear scan upward from ``start``, wrapping once: (slot or -1, ports examined)."""
    size = len(usable)
    found = usable.find(0, start)
    if found >= 0:
        return found, found - start + 1
    found = usable.find(0, 0, start)
    if found >= 0:
        return found, size - start + found + 1
    return -1, size


def scan_down_from(usable: bytearray, start: int) -> tuple[int, int]:
    """Linear scan downward from ``start``, wrapping once: (slot or -1, ports examined)."""
    size = len(usable)
    found = usable.rfind(0, 0, start + 1)
    if found >= 0:
        return found, start - found + 1
    found = usable.rfind(0, start + 1)
    if found >= 0:
        return found, start + 1 + size - found
    return -1, size


def probe_blocks(
    usable: bytearray, size: int, tried: int, candidates: Callable[[int], np.ndarray]
) -> tuple[int, int, int]:
    """Try ``candidates(n)`` in growing vectorised blocks until one is usable or ``size`` tries are spent.

    Returns (slot or -1, total tries, index of the hit in its block or -1).
    """
    view = np.frombuffer(usable, dtype=np.uint8)
    block = 256
    while tried < size:
        n = min(block, size - tried)
        drawn = candidates(n)
        hits = np.flatnonzero(view[drawn] == 0)
        if hits.size:
            return int(drawn[hits[0]]), tried + int(hits[0]) + 1, int(hits[0])
        tried += n
        block = min(block * 4, 1 << 16)
    return -1, size, -1


def random_probe(
    usable: bytearray, draws: Iterator[int], block_draw: Callable[[int], np.ndarray], size: int, scalar_tries: int = 8
) -> tuple[int, int]:
    """Try candidates from ``draws`` one by one, then in vectorised blocks from ``block_draw(n)``.

    Gives up after ``size`` tries: (slot or -1, tries).
    """
    for tries in range(1, min(scalar_tries, size) + 1):
        candidate = next(draws)
        if not usable[candidate]:
            return candidate, tries
    found, tries, _ = probe_blocks(usable, size, min(scalar_tries, size), block_draw)
    return found, tries


def parity_segments(size: int, a: int, b: int, start: int) -> list[tuple[int, int]]:
    """Slot segments that the kernel's step-2 scan visits, in order, in the parity layout.

    The kernel scans offsets ``a + start + i`` for ``i = 0, 2, 4, ... < remaining`` (``remaining`` is
    ``b - a`` rounded down to even), subtracting ``remaining`` from offsets at or past ``b``. With an
    odd-sized range this leaves one edge port of the first parity unvisited (kernel.md fact 9).
    """
    n = b - a
    remaining = n & ~1 if n > 1 else n
    if remaining <= 0:
        return []
    count = (remaining + 1) // 2
    first = a + start
    last = first + 2 * (count - 1)
    runs: list[tuple[int, int]] = []
    if last <= b - 1:
        runs.append((first, last))
    else:
        top = b - 1 if (b - 1 - first) % 2 == 0 else b - 2
        if top >= first:
            runs.append((first, top))
        runs.append((top + 2 - remaining, last - remaining))
    return [(slot_of(x, size, "parity"), slot_of(y, size, "parity") + 1) for x, y in runs]


def scan_segments(usable: bytearray, segments: list[tuple[int, int]]) -> tuple[int, int, int]:
    """Scan slot segments in order: (slot or -1, ports examined, candidates before the one found)."""
    examined = 0
    for lo, hi in segments:
        found = usable.find(0, lo, hi)
        if found >= 0:
            before = examined + found - lo
            return found, before + 1, before
        examined += hi - lo
    return -1, examined, examined
