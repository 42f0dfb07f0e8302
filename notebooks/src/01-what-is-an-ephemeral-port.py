# %% [markdown]
# # 1. What is an ephemeral port?
#
# **What you will learn**
#
# - what a TCP connection is made of: the **4-tuple** (source address, source port, destination address,
#   destination port), and which part your operating system chooses for you;
# - the three **tiers** of port numbers (RFC 6335): system 0–1023, user (registered) 1024–49151,
#   dynamic 49152–65535, and where each operating system takes its ephemeral ports from;
# - what it means when `ss` or `netstat` shows a port like **60316**;
# - how to read this machine's own connections from Python.
#
# About 10 minutes. Run the cells from top to bottom (Shift-Enter). The exercises at the end have check
# cells that print **✓ right** or **✗ not yet**.

# %% [markdown] tags=["student"]
# *Worked answers to the exercises: `solutions/01-what-is-an-ephemeral-port.ipynb`.*

# %% [markdown] tags=["solution"]
# *This is the solutions version of `../01-what-is-an-ephemeral-port.ipynb`: the exercises are filled in.*

# %%
import socket

import matplotlib.pyplot as plt

import sim
from sim.machine.port import describe_port
from sim.machine.settings import read_settings
from sim.machine.sockets import take_snapshot
from sim.teach import check, check_that

# %% [markdown]
# ## A connection is a 4-tuple
#
# Let us make one. A server listens on a port it chose (`bind`), a client calls `connect()`. The client
# never says which **source port** it wants: the operating system picks one from its **ephemeral range**
# ("ephemeral" because it lives only as long as the connection).

# %%
server = socket.create_server(("127.0.0.1", 0))  # port 0: let the OS pick the listening port too
client = socket.create_connection(server.getsockname())
accepted, _ = server.accept()

print("client side: source", client.getsockname(), "-> destination", client.getpeername())
print("server side: local ", accepted.getsockname(), "<- remote     ", accepted.getpeername())

# %% [markdown]
# The same connection seen from both ends: the client's source port is the server's remote port. The four
# numbers (127.0.0.1, *client port*, 127.0.0.1, *server port*) are the connection's **4-tuple**. Two
# connections may share any three of them but never all four, so:
#
# - one client port can carry connections to *different* servers at the same time (Linux, Windows and
#   FreeBSD do this; macOS and NetBSD do not: there one port carries one connection);
# - toward *one* server (address and port), a client can have at most as many connections as it has
#   ephemeral ports. That limit is what the rest of this course is about.

# %% [markdown]
# ## Three tiers of port numbers
#
# RFC 6335 §6 splits the 65,536 port numbers in three:
#
# | tier | ports | what they are for |
# |---|---|---|
# | system (well-known) | 0–1023 | services assigned by IANA; binding them needs privileges (22 ssh, 443 https) |
# | user (registered) | 1024–49151 | services registered with IANA (5432 PostgreSQL, 8080 HTTP alternate) |
# | dynamic (private, ephemeral) | 49152–65535 | never assigned: free for the OS to hand out as source ports |
#
# RFC 6335 recommends taking ephemeral ports from the dynamic tier, but every operating system has its own
# default range, and **Linux's (32768–60999) starts in the user tier**. portsim's presets carry each
# system's default:

# %%
TIERS = [("system", 0, 1023, "#d62728"), ("user", 1024, 49151, "#ff7f0e"), ("dynamic", 49152, 65535, "#2ca02c")]

for name, preset in sim.PRESETS.items():
    low, high = preset.port_range
    print(f"{name:<11} {low:>5}–{high:<5}  {high - low + 1:>6,} ports")


# %% [markdown]
# The same on one line from 0 to 65535. The dotted line is port 60316.

# %%
settings = read_settings()  # this machine's kernel settings (Linux: /proc/sys; BSD and macOS: sysctl)
snapshot = take_snapshot(settings.root)  # this machine's TCP sockets now, as `ss -tan` lists them
mine = settings.port_range.value  # None where the system does not say
rows = [(name, preset.port_range) for name, preset in sim.PRESETS.items() if name in ("iana", "linux", "windows", "macos", "freebsd", "netbsd")]
if mine:
    rows.append(("this machine", mine))

fig, ax = plt.subplots(figsize=(10, 3.6))
for name, low, high, colour in TIERS:
    ax.axvspan(low, high + 1, color=colour, alpha=0.15, lw=0)
    ax.text((low + high) / 2 if name != "system" else 1500, len(rows) + 0.1, name, ha="center" if name != "system" else "left", color=colour)
for i, (name, (low, high)) in enumerate(rows):
    ax.barh(i, high - low + 1, left=low, height=0.6, color="#1f77b4" if name != "this machine" else "#9467bd")
ax.axvline(60316, color="black", ls=":", lw=1)
ax.set_yticks(range(len(rows)), [name for name, _ in rows])
ax.set_xlim(0, 65536)
ax.set_ylim(-0.6, len(rows) + 0.6)
ax.set_xlabel("port number")
ax.set_title("Port tiers (shaded) and each system's default ephemeral range (bars)")
plt.show()

