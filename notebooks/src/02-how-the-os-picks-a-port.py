# %% [markdown]
# # 2. How the operating system picks a port
#
# **What you will learn**
#
# - how to replay socket calls one by one on a simulated host with `sim.SocketHost`;
# - the port sequences of real systems side by side: **sequential** (macOS), **downward** (NetBSD),
#   **random** (FreeBSD, Windows), and Linux's own: **even ports first**, small random steps, a separate
#   sequence **per destination**, and a new secret every 10 seconds;
# - why these choices matter: some make the next port easy to guess (notebook 4), some make the pool run
#   out sooner or scan longer (notebooks 3 and 5).
#
# About 15 minutes; every cell runs in a second or two. RFC 6056 describes the algorithms; portsim's
# `linux` preset follows the kernel's `__inet_hash_connect` and is checked against a live kernel.

# %% [markdown] tags=["student"]
# *Worked answers to the exercises: `solutions/02-how-the-os-picks-a-port.ipynb`.*

# %% [markdown] tags=["solution"]
# *This is the solutions version of `../02-how-the-os-picks-a-port.ipynb`: the exercises are filled in.*

# %%
import matplotlib.pyplot as plt
import numpy as np

import sim
from sim.teach import check, check_range

# %% [markdown]
# ## Socket calls, one at a time
#
# `sim.SocketHost(preset)` is a simulated host with that operating system's defaults (its ephemeral range,
# allocation algorithm, TIME_WAIT rules). `connect()` returns a socket with the `.port` the algorithm chose,
# or an `.errno` when no port is left; `close()` closes it (`"client"`: this side first, leaving TIME_WAIT;
# `"reset"`: an RST, no TIME_WAIT). Times are in seconds; the clock only moves forward.

# %%
host = sim.SocketHost("macos", seed=1)
first = [host.connect("10.0.0.5", 443, at=t) for t in (0.0, 0.1, 0.2, 0.3, 0.4)]
print([s.port for s in first])
for s in first:
    host.close(s, "client")
print(host)


# %% [markdown]
# ## Port against connection, per system
#
# `sequence()` opens `n` connections, one every `gap` seconds, alternately to two servers, and closes each
# at once with an RST, so that what we see is the algorithm alone, not a pool filling up (that is
# notebook 3). Each dot is one connection: its port (up) against its number (across).

# %%
SERVERS = [("10.0.0.5", 443), ("10.0.0.6", 443)]


def sequence(preset: str, n: int = 200, servers=SERVERS, gap: float = 0.01, seed: int = 1, **host_keys):
    """Ports of n connections to ``servers`` in turn on a fresh host; (ports, server index) as arrays."""
    host = sim.SocketHost(preset, seed=seed, **host_keys)
    ports, which = [], []
    for i in range(n):
        s = host.connect(*servers[i % len(servers)], at=i * gap)
        ports.append(s.port)
        which.append(i % len(servers))
        host.close(s, "reset")
    return np.array(ports), np.array(which)


PRESETS = {
    "macos": "macOS: sequential",
    "netbsd": "NetBSD: downward",
    "freebsd": "FreeBSD: random start",
    "windows": "Windows: random start",
    "linux-4.6": "Linux 4.6: hash + counter",
    "linux": "Linux: per-destination steps",
}
fig, axes = plt.subplots(2, len(PRESETS), figsize=(15, 6), constrained_layout=True)
for (top, bottom), (preset, label) in zip(axes.T, PRESETS.items(), strict=True):
    ports, which = sequence(preset)
    for k, (address, port) in enumerate(SERVERS):
        mine = which == k
        top.plot(np.flatnonzero(mine), ports[mine], ".", ms=3, label=f"to {address}:{port}")
        bottom.plot(np.flatnonzero(mine)[:20], ports[mine][:20] - ports[mine][0], ".-", ms=4)
    top.set_ylim(*sim.PRESETS[preset].port_range)
    top.set_title(label, fontsize=10)
    bottom.set_xlabel("connection")
axes[0, 0].set_ylabel("source port (whole range)")
axes[1, 0].set_ylabel("port − first port to that server\n(first 40 connections)")
axes[0, 0].legend(fontsize=8)
plt.show()


# %% [markdown]
# What to see (top: where in the range; bottom: how each server's ports move from its first one):
#
# - **macOS** counts up by one from the bottom of its range, whatever the destination; **NetBSD** counts
#   down from the top. One global sequence: the next port is the last one ± 1, so each server sees its
#   ports go up (or down) by 2 here, as the two servers take turns.
# - **FreeBSD** and **Windows** start each search at a random port (RFC 6056 algorithm 1): a cloud.
# - **Linux 4.6** (RFC 6056 algorithm 3) has a straight line *per destination*: each server gets its own
#   starting offset (a keyed hash of the addresses), far from the other's, and one global counter moves
#   both lines up together.
# - **Linux** today (algorithm 4 with Linux's changes) has a line per destination too, but each rises in
#   random steps, and each server has its own counter. Zoom in below.

