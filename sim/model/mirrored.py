"""The sources the compiled fast path mirrors, and their digest (standard library only: ``setup.py`` loads this file).

A build records the digest of these files when it compiles ``_batch.pyx``; portsim uses the build only
while the files still have that digest, so an edited ``.py`` file never runs beside stale compiled code.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

MIRRORED = (
    "model/_batch.pyx",
    "model/compiled.py",
    "model/traffic.py",
    "model/model.py",
    "model/recorder.py",
    "core/lifecycle.py",
    "core/calendar.py",
    "core/pool.py",
    "core/accounting.py",
    "core/timers.py",
    "core/transitions.py",
    "core/policies/linux.py",
    "core/policies/simple.py",
    "core/policies/scans.py",
    "core/streams.py",
    "stats/histograms.py",
    "nat/layer.py",
    "nat/translator.py",
    "nat/quotas.py",
    "nat/linux.py",
    "nat/snat_search.py",
)
"""Paths under ``sim/`` of the compiled module and of every Python module whose rules or state it mirrors."""


def digest(package: Path) -> str:
    """SHA-256 over the mirrored files under ``package`` (the ``sim`` folder), in order; "missing" if one is absent."""
    h = hashlib.sha256()
    for name in MIRRORED:
        path = package / name
        if not path.is_file():
            return "missing"
        h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]
