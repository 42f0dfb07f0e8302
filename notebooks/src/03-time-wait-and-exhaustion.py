# %% [markdown]
# # 3. TIME_WAIT and running out of ports
#
# **What you will learn**
#
# - why a host that opens many short connections to one server runs out of ports: **TIME_WAIT**, and the
#   sum *rate × (duration + TIME_WAIT)* against the size of the range;
# - what `connect(): Cannot assign requested address` (**EADDRNOTAVAIL**) looks like over time;
# - how **who closes first** and Linux's **tcp_tw_reuse** change the picture;
# - why it is a cliff, not a slope: the pool is an **Erlang B** loss system.
#
# About 15 minutes; the cells take a few seconds each. Times are in seconds, rates in connections per
# second.

# %% [markdown] tags=["student"]
# *Worked answers to the exercises: `solutions/03-time-wait-and-exhaustion.ipynb`.*

# %% [markdown] tags=["solution"]
# *This is the solutions version of `../03-time-wait-and-exhaustion.ipynb`: the exercises are filled in.*

# %%
import matplotlib.pyplot as plt
import numpy as np

import sim
from sim.teach import check, check_range, check_that, scenario

QUICKSTART = scenario("quickstart")
print(QUICKSTART.read_text())

# %% [markdown]
# ## The story
#
# A web client opens 300 connections per second to one backend, each about 1 s long. The client closes
# first, so each connection's 4-tuple then stays in **TIME_WAIT** for 60 s: it cannot carry a new
# connection to the same server until then (so that stray packets of the old connection cannot be taken
# for the new one's). Each connection therefore holds its port for about 61 s:
#
# 300 × 61 = **18,300 ports** needed, and the IANA range has **16,384**.

# %%
result = sim.run(QUICKSTART, seed=1)
s = result.summary
print(f"attempts {s.attempts:,}, failures {s.failures:,}, blocking probability {s.blocking_probability:.4f}")
print(f"first failure at {s.first_failure_time_s:.1f} s; Erlang B predicts {s.erlang_b.blocking_probability:.4f}")

# %% [markdown]
# Blue is ESTABLISHED, orange TIME_WAIT, the dashed red line the pool size. Almost every port is waiting
# out TIME_WAIT: the connections themselves need only about 300 ports. The grey band is the warm-up, left
# out of the figures above.

# %%
result.plot_occupancy()

# %% [markdown]
# Failures come in waves one TIME_WAIT apart: the ports taken in one burst all come back together 60 s
# later. A failed connect() is not retried here (a real client might retry, and make it worse).

# %%
result.plot_failures()

# %% [markdown]
# The numbers behind the plots are a table, `result.timeseries` (`portsim run` writes it as
# `timeseries.csv`):

# %%
result.timeseries.iloc[::200]

# %% [markdown]
# ## A smaller copy, to experiment fast
#
# The same story with 1,024 ports (64512–65535) and 20 connections per second (20 × 61 = 1,220 ports
# needed), simulated for 400 s instead of 600, behaves the same way and runs 20 times faster. `SMALL`
# holds the changes; `sim.run` takes them as `overrides` (the same keys as `portsim run --set`).

# %%
SMALL = {"host.port_range": [64512, 65535], "workloads.api.arrivals.rate": 20, "duration": 400}


def small(changes=None):
    """The summary of a run of the small copy, with more ``changes`` ({key path: value})."""
    return sim.run(QUICKSTART, overrides={**SMALL, **(changes or {})}).summary


base = small()
print(f"small copy: blocking {base.blocking_probability:.3f}, Erlang B {base.erlang_b.blocking_probability:.3f}")

# %% [markdown]
# ## Who closes first
#
# TIME_WAIT stays with the side that closes first (RFC 9293 §3.6). The four `close` values:
#
# | `close` | what happens | on this host |
# |---|---|---|
# | `client` | we close first | TIME_WAIT for 60 s |
# | `server` | the server closes first | nothing: the server holds TIME_WAIT |
# | `reset` | we send an RST (SO_LINGER 0) | nothing, but the close is abrupt: data in flight can be lost |
# | `half` | we close, the peer never does | FIN_WAIT2 until `fin_timeout` (60 s) |

# %%
closes = {how: small({"workloads.api.close": how}) for how in ("client", "server", "reset", "half")}

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.2), constrained_layout=True)
left.bar(list(closes), [c.blocking_probability for c in closes.values()], color="#d62728")
left.set_ylabel("blocking probability")
left.set_title("connect() failures")
right.bar(list(closes), [c.time_wait.peak for c in closes.values()], label="TIME_WAIT")
right.bar(list(closes), [c.fin_wait2.peak for c in closes.values()], bottom=[c.time_wait.peak for c in closes.values()], label="FIN_WAIT2")
right.axhline(1024, color="red", ls="--", lw=1, label="pool")
right.set_ylim(0, 1150)
right.set_title("peak 4-tuples waiting on this host")
right.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## tcp_tw_reuse
#
# Linux's `net.ipv4.tcp_tw_reuse` lets a new connect() to the *same* destination take over a 4-tuple that
# has been in TIME_WAIT for more than 1 s, when TCP timestamps are on (they tell old packets from new).
# `1` allows it toward any destination, `2` (Linux's default since 4.19) only toward **loopback**
# addresses. Our backend 10.0.0.5 is not loopback:

