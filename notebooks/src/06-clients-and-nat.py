# %% [markdown]
# # 6. Clients and NAT: connection pools, and the gateway in front of the hosts
#
# **What you will learn**
#
# - the difference between **requests** and **connections**: an HTTP client keeps connections open
#   (keep-alive) in a **pool** and sends many requests over each;
# - why Go's default client (`http.DefaultTransport`, 2 idle connections per host) still opens a new
#   connection for about **one request in three** when many requests are in flight: the **1/(k+1) rule**;
# - how sizing the pool takes a service from running out of ports to opening almost no connections;
# - why a **NAT gateway** in front of many hosts runs out of *its* ports first, with each cloud's own rules:
#   ports reserved per host, mappings that outlive their connection (TIME_WAIT, cooldowns), and what helps.
#
# About 15 minutes; the cells take a few seconds each.

# %% [markdown] tags=["student"]
# *Worked answers to the exercises: `solutions/06-clients-and-nat.ipynb`.*

# %% [markdown] tags=["solution"]
# *This is the solutions version of `../06-clients-and-nat.ipynb`: the exercises are filled in.*

# %%
import matplotlib.pyplot as plt
import numpy as np

import sim
from sim.teach import check, check_that, scenario

GO = scenario("go-default-pool")
print(GO.read_text())
CLOUD_NAT = scenario("gcp-cloud-nat-defaults")

# %% [markdown]
# ## The story: 2,000 requests per second through Go's default pool
#
# Each request holds a connection for about 50 ms, so about 100 requests are in flight at once. When a
# request ends, its connection goes back to the pool if fewer than 2 are idle, and is **closed** otherwise
# (by the client, so its port sits in TIME_WAIT for 60 s). The scenario has two variants: Go's default,
# and a pool allowed 200 idle connections. One minute of each:

# %%
runs = sim.run_variants(GO, overrides={"duration": 60}, workers=1)
for name, run in runs.items():
    q = run.summary.workloads["api"].requests
    print(
        f"{name:<13} {q.requests_per_s:,.0f} requests/s, {q.new_connections_per_s:,.1f} new connections/s "
        f"({q.reuse_ratio:,.1f} requests each), {q.failure_probability:.1%} of requests failed, "
        f"TIME_WAIT peak {run.summary.time_wait.peak:,}"
    )

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5), sharey=True, constrained_layout=True)
for ax, (name, run) in zip(axes, runs.items(), strict=True):
    ts = run.timeseries
    per_second = ts.groupby(np.floor(ts["time_s"])).sum()
    ax.plot(per_second.index, per_second["requests"], label="requests")
    ax.plot(per_second.index, per_second["attempts"], label="new connections (connect() calls)")
    ax.plot(per_second.index, per_second["failures"], label="failed connect()", color="#d62728")
    ax.set_title(name)
    ax.set_xlabel("time (s)")
axes[0].set_ylabel("per second")
axes[0].legend(fontsize=8)
plt.show()

# %% [markdown]
# With the default pool, a third of the requests try to open a new connection: about 667 connect() calls
# per second, each connection leaving a TIME_WAIT of 60 s, so 667 × 61 ≈ 40,700 ports are wanted against
# Linux's 28,232. The ports run out after about 43 s; then no connection comes back to the pool (they all
# failed), every request tries to connect, and almost all fail until the first TIME_WAITs end at 60 s. The
# sized pool opens its ~100 connections in the first second and reuses them from then on.
#
# ## The 1/(k+1) rule
#
# Why a third? With *k* idle slots and many more requests in flight than *k*, connections come back and
# requests arrive at the same rate, so the number of idle connections walks evenly over 0, 1, …, k; a
# request finds none idle 1/(k+1) of the time, and opens a new connection. Let us check it at 500
# requests per second (about 25 in flight) for several *k*:

# %%
RATE = 500
slots = [1, 2, 4, 8, 16, 64]
opened = []
for k in slots:
    run = sim.run(
        GO,
        overrides={"variants": [], "duration": 30, "warmup": 10, "workloads.api.requests.arrivals.rate": RATE, "workloads.api.pool.max_idle_per_host": k, "workloads.api.pool.max_idle_total": 200},
    )
    opened.append(run.summary.workloads["api"].requests.new_connections_per_s)

ks = np.arange(1, 65)
plt.figure(figsize=(8, 3.5))
plt.plot(ks, RATE / (ks + 1), color="grey", label="RATE / (k + 1)")
plt.plot(slots, opened, "o", label="simulated")
plt.xscale("log", base=2)
plt.yscale("log")
plt.ylim(0.1, 2 * RATE)
plt.xlabel("idle connections kept per host (k)")
plt.ylabel("new connections per second")
plt.legend()
plt.show()

