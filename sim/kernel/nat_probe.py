"""Live measurements of Linux netfilter SNAT: the kernel's own port search, in private network namespaces.

A child process (this file, run as a script with ``--child``) builds three named network namespaces joined by
two veth pairs, all on private addresses, and removes them when it ends (the parent removes them again in
any case, and removes stale ones left by a process that no longer runs)::

    <prefix>-c  client  c0: 10.9.0.1-3/24, default via 10.9.0.254
    <prefix>-r  router  r0: 10.9.0.254/24 | r1: 10.8.0.254/24, ip_forward=1, nftables:
                        table ip nat { chain post { type nat hook postrouting priority srcnat; } }
                        oifname r1 meta l4proto tcp snat to 10.8.0.254:LOW-HIGH [persistent|random|fully-random]
    <prefix>-s  server  s0: 10.8.0.1/24, 10.8.0.2/24; listening on 10.8.0.1:80, 10.8.0.1:81, 10.8.0.2:80

The client connects one connection at a time (no SYN race), round-robin from its three addresses, and keeps
its connections open; the translated port is the peer port the server's ``accept()`` sees. A connection
fails when netfilter finds no free port: the SYN is then dropped silently (the router's conntrack
``insert_failed`` rises by one) and the client sees nothing; a connect counts as failed when that counter
has risen and the connection is not up 0.25 s after the SYN. Between cases every connection is reset and the
router's conntrack table flushed. Method and the laws: docs/nat-kernel.md (Q1-Q3); ``docs/nat-probe/probe.py``
is the longer probe this is taken from.

    from sim.kernel import nat_probe
    if nat_probe.nat_support() is None:
        raw = nat_probe.measure()   # {"until_failure": {...}, ..., "meta": {...}}

Needs root (named namespaces, nftables rules) and the ``ip``, ``nft`` and ``conntrack`` commands (Debian:
iproute2, nftables, conntrack; ``make nat-tools`` installs the last two). Every loop is bounded in count,
every wait has a timeout, and the child has a wall-time cap. Nothing outside the private namespaces changes.
Command line, for debugging: ``python -m sim.kernel.nat_probe`` prints the JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import platform
import re
import resource
import select
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Address = tuple[str, int]

PREFIX = "psnat"
"""Namespace names are ``psnat<pid of the measuring process>-<c|r|s|p>``."""
STALE = re.compile(rf"^{PREFIX}(\d+)-[crsp]$")
NETNS_DIR = Path("/run/netns")

CLIENTS = ("10.9.0.1", "10.9.0.2", "10.9.0.3")
NAT_ADDRESS = "10.8.0.254"
DEST_A: Address = ("10.8.0.1", 80)
DEST_A2: Address = ("10.8.0.1", 81)
DEST_B: Address = ("10.8.0.2", 80)
DESTINATIONS: tuple[Address, ...] = (DEST_A, DEST_A2, DEST_B)

UNTIL_FAILURE_RANGE = (10000, 10255)
UNTIL_FAILURE_RUNS = 20
SHARING_RANGE = (10000, 10063)
PRESERVE_RANGE = (32768, 60999)
"""The client namespace's own ephemeral range too, so every client port lies in the translated range."""
PRESERVE_CONNECTIONS = 30
MODES = ("default", "persistent", "random", "fully-random")
FREE_LEFT_RANGE = (10000, 11023)
FREE_LEFT_RUNS = 10

EXPERIMENTS: tuple[str, ...] = ("until_failure", "sharing", "preservation", "free_left")

TOOLS = {"ip": "iproute2", "nft": "nftables", "conntrack": "conntrack"}
"""Commands the check runs, and the Debian package of each."""

CONNECT_WAIT_S = 0.25
"""A connect not up this long after its SYN is examined: failed if the router counted a NAT drop."""
DROP_WAIT_S = 0.9
"""Longest wait for a connect that is neither up nor dropped (the first SYN retransmission is at 1 s)."""
ACCEPT_WAIT_S = 1.0
COMMAND_TIMEOUT_S = 20.0
CHILD_CAP_S = 60.0
"""Wall-time cap on the child process (the measurements take about 10-20 s)."""
SUPPORT_TIMEOUT_S = 20.0

CLONE_NEWNET = 0x40000000
IP_BIND_ADDRESS_NO_PORT = 24
"""Bind the source address only; the port is chosen at connect() for the 4-tuple (linux/in.h)."""


