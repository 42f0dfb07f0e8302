"""Live measurements of how this machine's Linux kernel allocates ephemeral TCP ports.

Each experiment runs in a child process (this file, run as a script with ``--child NAME``) that first moves
into a brand-new private network namespace: ``unshare(CLONE_NEWNET)`` as root, otherwise
``unshare(CLONE_NEWUSER | CLONE_NEWNET)`` with uid/gid maps. There it brings ``lo`` up with an ioctl, writes
the sysctls it needs under ``/proc/sys/net/ipv4/`` and talks to itself over loopback (127.0.0.0/8). The
calling process's network namespace never changes. Results come back as one line of JSON on the child's
stdout. Method and the laws the results should show: kernel.md sections 1-3.

    from sim.kernel import measure as kernel
    if kernel.kernel_support() is None:
        raw = kernel.measure()          # {"per_destination": {...}, ..., "meta": {...}}

Command line, for debugging: ``python -m sim.kernel.measure [names...]`` prints the JSON.

Note: the kernel's per-destination port cursor is global (not per namespace) and persists across runs
(kernel.md fact 5), so start ports differ from run to run; the laws do not.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import fcntl
import json
import os
import platform
import resource
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

EXPERIMENTS: tuple[str, ...] = ("per_destination", "increments", "bind_exhaustion", "time_wait_scope", "tw_reuse")
"""The experiments ``measure()`` knows, in the order it runs them by default."""

Address = tuple[str, int]

SYSCTL_DIR = Path("/proc/sys/net/ipv4")
PROC_TCP = Path("/proc/net/tcp")

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
IFREQ = "16sH22x"
"""``struct ifreq`` (40 bytes on Linux) with only the name and ``ifr_flags`` filled in."""

DEFAULT_RANGE = (32768, 60999)
SMALL_RANGE = (40000, 40063)
TW_RANGE = (40000, 40015)

DEST_A: Address = ("127.0.0.1", 5001)
DEST_B: Address = ("127.0.0.1", 5002)
PER_DESTINATION_DESTS: tuple[Address, ...] = (
    ("127.0.0.1", 5001),
    ("127.0.0.1", 5002),
    ("127.0.0.2", 5001),
    ("127.0.0.3", 5001),
)
PER_DESTINATION_KS = (1, 2, 4)
NEW_DEST: Address = ("127.0.0.9", 5009)

INCREMENT_CYCLES = 2000
TW_REUSE_DELAY_MS = 200
KERNEL_FIXED_DELAY_MS = 1000
POLL_OVERRUN_MS = 500
"""tw_reuse polling stops this long after the delay has passed for the oldest TIME_WAIT."""
POLL_LEAD_MS = 50
"""tw_reuse sleeps until the oldest TIME_WAIT is this much younger than the delay, then busy-polls."""
MAX_POLL_ATTEMPTS = 50_000

BACKLOG = 4096
SOCKET_TIMEOUT_S = 2.0
"""Bound on every blocking socket call in a child (SO_SNDTIMEO for connect, a socket timeout otherwise)."""
CHILD_CAP_S = 20.0
"""Wall-time cap on one experiment's child process."""
PROBE_TIMEOUT_S = 20.0
MIN_CHILD_S = 1.0
"""An experiment is not started with less than this left of the time budget."""


# ---------------------------------------------------------------- parent side


def kernel_support() -> str | None:
    """None when live measurements can run here; otherwise a one-line reason.

    Runs a short probe child that creates a network namespace, brings ``lo`` up and writes a sysctl.
    """
    if not sys.platform.startswith("linux"):
        return f"not Linux (sys.platform is {sys.platform!r})"
    for path in (SYSCTL_DIR / "ip_local_port_range", PROC_TCP):
        if not path.exists():
            return f"{path} is missing (is /proc mounted?)"
    out = _run_child(["--probe"], PROBE_TIMEOUT_S)
    if "error" in out:
        return str(out["error"])
    return None


LOCK = Path(tempfile.gettempdir()) / "portsim-live-kernel.lock"
"""The file whose lock lets one live measurement run at a time on this machine (``exclusive``)."""