# %% [markdown]
# The rule holds while *k* is well below the requests in flight; once the pool can hold every connection
# in use (here *k* = 64 > 25), new connections all but stop. That is the fix: size the idle pool for the
# concurrency. The README's "Clients" section has real incidents and the other client presets (`python-requests`,
# `node`, `okhttp`, nginx upstreams...), and retries, which make an exhausted pool worse.
#
# ## Exercises
#
# **1.** A pool keeps *k* = 4 idle connections and far more than 4 requests are in flight. What fraction
# of requests opens a new connection?

# %%
# BEGIN SOLUTION
fraction_new = 1 / (4 + 1)
# END SOLUTION

# %%
check(fraction_new, 0.2, what="fraction of requests opening a connection", hint="the idle count walks evenly over 0..k")

# %% [markdown]
# **2.** At 2,000 requests per second, with 60 s of TIME_WAIT after each closed connection (61 s per
# port), what is the smallest *k* for which the TIME_WAIT ports fit in Linux's 28,232?

# %%
# BEGIN SOLUTION
smallest_k = next(k for k in range(1, 100) if 2000 / (k + 1) * 61 <= 28232)
# END SOLUTION

# %%
check_that(
    smallest_k,
    lambda k: 2000 / (k + 1) * 61 <= sim.PRESETS["linux"].size < 2000 / k * 61,
    what="the smallest idle pool that fits",
    hint="new connections per second × 61 s must fit in the range",
)

# %% [markdown]
# **3.** From `opened`: how many new connections per second did *k* = 2 open in the runs above? (Compare
# with the rule.)

# %%
# BEGIN SOLUTION
opened_with_2 = opened[slots.index(2)]
# END SOLUTION

# %%
check(opened_with_2, RATE / 3, rel=0.05, what="new connections per second with k = 2", hint="opened and slots are in the same order")

# %% [markdown]
# ## Behind a NAT: one gateway's ports, many hosts
#
# A host's own ports are rarely the first to run out in the cloud: its connections leave through a
# **translator** (a NAT gateway, a Kubernetes node's MASQUERADE) that rewrites each connection's source to
# one of its public addresses and ports. Its ports are shared by every host behind it, and each mapping
# lives on after its connection closes. Google's Cloud NAT reserves **64 ports per VM** by default, and keeps
# a closed connection's port in TIME_WAIT for **120 s** (30 s for gateways created from 30 September 2026).
# The scenario puts 30 VMs behind it, each opening 1 connection per second to one API:

# %%
print(CLOUD_NAT.read_text())
nat_runs = sim.run_variants(CLOUD_NAT, overrides={"duration": 600, "warmup": 200}, workers=1)
for name, run in nat_runs.items():
    n = run.summary.nat
    print(
        f"{name:<9} {n.failures:,} of {n.attempts:,} connections dropped ({n.error}, {n.failure_probability:.1%}); "
        f"mappings held after close: mean {n.closing.mean:,.0f}"
    )

# %% [markdown]
# Each port a VM uses is held for the connection (1 s) plus the TIME_WAIT (120 s), so 64 ports carry at most
# 64 / 121 ≈ **0.53 new connections per second** per VM toward one destination: at 1 per second, about half
# are dropped. No host is out of its own ports (28,232 each); the gateway is. The heat map shows every VM
# pinned at its 64 mappings:

# %%
nat_runs["defaults"].plot_nat()

# %% [markdown]
# With a 30 s TIME_WAIT the same 64 ports carry 64 / 31 ≈ 2.1 per second, and dynamic allocation doubles a
# full VM's ports while the gateway's addresses have some left: both drop nothing. Other clouds differ in
# what they count: AWS NAT Gateway allows 55,000 connections at once per destination per address, Azure NAT
# Gateway 50,000 with a **cooldown** of 65 s after a FIN (16 s after an RST) before a port is reused toward
# the same destination. The README's "NAT and cloud" section has every rule and its source.
#
# **4.** Azure NAT Gateway, one public address, connections of 0.5 s closed with FIN: how many new
# connections per second toward one destination can it sustain? (50,000 ports, each held 0.5 + 65 s.)

# %%
# BEGIN SOLUTION
azure_fin = 50_000 / (0.5 + 65)
# END SOLUTION

# %%
check(azure_fin, 763.4, rel=0.01, what="new connections per second", hint="ports / (hold + cooldown)")

# %% [markdown]
# **5.** In the Cloud NAT run with a 30 s TIME_WAIT, what share of connections was dropped? And with the
# defaults? (Read `nat_runs[...].summary.nat.failure_probability`.)

# %%
# BEGIN SOLUTION
dropped_30s = nat_runs["tw-30s"].summary.nat.failure_probability
dropped_default = nat_runs["defaults"].summary.nat.failure_probability
# END SOLUTION

# %%
check(dropped_30s, 0.0, what="share dropped with a 30 s TIME_WAIT", hint="64 / 31 ports per second is above 1")
check_that(
    dropped_default,
    lambda p: 0.35 < p < 0.6,
    what="share dropped with the defaults",
    hint="Erlang B for 64 ports and 121 erlangs: about 0.48",
)