# ---------------------------------------------------------------- commands and namespaces (both sides)


def _command(argv: list[str], stdin: str | None = None, check: bool = True) -> str:
    """Run ``argv``; its stdout, or RuntimeError with the last line of its stderr."""
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False)
    if check and done.returncode != 0:
        tail = done.stderr.strip().splitlines()
        raise RuntimeError(f"{' '.join(argv)}: exit status {done.returncode}: {tail[-1] if tail else 'no output'}")
    return done.stdout


def names(prefix: str) -> tuple[str, str, str]:
    """The client, router and server namespace names."""
    return f"{prefix}-c", f"{prefix}-r", f"{prefix}-s"


def teardown(prefix: str) -> None:
    """Remove the namespaces of ``prefix`` (veth pairs go with them); quiet when they are not there."""
    for name in (*names(prefix), f"{prefix}-p"):
        if (NETNS_DIR / name).exists():
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=COMMAND_TIMEOUT_S, check=False)


def remove_stale() -> list[str]:
    """Remove namespaces left by a measuring process that no longer runs; their names."""
    try:
        entries = sorted(os.listdir(NETNS_DIR))
    except OSError:
        return []
    removed = []
    for entry in entries:
        match = STALE.match(entry)
        if match is None or _alive(int(match.group(1))):
            continue
        subprocess.run(["ip", "netns", "del", entry], capture_output=True, timeout=COMMAND_TIMEOUT_S, check=False)
        removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def missing_tools() -> list[str]:
    """``"nft (Debian package nftables)"`` for each needed command that is not on PATH."""
    return [f"{tool} (Debian package {package})" for tool, package in TOOLS.items() if shutil.which(tool) is None]


# ---------------------------------------------------------------- parent side


def nat_support() -> str | None:
    """None when the live NAT check can run here; otherwise one line saying what is missing.

    Besides root and the commands, it makes a namespace with an nftables NAT chain and flushes its conntrack
    table (the kernel's nf_tables, nf_nat and nf_conntrack must be there), then removes it.
    """
    if not sys.platform.startswith("linux"):
        return f"not Linux (sys.platform is {sys.platform!r})"
    if os.geteuid() != 0:
        return "needs root (named network namespaces and nftables rules)"
    missing = missing_tools()
    if missing:
        return f"missing on PATH: {', '.join(missing)}; as root, `make nat-tools` installs them"
    remove_stale()
    probe = f"{PREFIX}{os.getpid()}-p"
    try:
        _command(["ip", "netns", "add", probe])
        _command(["ip", "netns", "exec", probe, "nft", "-f", "-"], stdin=NAT_TABLE)
        _command(["ip", "netns", "exec", probe, "conntrack", "-F"])
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        return f"cannot set up netfilter NAT in a network namespace: {' '.join(str(exc).split())}"
    finally:
        if (NETNS_DIR / probe).exists():
            subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=COMMAND_TIMEOUT_S, check=False)
    return None


def measure(names_: Sequence[str] = EXPERIMENTS, *, time_budget: float = CHILD_CAP_S) -> dict[str, Any]:
    """Build the namespaces, run the named experiments in one child process, remove the namespaces.

    The result maps each experiment name to its raw results (schemas in the ``_exp_*`` docstrings), or to
    ``{"error": "<one line>"}`` when that experiment failed; plus ``"meta"``: ``{"kernel": release,
    "nft": version line, "elapsed_s": seconds}``.

    Raises:
        ValueError: an unknown experiment name.
        RuntimeError: the check cannot run here, or the namespaces could not be set up.
    """
    from .measure import exclusive, json_child  # here, not at the top: this file also runs alone as the child

    unknown = [name for name in names_ if name not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"unknown experiment(s) {unknown}; known: {list(EXPERIMENTS)}")
    reason = nat_support()
    if reason is not None:
        raise RuntimeError(reason)
    prefix = f"{PREFIX}{os.getpid()}"
    cmd = [sys.executable, "-I", str(Path(__file__).resolve()), "--child", "--prefix", prefix]
    cmd += ["--seconds", f"{time_budget - 2:.1f}", *names_]
    with exclusive():
        start = time.monotonic()
        try:
            out = json_child(cmd, time_budget)
        finally:
            teardown(prefix)
    if "error" in out:
        raise RuntimeError(f"live NAT measurement failed: {out['error']}")
    result = out.get("result")
    if not isinstance(result, dict):
        raise RuntimeError("live NAT measurement failed: the child process reported no result")
    result["meta"] = {
        "kernel": platform.release(),
        "nft": _command(["nft", "--version"], check=False).strip(),
        "elapsed_s": round(time.monotonic() - start, 2),
    }
    return result