@contextmanager
def exclusive() -> Iterator[None]:
    """Hold this machine's live-measurement lock (waiting for another measurement to end).

    The kernel's table that perturbs connect()'s port offsets (``table_perturb`` in
    net/ipv4/inet_hashtables.c) is one for every network namespace, so connects made by another live
    measurement (``validate --nat`` beside ``validate --kernel``) would break this one's port sequences.
    """
    fd = os.open(LOCK, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def measure(names: Sequence[str] = EXPERIMENTS, *, time_budget: float = 45.0) -> dict[str, Any]:
    """Run each named experiment in its own brand-new private network namespace and return JSON-serialisable
    raw results.

    The result maps each experiment name to its raw results (schemas in the ``_exp_*`` docstrings), or to
    ``{"error": "<one line>"}`` when that experiment failed or did not fit in ``time_budget`` seconds; plus
    ``"meta"``: ``{"kernel": release, "namespace": "root" | "user", "elapsed_s": {name: seconds}}``.

    Raises:
        ValueError: an unknown experiment name.
        RuntimeError: live measurements cannot run here (the reason from ``kernel_support()``).
    """
    if isinstance(names, str):
        names = (names,)
    unknown = [name for name in names if name not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"unknown experiment(s) {unknown}; known: {list(EXPERIMENTS)}")
    reason = kernel_support()
    if reason is not None:
        raise RuntimeError(reason)
    with exclusive():
        return _measure(names, time.monotonic() + time_budget, time_budget)


def _measure(names: Sequence[str], deadline: float, time_budget: float) -> dict[str, Any]:
    """``measure`` once it holds the lock."""
    results: dict[str, Any] = {}
    elapsed: dict[str, float] = {}
    namespace = "root" if os.geteuid() == 0 else "user"
    for name in dict.fromkeys(names):
        remaining = deadline - time.monotonic()
        if remaining < MIN_CHILD_S:
            results[name] = {"error": f"not run: the time budget of {time_budget:g} s was used up"}
            continue
        allotted = min(CHILD_CAP_S, remaining)
        t0 = time.monotonic()
        out = _run_child(["--child", name, "--seconds", f"{allotted - 0.5:.3f}"], allotted)
        elapsed[name] = round(time.monotonic() - t0, 3)
        if "error" in out:
            results[name] = {"error": str(out["error"])}
        elif not isinstance(out.get("result"), dict):
            results[name] = {"error": "child process reported no result"}
        else:
            results[name] = out["result"]
            namespace = str(out.get("namespace", namespace))
    results["meta"] = {"kernel": platform.release(), "namespace": namespace, "elapsed_s": elapsed}
    return results


def _run_child(args: list[str], timeout: float) -> dict[str, Any]:
    """Run this file as a child process with ``args``: its last stdout line as a JSON object, or ``{"error": ...}``."""
    return json_child([sys.executable, "-I", str(Path(__file__).resolve()), *args], timeout)


def json_child(cmd: list[str], timeout: float) -> dict[str, Any]:
    """Run ``cmd``: its last stdout line as a JSON object, or ``{"error": ...}`` saying what went wrong."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"child process timed out after {timeout:.1f} s"}
    except OSError as exc:
        return {"error": f"cannot start a child process: {exc}"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()
        return {"error": f"child process failed (exit status {proc.returncode}): {tail[-1] if tail else 'no output'}"}
    try:
        data = json.loads(lines[-1])
    except ValueError:
        return {"error": f"child process printed no JSON: {lines[-1][:200]}"}
    if not isinstance(data, dict):
        return {"error": "child process printed JSON that is not an object"}
    return data


# ---------------------------------------------------------------- child side: namespace and plumbing


class _NamespaceError(Exception):
    """No new network namespace can be created here (the message is the one-line reason)."""


class _Child:
    """An experiment's context inside the child: its wall-time deadline and its network namespace."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.namespace = ""
        self.fresh_namespace()
        _raise_nofile_limit()

    def check(self, what: str) -> None:
        """Raise TimeoutError once the wall-time deadline has passed."""
        if time.monotonic() > self.deadline:
            raise TimeoutError(f"wall-time bound hit during {what}")

    def fresh_namespace(self) -> None:
        """Move into a brand-new network namespace with ``lo`` up (close the old namespace's sockets first)."""
        if self.namespace == "user":
            _unshare(CLONE_NEWNET)  # already root in our own user namespace
        else:
            self.namespace = _first_namespace()
        _bring_lo_up()


def _unshare(flags: int) -> None:
    """Call libc ``unshare(flags)``; raise OSError on failure."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.unshare.argtypes = [ctypes.c_int]
    libc.unshare.restype = ctypes.c_int
    if libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _first_namespace() -> str:
    """Leave the inherited network namespace: "root" (plain CLONE_NEWNET) or "user" (with a user namespace)."""
    failure: OSError | None = None
    if os.geteuid() == 0:
        try:
            _unshare(CLONE_NEWNET)
            return "root"
        except OSError as exc:
            failure = exc
    uid, gid = os.geteuid(), os.getegid()
    try:
        _unshare(CLONE_NEWUSER | CLONE_NEWNET)
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
        Path("/proc/self/gid_map").write_text(f"0 {gid} 1")
    except OSError as exc:
        why = (failure or exc).strerror or str(failure or exc)
        raise _NamespaceError(
            f"no permission to create a network namespace: needs root or unprivileged user namespaces (unshare: {why})"
        ) from exc
    return "user"


def _bring_lo_up() -> None:
    """Set IFF_UP on ``lo`` with SIOCGIFFLAGS/SIOCSIFFLAGS (no ``ip`` binary needed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        reply = fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, struct.pack(IFREQ, b"lo", 0))
        flags = struct.unpack(IFREQ, reply)[1]
        if not flags & IFF_UP:
            fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack(IFREQ, b"lo", flags | IFF_UP))


