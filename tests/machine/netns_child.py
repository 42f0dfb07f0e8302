"""Run inside a private network namespace (by tests/machine/netns.py): bring ``lo`` up, open sockets of known
states on loopback, optionally keep opening and closing connections, run one ``portsim`` command, print JSON.

    python netns_child.py PLAN_JSON

PLAN: ``open`` connections held ESTABLISHED, ``time_wait`` connections closed by this side first (TIME_WAIT
here), ``churn`` new connections per second (each closed by this side at once) while the command runs,
``argv`` the portsim arguments (``{server}``, ``{open0}``, ``{tw0}``, ... stand for the ports opened),
``as_user`` to run the command as another user (a uid, via setpriv), and ``snapshot`` to print
sim.machine.sockets.take_snapshot() as JSON instead of running a command.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

SERVER = ("127.0.0.1", 5001)
"""The listener: outside the ephemeral range, as a real server's port would be."""


def _connect(listener: socket.socket) -> tuple[socket.socket, socket.socket]:
    client = socket.create_connection(SERVER, timeout=5)
    server, _ = listener.accept()
    return client, server


def _client_closes_first(listener: socket.socket) -> int:
    """One connection that ends in TIME_WAIT on the client side; returns its local port."""
    client, server = _connect(listener)
    port = client.getsockname()[1]
    client.close()
    server.settimeout(5)
    server.recv(1)  # the client's FIN
    server.close()
    return port


def _settle(ports: list[int]) -> None:
    """Wait until every one of ``ports`` shows TIME_WAIT (state 06 in /proc/net/tcp), at most 5 s."""
    want = {f"{p:04X}" for p in ports}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        seen = set()
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "06":
                seen.add(fields[1].split(":")[1])
        if want <= seen:
            return
        time.sleep(0.02)


def main() -> int:
    plan = json.loads(sys.argv[1])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(SERVER)
    listener.listen(4096)
    held = [_connect(listener) for _ in range(plan.get("open", 0))]
    waiting = [_client_closes_first(listener) for _ in range(plan.get("time_wait", 0))]
    _settle(waiting)
    stop = threading.Event()
    churned: list[int] = []

    def churn(rate: float) -> None:
        while not stop.wait(1 / rate):
            churned.append(_client_closes_first(listener))

    known = {"{server}": str(SERVER[1])}
    known |= {f"{{open{i}}}": str(c.getsockname()[1]) for i, (c, _) in enumerate(held)}
    known |= {f"{{tw{i}}}": str(port) for i, port in enumerate(waiting)}
    argv = [known.get(arg, arg) for arg in plan["argv"]]
    thread = None
    if plan.get("churn"):
        thread = threading.Thread(target=churn, args=(float(plan["churn"]),), daemon=True)
        thread.start()
    if plan.get("snapshot"):
        from sim.machine.sockets import take_snapshot

        snap = take_snapshot(os.geteuid() == 0)
        status, stderr = 0, ""
        stdout = json.dumps({"sockets": [s.to_json() for s in snap.sockets], "limits": list(snap.limits)})
    elif plan.get("as_user") is not None:
        uid = str(plan["as_user"])
        done = subprocess.run(
            [
                "setpriv",
                f"--reuid={uid}",
                f"--regid={uid}",
                "--clear-groups",
                sys.executable,
                "-m",
                "sim",
                *argv,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "HOME": "/tmp", "MPLCONFIGDIR": "/tmp"},
        )
        status, stdout, stderr = done.returncode, done.stdout, done.stderr
    else:
        from sim.cli.main import main as portsim

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = portsim(argv)
        stdout, stderr = out.getvalue(), err.getvalue()
    stop.set()
    if thread is not None:
        thread.join(5)
    print(
        json.dumps(
            {
                "pid": os.getpid(),
                "server_port": SERVER[1],
                "open": [c.getsockname()[1] for c, _ in held],
                "time_wait": waiting,
                "churned": len(churned),
                "status": status,
                "stdout": stdout,
                "stderr": stderr,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
