"""One live measurement at a time: ``sim.kernel.measure.exclusive`` (the kernel's port perturbation table is
shared by every network namespace, so two measurements would disturb each other)."""

from __future__ import annotations

import subprocess
import sys

from sim.kernel.measure import LOCK, exclusive

TRY = "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)"


def try_lock() -> int:
    return subprocess.run([sys.executable, "-c", TRY, str(LOCK)], capture_output=True, check=False).returncode


def test_another_process_cannot_measure_while_one_holds_the_lock() -> None:
    with exclusive():
        assert try_lock() != 0
    assert try_lock() == 0
