"""Running a portsim command in a private network namespace, against sockets the test opens itself.

``unshare -n`` as root (``unshare -rn``, a user namespace, otherwise); the child is tests/machine/netns_child.py.
``namespace_problem()`` says why that cannot run here (None when it can), for a skip with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

CHILD = Path(__file__).with_name("netns_child.py")
ROOT = Path(__file__).resolve().parents[2]


def _unshare() -> list[str]:
    return ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]


@cache
def namespace_problem() -> str | None:
    """None when a private network namespace with ``lo`` up can be made here; else the reason."""
    if not sys.platform.startswith("linux"):
        return f"network namespaces are Linux only (this is {sys.platform})"
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"no {tool} command (util-linux, iproute2)"
    try:
        done = subprocess.run(
            [*_unshare(), "ip", "link", "set", "lo", "up"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run unshare: {exc}"
    if done.returncode != 0:
        return f"cannot create a network namespace: {done.stderr.strip() or done.returncode}"
    return None


def run_in_namespace(argv: list[str], **plan: Any) -> dict[str, Any]:
    """Open the sockets of ``plan`` in a fresh namespace, run ``portsim argv`` there, return what the child saw."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cwd = plan.pop("cwd", None)
    done = subprocess.run(
        [*_unshare(), sys.executable, str(CHILD), json.dumps({**plan, "argv": argv})],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


NOBODY = 65534


@cache
def other_user_problem() -> str | None:
    """None when this test run may start portsim as another user (uid 65534) to see what a non-root user sees."""
    if os.geteuid() != 0:
        return "not root: cannot start a process as another user"
    if shutil.which("setpriv") is None:
        return "no setpriv command (util-linux)"
    probe = [
        "setpriv",
        f"--reuid={NOBODY}",
        f"--regid={NOBODY}",
        "--clear-groups",
        sys.executable,
        "-c",
        "import sim.machine.sockets, psutil",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": "/tmp", "MPLCONFIGDIR": "/tmp"}
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=60, check=False, env=env, cwd="/")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot start a process as uid {NOBODY}: {exc}"
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return f"uid {NOBODY} cannot run portsim from this checkout: {last[0]}"
    return None