def _raise_nofile_limit() -> None:
    """Raise the RLIMIT_NOFILE soft limit to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _sysctl(name: str, value: str) -> None:
    """Write ``value`` to /proc/sys/net/ipv4/``name`` (of the current namespace)."""
    (SYSCTL_DIR / name).write_text(value)


def _set_range(low: int, high: int) -> None:
    """Set ip_local_port_range and check that it took."""
    _sysctl("ip_local_port_range", f"{low} {high}")
    got = (SYSCTL_DIR / "ip_local_port_range").read_text().split()
    if [int(v) for v in got] != [low, high]:
        raise RuntimeError(f"ip_local_port_range reads {got} after writing {low} {high}")


def _errname(exc: OSError) -> str:
    """The errno name of ``exc`` (e.g. "EADDRNOTAVAIL")."""
    return errno.errorcode.get(exc.errno or 0, str(exc.errno))


def _client_socket() -> socket.socket:
    """A blocking TCP socket whose connect() is bounded by SO_SNDTIMEO."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    seconds = int(SOCKET_TIMEOUT_S)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", seconds, 0))
    return sock


def _try_connect(dst: Address) -> tuple[socket.socket | None, str | None]:
    """connect() a new socket to ``dst``: (socket, None) on success, else (None, errno name) with the socket closed."""
    sock = _client_socket()
    try:
        sock.connect(dst)
    except OSError as exc:
        sock.close()
        return None, _errname(exc)
    return sock, None


def _listen(ports: Sequence[int], held: list[socket.socket]) -> list[socket.socket]:
    """Listening sockets on 0.0.0.0:port for each port (appended to ``held`` too)."""
    out = []
    for port in ports:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        held.append(sock)
        sock.bind(("0.0.0.0", port))
        sock.listen(BACKLOG)
        sock.settimeout(SOCKET_TIMEOUT_S)
        out.append(sock)
    return out


def _client_first_close(dst: Address, listener: socket.socket) -> tuple[int, float, float]:
    """One connection closed client-first: (client port, time.monotonic() just before the server's close() call,
    time.monotonic() right after it returned).

    The client calls close(), the server's recv() returns b'' and the server closes: the client side is then
    in TIME_WAIT. The kernel stamps the TIME_WAIT entry when the server's FIN reaches the client, which on
    loopback happens inside the server's close() call, i.e. within the two returned times.
    """
    client, err = _try_connect(dst)
    if client is None:
        raise RuntimeError(f"connect() to {dst} failed with {err} while creating TIME_WAITs")
    port = int(client.getsockname()[1])
    server, _ = listener.accept()
    with server:
        server.settimeout(SOCKET_TIMEOUT_S)
        client.close()
        if server.recv(1) != b"":
            raise RuntimeError("server received data instead of EOF")
        before = time.monotonic()
    return port, before, time.monotonic()


def _count_time_wait(low: int, high: int) -> int:
    """Sockets in TIME_WAIT (state 06) in /proc/net/tcp whose local port is in [low, high]."""
    count = 0
    with PROC_TCP.open() as fh:
        next(fh)
        for line in fh:
            fields = line.split()
            port = int(fields[1].rsplit(":", 1)[1], 16)
            if fields[3] == "06" and low <= port <= high:
                count += 1
    return count