# %% [markdown]
# ## Linux up close
#
# Three rules make Linux's sequence (`docs/kernel.md` has them measured on a live kernel):
#
# 1. **Steps of 2, 4, …, 16.** After each connection to a destination its counter moves on by an even
#    random step (2 plus twice a random 0–7), so consecutive ports to one server differ by 2 to 16.
# 2. **Even first.** The scan from the offset goes in steps of two, so ports of one parity (that of the
#    range's low end: even for 32768) are tried first; odd ports are used only when the even ones are busy.
# 3. **A new secret every 10 s.** The offset comes from a keyed hash whose key changes every 10 seconds,
#    so the sequence jumps to a new place.

# %%
ports, _ = sequence("linux", n=2000, servers=SERVERS[:1], gap=0.004)  # 8 s: one secret
steps = np.diff(ports) % sim.PRESETS["linux"].size
print("ports:", ports[:10], "...   all even:", bool(np.all(ports % 2 == 0)))

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.5), constrained_layout=True)
values, counts = np.unique(steps, return_counts=True)
left.bar(values, counts, width=1.2)
left.set_xlabel("step between consecutive ports to one server")
left.set_ylabel("connections")
left.set_title("rule 1: steps of 2 to 16, about equally often")

slow, _ = sequence("linux", n=60, servers=SERVERS[:1], gap=1.0)  # one a second for a minute
right.plot(np.arange(60), slow, "o-", ms=3)
for t in range(10, 60, 10):
    right.axvline(t, color="grey", ls=":", lw=1)
right.set_xlabel("time (s): one connection a second")
right.set_ylabel("source port")
right.set_title("rule 3: the sequence jumps every 10 s")
plt.show()

# %% [markdown]
# Rule 2 shows when ports stay busy. On a tiny range of 64 ports (40000–40063), open connections to one
# server and never close them, until `connect()` fails:

# %%
tiny = sim.SocketHost("linux", port_range=(40000, 40063), seed=1)
held = []
while (s := tiny.connect("10.0.0.5", 443)).ok:
    held.append(s.port)
print(f"{len(held)} connections, then {s.errno}")

plt.figure(figsize=(8, 3))
colours = ["#1f77b4" if p % 2 == 0 else "#d62728" for p in held]
plt.scatter(range(len(held)), held, c=colours, s=12)
plt.xlabel("connection")
plt.ylabel("source port")
plt.title("rule 2: even ports (blue) until none is left, then odd ones (red)")
plt.show()

# %% [markdown]
# This is why a Linux connect() gets slower when more than half the range is busy: each new connection
# first scans the whole busy even half (notebook 5 and `result.plot_latency()` show the cost).
#
# ## Exercises
#
# **1.** On a fresh macOS host, you open 1,000 connections, closing each right away. Which port does the
# 1,001st connection get? Work it out, then confirm with a `SocketHost`.

# %%
# BEGIN SOLUTION
mac = sim.SocketHost("macos", seed=1)
for _ in range(1000):
    mac.close(mac.connect("10.0.0.5", 443), "reset")
port_1001 = mac.connect("10.0.0.5", 443).port
# END SOLUTION

# %%
check(port_1001, sim.PRESETS["macos"].port_range[0] + 1000, what="macOS's 1,001st port", hint="the first connection gets the bottom of the range")

# %% [markdown]
# **2.** Measure the mean step between consecutive Linux ports to one server over 2,000 connections made
# within 10 seconds (one secret). Rule 1 says what to expect. (Careful with the wrap-around at the top of
# the range: `% size`.)

# %%
# BEGIN SOLUTION
linux_ports, _ = sequence("linux", n=2000, servers=SERVERS[:1], gap=0.004, seed=7)
mean_step = float(np.mean(np.diff(linux_ports) % sim.PRESETS["linux"].size))
# END SOLUTION

# %%
check_range(mean_step, 8.5, 9.5, what="Linux's mean step", hint="the mean of 2, 4, ..., 16")

# %% [markdown]
# **3.** On the 64-port Linux host above (40000–40063), how many connections get an even port before the
# first odd one? Count it from `held`.

# %%
# BEGIN SOLUTION
evens_first = next(i for i, p in enumerate(held) if p % 2 == 1)
# END SOLUTION

# %%
check(evens_first, 64 // 2, what="even ports before the first odd one", hint="how many even ports does the range have?")

# %% [markdown]
# **4.** Which of the presets in `PRESETS` are *sequential*: at light load, every next port to the same
# server is the previous one plus or minus 1? Use `sequence()` with one server; give a set of names.

# %%
# BEGIN SOLUTION
sequential = set()
for preset in PRESETS:
    p, _ = sequence(preset, n=50, servers=SERVERS[:1])
    if np.all(np.abs(np.diff(p)) == 1):
        sequential.add(preset)
# END SOLUTION

# %%
check(sequential, {p for p in PRESETS if sim.PRESETS[p].policy in ("sequential", "sequential_down")}, what="the sequential presets", hint="look at the first two plots")