# %%
reuse = {
    "0": small({"host.tw_reuse": 0}),
    "1": small({"host.tw_reuse": 1}),
    "2": small({"host.tw_reuse": 2}),
    "2, to 127.0.0.1": small({"host.tw_reuse": 2, "workloads.api.destinations": [{"address": "127.0.0.1", "port": 443}]}),
}
for name, r in reuse.items():
    print(f"tw_reuse {name:<16} blocking {r.blocking_probability:.3f}   TIME_WAIT taken over {r.time_wait.recycled:,}")

# %% [markdown]
# ## Why it is a cliff: Erlang B
#
# With Poisson arrivals, the pool is a **loss system**: N ports ("servers"), connections arriving at rate
# λ, each holding a port for H seconds on average, and no waiting room. The offered load is A = λ × H
# (in Erlangs: ports busy on average if nothing were refused), and the share of connect() calls refused is
# Erlang's B formula, `sim.erlang_b(N, A)`, whatever the distribution of H. It stays near zero until A
# approaches N, then rises steeply.

# %%
rates = np.linspace(5, 30, 101)
measured = {rate: small({"workloads.api.arrivals.rate": rate}).blocking_probability for rate in (14, 16, 17, 18, 20, 24)}

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5), constrained_layout=True)
left.plot(rates, [sim.erlang_b(1024, r * 61) for r in rates], label="Erlang B")
left.plot(list(measured), list(measured.values()), "o", label="simulated")
left.set_xlabel("connections per second")
left.set_ylabel("blocking probability")
left.set_title("1,024 ports, 61 s per connection")
left.legend()
big = np.linspace(150, 450, 101)
right.plot(big, [sim.erlang_b(16384, r * 61) for r in big], label="Erlang B")
right.plot([300], [s.blocking_probability], "o", label="the quickstart run")
right.set_xlabel("connections per second")
right.set_title("16,384 ports: the quickstart")
right.legend()
plt.show()

# %% [markdown]
# The larger the pool, the sharper the cliff: 16,384 ports hold up to about 265 conn/s with almost no
# failure, and at 300 one connect() in ten fails. Notebook 5 finds such limits by simulation, also where
# no formula applies.
#
# ## Exercises
#
# **1.** A service opens 200 connections per second, each 1 s long, and closes first (TIME_WAIT 60 s).
# How many ports does it hold on average?

# %%
# BEGIN SOLUTION
ports_needed = 200 * (1 + 60)
# END SOLUTION

# %%
check(ports_needed, 200 * 61, what="ports held at 200 conn/s", hint="rate × (duration + TIME_WAIT)")

# %% [markdown]
# **2.** With `sim.erlang_b`: what is the longest TIME_WAIT, in whole seconds, at which the quickstart's
# 300 conn/s (1 s each) on 16,384 ports would have at most 1% of its connect() calls fail?

# %%
# BEGIN SOLUTION
longest_time_wait = max(tw for tw in range(0, 61) if sim.erlang_b(16384, 300 * (1 + tw)) <= 0.01)
# END SOLUTION

# %%
check_that(
    longest_time_wait,
    lambda tw: sim.erlang_b(16384, 300 * (1 + tw)) <= 0.01 < sim.erlang_b(16384, 300 * (2 + tw)),
    what="the longest TIME_WAIT at 1% blocking",
    hint="try each TIME_WAIT from 0 to 60 s; the hold is 1 + TIME_WAIT",
)

# %% [markdown]
# **3.** macOS keeps TIME_WAIT for 30 s. Run the small copy with `host.time_wait` 30 and give its
# blocking probability.

# %%
# BEGIN SOLUTION
blocking_30 = small({"host.time_wait": 30}).blocking_probability
# END SOLUTION

# %%
check_range(blocking_30, 0.0, 0.001, what="blocking with a 30 s TIME_WAIT", hint='small({"host.time_wait": 30})')

# %% [markdown]
# **4.** Your service is the client and closes first. You can change the protocol. Which `close` value
# ends the TIME_WAIT on your host *and* keeps a clean (FIN) close? Answer with one of `"client"`,
# `"server"`, `"reset"`, `"half"`.

# %%
# BEGIN SOLUTION
clean_and_free = "server"
# END SOLUTION

# %%
check_that(
    clean_and_free,
    lambda how: how in closes and closes[how].time_wait.peak == 0 and closes[how].fin_wait2.peak == 0 and how != "reset",
    what="the close side",
    hint="an RST is not a clean close",
)