def _close_all(held: list[socket.socket]) -> None:
    """Close every socket in ``held`` and empty it."""
    for sock in held:
        sock.close()
    held.clear()


# ---------------------------------------------------------------- experiments (run inside the child)


def _exp_per_destination(ctx: _Child) -> dict[str, Any]:
    """Connect round-robin to K destinations (K = 1, 2, 4, a fresh namespace each) in a 64-port range until all fail.

    Sockets are kept open. Afterwards one connect() to a brand-new destination 127.0.0.9:5009.
    Result: ``{"range": [40000, 40063], "runs": [{"k", "destinations": [[ip, port], ...], "ports": [[ports of
    destination 0 in allocation order], ...], "errno": name of the failures ("/"-joined if they differ),
    "new_destination_ok": bool}, ...]}``.
    """
    low, high = SMALL_RANGE
    size = high - low + 1
    runs = []
    held: list[socket.socket] = []
    for run_index, k in enumerate(PER_DESTINATION_KS):
        try:
            if run_index:
                ctx.fresh_namespace()
            _set_range(low, high)
            dests = PER_DESTINATION_DESTS[:k]
            _listen(sorted({port for _, port in dests} | {NEW_DEST[1]}), held)
            ports: list[list[int]] = [[] for _ in dests]
            errs: list[str | None] = [None] * k
            for _ in range(size + 2):
                if all(err is not None for err in errs):
                    break
                ctx.check(f"per_destination k={k}")
                for i, dst in enumerate(dests):
                    if errs[i] is not None:
                        continue
                    sock, errs[i] = _try_connect(dst)
                    if sock is not None:
                        held.append(sock)
                        ports[i].append(int(sock.getsockname()[1]))
            if any(err is None for err in errs):
                raise RuntimeError(f"k={k}: a destination still accepted connections after {size + 2} rounds")
            sock, _ = _try_connect(NEW_DEST)
            if sock is not None:
                held.append(sock)
            runs.append(
                {
                    "k": k,
                    "destinations": [[ip, port] for ip, port in dests],
                    "ports": ports,
                    "errno": "/".join(sorted({str(err) for err in errs})),
                    "new_destination_ok": sock is not None,
                }
            )
        finally:
            _close_all(held)
    return {"range": [low, high], "runs": runs}


def _exp_increments(ctx: _Child) -> dict[str, Any]:
    """2000 cycles of connect() to 127.0.0.1:5001 then an immediate RST close (SO_LINGER {1, 0}), default range.

    Result: ``{"range": [32768, 60999], "ports": [local port of each cycle, in order]}``.
    """
    low, high = DEFAULT_RANGE
    held: list[socket.socket] = []
    try:
        _set_range(low, high)
        (listener,) = _listen([DEST_A[1]], held)
        ports: list[int] = []
        linger = struct.pack("ii", 1, 0)
        for _ in range(INCREMENT_CYCLES):
            ctx.check("increments")
            sock, err = _try_connect(DEST_A)
            if sock is None:
                raise RuntimeError(f"connect() failed with {err} after {len(ports)} cycles")
            ports.append(int(sock.getsockname()[1]))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            sock.close()
            server, _ = listener.accept()
            server.close()
    finally:
        _close_all(held)
    return {"range": [low, high], "ports": ports}


def _exp_bind_exhaustion(ctx: _Child) -> dict[str, Any]:
    """bind(("127.0.0.1", 0)) then connect() to 127.0.0.1:5001, sockets kept, in a 64-port range until bind() fails.

    Then a plain connect() to a new destination 127.0.0.1:5002, and bind(("127.0.0.2", 0)) on a new socket.
    Result: ``{"range": [40000, 40063], "ports": [bound ports in order], "errno": name of the bind() failure,
    "connect_new_destination_errno": name or None (succeeded), "other_address_bind_ok": bool}``.
    """
    low, high = SMALL_RANGE
    held: list[socket.socket] = []
    try:
        _set_range(low, high)
        _listen([DEST_A[1], DEST_B[1]], held)
        ports: list[int] = []
        bind_err: str | None = None
        for _ in range(high - low + 5):
            ctx.check("bind_exhaustion")
            sock = _client_socket()
            try:
                sock.bind(("127.0.0.1", 0))
            except OSError as exc:
                sock.close()
                bind_err = _errname(exc)
                break
            held.append(sock)
            ports.append(int(sock.getsockname()[1]))
            try:
                sock.connect(DEST_A)
            except OSError as exc:
                raise RuntimeError(f"connect() after bind() failed with {_errname(exc)}") from exc
        if bind_err is None:
            raise RuntimeError(f"bind() still succeeded after {len(ports)} sockets")
        sock_b, connect_err = _try_connect(DEST_B)
        if sock_b is not None:
            held.append(sock_b)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
            try:
                other.bind(("127.0.0.2", 0))
                other_ok = True
            except OSError:
                other_ok = False
    finally:
        _close_all(held)
    return {
        "range": [low, high],
        "ports": ports,
        "errno": bind_err,
        "connect_new_destination_errno": connect_err,
        "other_address_bind_ok": other_ok,
    }