# %% [markdown]
# ## "I see port 60316 in `ss`. What is it?"
#
# A line of `ss -tan` (or `netstat -tan`) such as
#
# ```
# ESTAB  0  0  10.0.0.7:60316  10.0.0.5:443
# ```
#
# has the local address first. 60316 is above 49151, so it is in the **dynamic** tier: no service is
# registered on it, and it is almost certainly the **source port of a connection this machine opened**
# (here to an HTTPS server). It also lies inside Linux's default range 32768–60999, near its top, and
# inside the range of every preset above. A port in the *remote* column (443) is the service you reached.
#
# > **On the command line: `portsim port 60316`** prints a port's tier and registered service, which
# > presets' ranges and whether this machine's range contain it, and what uses it here right now (process,
# > PID, addresses, state); README, "This machine's ports". The cells below ask the same functions from
# > Python (`sim.machine`, which reads the sockets through [psutil](https://psutil.readthedocs.io/)).

# %%
def tier_of(port: int) -> str:
    """The RFC 6335 tier of a port number."""
    return next(name for name, low, high, _ in TIERS if low <= port <= high)


PORT = 60316
report = describe_port(PORT, settings, snapshot)
print(f"{PORT}: {tier_of(PORT)} tier (portsim says: {report.tier.name}), registered service: {report.service or 'none'}")
print("inside the range of:", ", ".join(report.presets))
print("this machine's range:", mine if mine else "unknown", "- contains it:", report.in_machine_range)
print("used here right now:", len(report.local), "socket(s)")

# %% [markdown]
# ## This machine's own connections
#
# The snapshot above lists the machine's sockets, as `ss -tan` does (without root you see every socket on
# Linux, but the process of only your own; `snapshot.limits` says what it could not see). Our demo
# connection from above is among them: we take a fresh snapshot and look for its local port.

# %%
snapshot = take_snapshot(settings.root)
ours = client.getsockname()[1]
for s in snapshot.sockets:
    if s.local.port == ours:
        print(f"{s.local} -> {s.remote}  {s.state}  pid {s.pid} ({s.process})")
for line in snapshot.limits:
    print("not visible:", line)

local_ports = [s.local.port for s in snapshot.sockets if s.remote is not None]  # connected sockets only
by_tier = {name: sum(tier_of(p) == name for p in local_ports) for name, *_ in TIERS}
print(f"{len(local_ports)} connected TCP sockets here; local port by tier: {by_tier}")

# %%
fig, ax = plt.subplots(figsize=(10, 2.4))
for _name, low, high, colour in TIERS:
    ax.axvspan(low, high + 1, color=colour, alpha=0.15, lw=0)
if mine:
    ax.axvspan(mine[0], mine[1] + 1, ymin=0, ymax=0.1, color="#9467bd", label="this machine's range")
ax.plot(local_ports, [0.5] * len(local_ports), "|", ms=30, color="black", label="a connected socket's local port")
ax.set_xlim(0, 65536)
ax.set_yticks([])
ax.set_xlabel("local port")
ax.legend(loc="upper left", fontsize=8)
ax.set_title("Local ports of this machine's TCP connections right now")
plt.show()

# %% [markdown]
# Ports low in the line are usually servers listening or answering (`:22` for ssh); the cloud of ports in
# the ephemeral range are connections this machine opened. Run the two cells again with a browser open to
# see more.

# %% [markdown]
# ## Exercises
#
# **1.** Write `tier(port)`, returning `"system"`, `"user"` or `"dynamic"` for a port number (without
# using `tier_of` above).

# %%
# BEGIN SOLUTION
def tier(port: int) -> str:
    """The RFC 6335 tier of ``port``: "system", "user" or "dynamic"."""
    if port <= 1023:
        return "system"
    if port <= 49151:
        return "user"
    return "dynamic"
# END SOLUTION


# %%
PORTS = [22, 443, 1023, 1024, 8080, 49151, 49152, 60316, 65535]
check([tier(p) for p in PORTS], [tier_of(p) for p in PORTS], what="tier() on 9 ports", hint="look at the edges 1023/1024 and 49151/49152")

# %% [markdown]
# **2.** How many of the ports of Linux's default range (32768–60999) are *not* in the dynamic tier?

# %%
# BEGIN SOLUTION
linux_outside_dynamic = 49151 - 32768 + 1
# END SOLUTION

# %%
check(linux_outside_dynamic, sum(tier_of(p) != "dynamic" for p in range(32768, 61000)), what="Linux ports in the user tier", hint="the range is inclusive at both ends")

# %% [markdown]
# **3.** A client with one source address opens connections, and never closes them, to two servers
# `10.0.0.5:443` and `10.0.0.6:443`. How many can it have open at once on Linux (which shares a port
# across destinations) and on macOS (which does not), with their default ranges?

# %%
# BEGIN SOLUTION
linux_two_servers = 2 * (60999 - 32768 + 1)
macos_two_servers = 65535 - 49152 + 1
# END SOLUTION

# %%
check(linux_two_servers, 2 * sim.PRESETS["linux"].size, what="Linux, two servers", hint="each destination has its own 4-tuples")
check(macos_two_servers, sim.PRESETS["macos"].size, what="macOS, two servers", hint="on macOS a port carries one connection, whatever the destination")

# %% [markdown]
# **4.** Which source port did the OS give the demo `client` at the top? Find it from the socket (not by
# reading the output above).

# %%
# BEGIN SOLUTION
my_port = client.getsockname()[1]
# END SOLUTION

# %%
check_that(my_port, lambda p: p == accepted.getpeername()[1], what="the demo connection's source port", hint="socket.getsockname() gives (address, port)")

# %%
for s in (client, accepted, server):
    s.close()