# ---------------------------------------------------------------- child side: the lab

NAT_TABLE = """table ip nat {
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
    }
}
"""


class _Lab:
    """The three namespaces, the server's listeners and the client's open connections (inside the child)."""

    def __init__(self, prefix: str, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.client, self.router, self.server = names(prefix)
        self.prefix = prefix
        self.fds: dict[str, int] = {"host": os.open("/proc/self/ns/net", os.O_RDONLY)}
        self.listeners: dict[Address, socket.socket] = {}
        self.held: list[socket.socket] = []
        self.drops = 0
        self.turn = 0
        self.libc = ctypes.CDLL(None, use_errno=True)

    # -- plumbing

    def check(self, what: str) -> None:
        if time.monotonic() > self.deadline:
            raise TimeoutError(f"wall-time bound hit during {what}")

    def enter(self, ns: str) -> None:
        if ns not in self.fds:
            self.fds[ns] = os.open(NETNS_DIR / ns, os.O_RDONLY)
        if self.libc.setns(self.fds[ns], CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {ns}: {os.strerror(err)}")

    def in_router(self, *argv: str, stdin: str | None = None, check: bool = True) -> str:
        return _command(["ip", "netns", "exec", self.router, *argv], stdin=stdin, check=check)

    def setup(self) -> None:
        self.enter("host")
        teardown(self.prefix)
        c, r, s = self.client, self.router, self.server
        for ns in (c, r, s):
            _command(["ip", "netns", "add", ns])
            _command(["ip", "-n", ns, "link", "set", "lo", "up"])
        _command(["ip", "link", "add", "c0", "netns", c, "type", "veth", "peer", "name", "r0", "netns", r])
        _command(["ip", "link", "add", "s0", "netns", s, "type", "veth", "peer", "name", "r1", "netns", r])
        plan = (
            (c, "c0", [f"{a}/24" for a in CLIENTS]),
            (r, "r0", ["10.9.0.254/24"]),
            (r, "r1", [f"{NAT_ADDRESS}/24"]),
            (s, "s0", ["10.8.0.1/24", "10.8.0.2/24"]),
        )
        for ns, dev, addresses in plan:
            for address in addresses:
                _command(["ip", "-n", ns, "addr", "add", address, "dev", dev])
            _command(["ip", "-n", ns, "link", "set", dev, "up"])
        _command(["ip", "-n", c, "route", "add", "default", "via", "10.9.0.254"])
        _command(["ip", "-n", s, "route", "add", "default", "via", NAT_ADDRESS])
        self.enter(r)
        Path("/proc/sys/net/ipv4/ip_forward").write_text("1")
        self.in_router("nft", "-f", "-", stdin=NAT_TABLE)
        self.enter(s)
        for dst in DESTINATIONS:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(dst)
            sock.listen(4096)
            sock.setblocking(False)
            self.listeners[dst] = sock
        self.enter(c)  # the client's sockets are made here from now on
        low, high = PRESERVE_RANGE
        Path("/proc/sys/net/ipv4/ip_local_port_range").write_text(f"{low} {high}")
        self._wait_for_links()

    def _wait_for_links(self) -> None:
        """Connect without NAT until the veth links carry traffic (bounded: 5 s)."""
        until = time.monotonic() + 5.0
        while time.monotonic() < until:
            conn = self.connect(DEST_A, CLIENTS[0], nat=False)
            if conn is not None:
                self.release()
                return
            time.sleep(0.05)
        raise RuntimeError("no traffic through the router within 5 s of setting up the links")

    def close(self) -> None:
        self.release(flush=False)
        for sock in self.listeners.values():
            sock.close()
        self.enter("host")
        teardown(self.prefix)

    # -- the rule and the connections

    def set_rule(self, low: int, high: int, mode: str = "default") -> None:
        """One ``snat to NAT_ADDRESS:low-high [flag]`` rule (replacing the previous one), conntrack flushed."""
        flag = "" if mode == "default" else f" {mode}"
        rule = f"add rule ip nat post oifname r1 meta l4proto tcp snat to {NAT_ADDRESS}:{low}-{high}{flag}\n"
        self.in_router("nft", "-f", "-", stdin="flush chain ip nat post\n" + rule)
        self.in_router("conntrack", "-F", check=False)
        self.drops = self.insert_failed()

    def insert_failed(self) -> int:
        """The router's conntrack ``insert_failed`` counter, summed over CPUs (a NAT drop adds one)."""
        total = 0
        for line in self.in_router("conntrack", "-S").splitlines():
            found = re.search(r"\binsert_failed=(\d+)", line)
            if found:
                total += int(found.group(1))
        return total

    def connect(self, dst: Address, src: str, nat: bool = True) -> tuple[int, int] | None:
        """One connection from ``src`` to ``dst``, kept open: (client port, translated port), or None when the
        router dropped its SYN for want of a port (``nat=False``: None when it is not up in time)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind((src, 0))
        sock.setblocking(False)
        sock.connect_ex(dst)
        client_port = int(sock.getsockname()[1])
        poller = select.poll()
        poller.register(sock, select.POLLOUT)
        start = time.monotonic()
        up = bool(poller.poll(int(CONNECT_WAIT_S * 1000)))
        while not up:
            if not nat:
                sock.close()
                return None
            drops = self.insert_failed()
            if drops > self.drops:
                self.drops = drops
                sock.close()
                return None
            if time.monotonic() - start > DROP_WAIT_S:
                sock.close()
                raise RuntimeError(
                    f"connect() from {src} to {dst} was neither up nor dropped by NAT within {DROP_WAIT_S} s"
                )
            up = bool(poller.poll(50))
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            sock.close()
            if not nat:
                return None
            raise RuntimeError(f"connect() from {src} to {dst} failed: {os.strerror(err)}")
        self.held.append(sock)
        listener = self.listeners[dst]
        ready = select.poll()
        ready.register(listener, select.POLLIN)
        if not ready.poll(int(ACCEPT_WAIT_S * 1000)):
            raise RuntimeError(f"the server did not see a connection to {dst} within {ACCEPT_WAIT_S} s")
        server, (peer, port) = listener.accept()
        self.held.append(server)
        if nat and peer != NAT_ADDRESS:
            raise RuntimeError(f"the server saw {peer}:{port}, not the NAT address {NAT_ADDRESS}")
        return client_port, int(port)

    def next_client(self) -> str:
        """The client addresses in turn."""
        self.turn += 1
        return CLIENTS[(self.turn - 1) % len(CLIENTS)]

    def fill(self, dst: Address, most: int, what: str) -> tuple[list[int], bool]:
        """Connections to ``dst`` one at a time until the first NAT drop (at most ``most`` tries): the translated
        ports in order, and whether it ended with a drop."""
        mapped: list[int] = []
        for _ in range(most):
            self.check(what)
            got = self.connect(dst, self.next_client())
            if got is None:
                return mapped, True
            mapped.append(got[1])
        return mapped, False

    def release(self, flush: bool = True) -> None:
        """Reset every held connection (SO_LINGER 0) and flush the router's conntrack table."""
        linger = struct.pack("ii", 1, 0)
        for sock in self.held:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            sock.close()
        self.held.clear()
        if flush:
            time.sleep(0.05)
            self.in_router("conntrack", "-F", check=False)


# ---------------------------------------------------------------- experiments (run inside the child)


def _fill_runs(lab: _Lab, low: int, high: int, runs: int, what: str) -> dict[str, Any]:
    out = []
    for _ in range(runs):
        lab.set_rule(low, high)
        mapped, dropped = lab.fill(DEST_A, high - low + 2, what)
        out.append({"mapped": mapped, "dropped": dropped})
        lab.release()
    return {"range": [low, high], "destination": list(DEST_A), "runs": out}


def _exp_until_failure(lab: _Lab) -> dict[str, Any]:
    """Connections to 10.8.0.1:80 through a 256-port range until the first NAT drop, 20 times (fresh table each).

    Result: ``{"range": [10000, 10255], "destination": [ip, port], "runs": [{"mapped": [translated ports in
    order], "dropped": whether it ended with a drop (else: 258 tries all succeeded)}, ...]}``.
    """
    return _fill_runs(lab, *UNTIL_FAILURE_RANGE, UNTIL_FAILURE_RUNS, "until_failure")


def _exp_free_left(lab: _Lab) -> dict[str, Any]:
    """As ``until_failure`` with a 1024-port range, 10 times: ports still free at the first drop = 1024 - mapped.

    Result: the schema of ``until_failure`` with ``"range": [10000, 11023]``.
    """
    return _fill_runs(lab, *FREE_LEFT_RANGE, FREE_LEFT_RUNS, "free_left")


def _exp_sharing(lab: _Lab) -> dict[str, Any]:
    """A 64-port range; 64 rounds of one connection to each of 10.8.0.1:80, 10.8.0.1:81 and 10.8.0.2:80, then one
    more to 10.8.0.1:80.

    Result: ``{"range": [10000, 10063], "destinations": [[ip, port], ...], "mapped": [[translated ports of
    destination i], ...], "dropped": [drops toward destination i], "extra_ok": bool}``.
    """
    low, high = SHARING_RANGE
    lab.set_rule(low, high)
    mapped: list[list[int]] = [[] for _ in DESTINATIONS]
    dropped = [0] * len(DESTINATIONS)
    for _ in range(high - low + 1):
        lab.check("sharing")
        for i, dst in enumerate(DESTINATIONS):
            got = lab.connect(dst, lab.next_client())
            if got is None:
                dropped[i] += 1
            else:
                mapped[i].append(got[1])
    extra = lab.connect(DEST_A, lab.next_client())
    lab.release()
    return {
        "range": [low, high],
        "destinations": [list(d) for d in DESTINATIONS],
        "mapped": mapped,
        "dropped": dropped,
        "extra_ok": extra is not None,
    }


def _exp_preservation(lab: _Lab) -> dict[str, Any]:
    """For each mode, 30 connections to 10.8.0.1:80 through ``snat to :32768-60999 [mode]``, the client's own
    ephemeral range (so every client port lies in the translated range).

    Result: ``{"range": [32768, 60999], "modes": {mode: {"pairs": [[client address, client port, translated
    port], ...], "dropped": int}}}``.
    """
    low, high = PRESERVE_RANGE
    modes: dict[str, Any] = {}
    for mode in MODES:
        lab.set_rule(low, high, mode)
        pairs: list[list[Any]] = []
        dropped = 0
        for _ in range(PRESERVE_CONNECTIONS):
            lab.check("preservation")
            src = lab.next_client()
            got = lab.connect(DEST_A, src)
            if got is None:
                dropped += 1
            else:
                pairs.append([src, got[0], got[1]])
        modes[mode] = {"pairs": pairs, "dropped": dropped}
        lab.release()
    return {"range": [low, high], "modes": modes}


_RUNNERS = {
    "until_failure": _exp_until_failure,
    "sharing": _exp_sharing,
    "preservation": _exp_preservation,
    "free_left": _exp_free_left,
}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _child_main(prefix: str, seconds: float, wanted: Sequence[str]) -> int:
    """Child mode: set up, run the experiments, tear down; print one JSON line."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    out: dict[str, Any]
    lab = _Lab(prefix, seconds)
    try:
        lab.setup()
        result: dict[str, Any] = {}
        for name in wanted:
            try:
                result[name] = _RUNNERS[name](lab)
            except Exception as exc:  # one experiment that fails is reported, the others still run
                result[name] = {"error": _one_line(exc)}
                lab.release(flush=False)
        out = {"result": result}
    except Exception as exc:
        out = {"error": _one_line(exc)}
    finally:
        try:
            lab.close()
        except Exception as exc:  # the parent removes the namespaces again
            print(f"cleanup: {_one_line(exc)}", file=sys.stderr)
    print(json.dumps(out), flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sim.kernel.nat_probe [names...]``: measure, print the JSON. ``--child`` is internal."""
    parser = argparse.ArgumentParser(
        prog="python -m sim.kernel.nat_probe", description="Measure Linux netfilter SNAT live."
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"experiments (default: all of {EXPERIMENTS})")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default=f"{PREFIX}{os.getpid()}", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=CHILD_CAP_S, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    wanted = args.names or list(EXPERIMENTS)
    if args.child:
        return _child_main(args.prefix, args.seconds, wanted)
    try:
        result = measure(wanted)
    except (ValueError, RuntimeError) as exc:
        print(f"sim.kernel.nat_probe: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