def _exp_time_wait_scope(ctx: _Child) -> dict[str, Any]:
    """16 client-first closes to A = 127.0.0.1:5001 in a 16-port range (tcp_tw_reuse=0), then connect() to A and to B.

    Result: ``{"range": [40000, 40015], "time_wait": client-side TIME_WAIT count in /proc/net/tcp,
    "same_destination_errno": name or None (connect to A succeeded), "other_destination_ok": bool,
    "other_destination_port": int | None}`` (B = 127.0.0.1:5002).
    """
    low, high = TW_RANGE
    held: list[socket.socket] = []
    try:
        _set_range(low, high)
        _sysctl("tcp_tw_reuse", "0")
        listener, _ = _listen([DEST_A[1], DEST_B[1]], held)
        for _ in range(high - low + 1):
            ctx.check("time_wait_scope")
            _client_first_close(DEST_A, listener)
        time_wait = _count_time_wait(low, high)
        sock_a, same_err = _try_connect(DEST_A)
        if sock_a is not None:
            held.append(sock_a)
        sock_b, _ = _try_connect(DEST_B)
        port_b = None
        if sock_b is not None:
            held.append(sock_b)
            port_b = int(sock_b.getsockname()[1])
    finally:
        _close_all(held)
    return {
        "range": [low, high],
        "time_wait": time_wait,
        "same_destination_errno": same_err,
        "other_destination_ok": sock_b is not None,
        "other_destination_port": port_b,
    }


def _exp_tw_reuse(ctx: _Child) -> dict[str, Any]:
    """16 back-to-back client-first TIME_WAITs toward A in a 16-port range, then busy-poll connect() to A.

    Sysctls: tcp_tw_reuse=1, tcp_timestamps=1, tcp_tw_reuse_delay=200 when that sysctl exists (else the
    kernel's fixed 1000 ms). Polling sleeps until the oldest TIME_WAIT is ``delay - 50`` ms old, then calls
    connect() back to back (successful sockets are kept) until all 16 are reused, ``delay + 500`` ms after the
    oldest entry, or 50 000 attempts.

    Ages (ms) are those of the oldest TIME_WAIT not yet reused: the TIME_WAITs were stamped in creation order,
    so one of them is old enough for reuse exactly when the oldest is. A TIME_WAIT's entry time is only known
    to lie within its server's close() call (``_client_first_close``); ages are bounded from the safe side, so
    that a scheduling hiccup cannot make an age look younger than the kernel saw it at a success, nor older at
    a failure:

    - a failed attempt's age is (time.monotonic() just before connect()) minus (the time the oldest's server
      close() returned): a lower bound on the age the kernel checked;
    - a successful attempt's age is (time.monotonic() right after connect() returned) minus (the time just
      before the oldest's server close() was called): an upper bound.

    Result: ``{"tw_reuse": 1, "delay_ms": 200 | 1000, "delay_configurable": bool, "reused": successful
    connects (each takes over one TIME_WAIT), "first_success_age_ms": age at the first success or None,
    "last_failure_age_ms": age at the last failure before the first success (the last failure of all when
    nothing succeeded) or None, "attempts": connect() calls made while polling}``. The kernel's reuse
    threshold on age lies in (last_failure_age_ms, first_success_age_ms].
    """
    low, high = TW_RANGE
    held: list[socket.socket] = []
    try:
        _set_range(low, high)
        _sysctl("tcp_tw_reuse", "1")
        _sysctl("tcp_timestamps", "1")
        configurable = (SYSCTL_DIR / "tcp_tw_reuse_delay").exists()
        delay_ms = TW_REUSE_DELAY_MS if configurable else KERNEL_FIXED_DELAY_MS
        if configurable:
            _sysctl("tcp_tw_reuse_delay", str(delay_ms))
        (listener,) = _listen([DEST_A[1]], held)
        entered: dict[int, tuple[float, float]] = {}  # port -> entry window, in creation (= age) order
        for _ in range(high - low + 1):
            ctx.check("tw_reuse setup")
            port, before, after = _client_first_close(DEST_A, listener)
            entered[port] = (before, after)
        if len(entered) != high - low + 1:
            raise RuntimeError(f"expected {high - low + 1} distinct TIME_WAIT ports, got {len(entered)}")
        first_entry = next(iter(entered.values()))[0]
        wake = first_entry + (delay_ms - POLL_LEAD_MS) / 1000
        stop = first_entry + (delay_ms + POLL_OVERRUN_MS) / 1000
        time.sleep(max(0.0, wake - time.monotonic()))
        attempts = reused = 0
        first_success: float | None = None
        last_failure: float | None = None
        while entered and attempts < MAX_POLL_ATTEMPTS and time.monotonic() < stop:
            ctx.check("tw_reuse polling")
            oldest_before, oldest_after = next(iter(entered.values()))
            sock = _client_socket()
            attempts += 1
            t0 = time.monotonic()
            try:
                sock.connect(DEST_A)
            except OSError as exc:
                sock.close()
                if exc.errno != errno.EADDRNOTAVAIL:
                    raise RuntimeError(f"connect() failed with {_errname(exc)} while polling") from exc
                if first_success is None:
                    last_failure = (t0 - oldest_after) * 1000
                continue
            t1 = time.monotonic()
            held.append(sock)
            if first_success is None:
                first_success = (t1 - oldest_before) * 1000
            port = int(sock.getsockname()[1])
            if entered.pop(port, None) is None:
                raise RuntimeError(f"a connect() succeeded on port {port}, which held no TIME_WAIT")
            reused += 1
    finally:
        _close_all(held)
    return {
        "tw_reuse": 1,
        "delay_ms": delay_ms,
        "delay_configurable": configurable,
        "reused": reused,
        "first_success_age_ms": None if first_success is None else round(first_success, 4),
        "last_failure_age_ms": None if last_failure is None else round(last_failure, 4),
        "attempts": attempts,
    }


_RUNNERS: dict[str, Callable[[_Child], dict[str, Any]]] = {
    "per_destination": _exp_per_destination,
    "increments": _exp_increments,
    "bind_exhaustion": _exp_bind_exhaustion,
    "time_wait_scope": _exp_time_wait_scope,
    "tw_reuse": _exp_tw_reuse,
}


def _one_line(exc: BaseException) -> str:
    """``exc`` as a one-line message with its type."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _child_main(name: str | None, seconds: float) -> int:
    """Child mode: probe (``name`` None) or run one experiment in a new namespace; print one JSON line."""
    out: dict[str, Any]
    try:
        if name is not None and name not in _RUNNERS:
            raise ValueError(f"unknown experiment {name!r}")
        ctx = _Child(seconds)
        if name is None:
            _set_range(*DEFAULT_RANGE)
            out = {"namespace": ctx.namespace}
        else:
            out = {"namespace": ctx.namespace, "result": _RUNNERS[name](ctx)}
    except _NamespaceError as exc:
        out = {"error": str(exc)}
    except Exception as exc:
        out = {"error": _one_line(exc)}
    print(json.dumps(out), flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sim.kernel.measure [names...]``: run experiments, print the JSON.

    ``--child`` and ``--probe`` are internal.
    """
    parser = argparse.ArgumentParser(
        prog="python -m sim.kernel.measure", description="Measure the live kernel's ephemeral port allocation."
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"experiments to run (default: all of {EXPERIMENTS})")
    parser.add_argument("--budget", type=float, default=45.0, help="time budget in seconds (default 45)")
    parser.add_argument("--child", metavar="NAME", help=argparse.SUPPRESS)
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=CHILD_CAP_S, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe or args.child is not None:
        return _child_main(args.child, args.seconds)
    try:
        result = measure(args.names or EXPERIMENTS, time_budget=args.budget)
    except (ValueError, RuntimeError) as exc:
        print(f"sim.kernel.measure: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
