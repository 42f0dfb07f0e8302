# %% [markdown]
# # 5. How far can a host go, and which fix buys most?
#
# **What you will learn**
#
# - to run many simulations at once: a **sweep** of the load (`sim.sweep`, `portsim sweep`);
# - to find a host's **capacity**, the most connections per second it sustains with at most 1% of
#   connect() calls failing, by simulation (`sim.find_capacity`, `portsim capacity`), and to check it
#   against Erlang B;
# - to rank the standard **fixes** by the capacity each buys (`sim.remedies`, `portsim remedies`).
#
# About 15 minutes; the searches take 30 seconds or so in all. To stay fast, we use the small copy of the
# quickstart from notebook 3: 1,024 ports (64512–65535), 18 connections per second to one backend, each
# about 1 s and then 60 s in TIME_WAIT.

# %% [markdown] tags=["student"]
# *Worked answers to the exercises: `solutions/05-capacity-and-fixes.ipynb`.*

# %% [markdown] tags=["solution"]
# *This is the solutions version of `../05-capacity-and-fixes.ipynb`: the exercises are filled in.*

# %%
import tempfile

import matplotlib.pyplot as plt
import numpy as np

import sim
from sim.teach import check, check_range, check_that, scenario

QUICKSTART = scenario("quickstart")
SMALL = {"host.port_range": [64512, 65535], "workloads.api.arrivals.rate": 18, "duration": 700, "warmup": 200}
CACHE_DIR = tempfile.TemporaryDirectory(prefix="portsim-course-")  # removed when the kernel stops
CACHE = CACHE_DIR.name  # runs kept here are not simulated twice
WORKERS = 1  # simulations run in this process; 2 or more start worker processes (the results are the same)

# %% [markdown]
# ## A sweep: blocking against the load
#
# `sim.sweep` runs the scenario at every value of one or more keys (a grid) and returns a table, one row
# per point and replication: the columns of `sweep.csv` from `portsim sweep`. Every point uses the same
# seed, so the curve is smoother than independent runs would make it.

# %%
table = sim.sweep(QUICKSTART, over={"workloads.api.arrivals.rate": [13, 15, 16, 17, 18, 20]}, overrides=SMALL, workers=WORKERS, cache=CACHE)
table[["workloads.api.arrivals.rate", "attempts", "failures", "blocking_probability", "erlang_b"]]

# %%
rates = np.linspace(10, 24, 141)
plt.figure(figsize=(8, 3.5))
plt.plot(rates, [sim.erlang_b(1024, r * 61) for r in rates], label="Erlang B, 1,024 ports, 61 s hold")
plt.plot(table["workloads.api.arrivals.rate"], table["blocking_probability"], "o", label="simulated")
plt.axhline(0.01, color="grey", ls=":", lw=1, label="1% target")
plt.xlabel("connections per second")
plt.ylabel("blocking probability")
plt.legend()
plt.show()

# %% [markdown]
# ## The capacity at 1% blocking
#
# `sim.find_capacity` searches for the rate at which blocking crosses the target: it brackets the target
# with a few runs, fits a curve through them and runs where the curve meets the target, adding
# replications until a 95% confidence interval is within ±2%. Where Erlang B applies it also gives the
# rate the formula predicts; where it does not (a mix of bound and plain connections, several source
# addresses, tw_reuse, on/off traffic...) the search still works, because it only needs simulations.

# %%
found = sim.find_capacity(QUICKSTART, target=0.01, overrides=SMALL, workers=WORKERS, cache=CACHE)
print(f"capacity {found.rate:.2f} conn/s, 95% CI [{found.ci95[0]:.2f}, {found.ci95[1]:.2f}], {found.simulation_runs} simulation runs")
print(f"inverse Erlang B: {found.erlang_b_rate:.2f} conn/s; the scenario offers {found.base_rate:g} conn/s")

# %%
zoom = np.linspace(13, 19, 121)
plt.figure(figsize=(8, 3.5))
plt.plot(zoom, [sim.erlang_b(1024, r * 61) for r in zoom], color="grey", lw=1, label="Erlang B")
plt.plot(table["workloads.api.arrivals.rate"], table["blocking_probability"], "o", color="grey", ms=4, label="the sweep")
for e in found.evaluations:
    low, high = e.ci95
    plt.errorbar(e.rate, e.blocking_probability, yerr=[[e.blocking_probability - low], [high - e.blocking_probability]], fmt="s", color="#1f77b4", capsize=4)
plt.plot([], [], "s", color="#1f77b4", label="loads the search ran (95% CI)")
plt.axhline(0.01, color="black", ls=":", lw=1, label="target 1%")
plt.axvspan(*found.ci95, color="#2ca02c", alpha=0.3, label="capacity (95% CI)")
plt.xlim(13, 19)
plt.ylim(-0.002, 0.06)
plt.xlabel("connections per second")
plt.ylabel("blocking probability")
plt.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Which fix buys most?
#
# `sim.remedies` runs a capacity search for the scenario as it is and for each standard fix on its own, and
# ranks them. Searches stop at 16 times the scenario's load: a fix that goes further is reported as
# "at least". The standard fixes (README, "Experiments"):
#
# | fix | change |
# |---|---|
# | `wider-port-range` | `port_range: [1024, 65535]` (`net.ipv4.ip_local_port_range`) |
# | `tw-reuse` | `tw_reuse: 1` with timestamps (Linux's `net.ipv4.tcp_tw_reuse`) |
# | `2x-source-addresses` | two source addresses, connections spread with `IP_BIND_ADDRESS_NO_PORT` |
# | `server-closes-first` | the server closes first and keeps the TIME_WAIT |
# | `rst-close` | close with an RST (SO_LINGER 0): no TIME_WAIT, but an abrupt close |
#
# A search costs most for a fix that keeps TIME_WAIT and goes far beyond the load (`wider-port-range`,
# `tw-reuse`): its runs at 16× the load must still cover many 61 s cycles. Here we search the three cheap
# ones, and work the wider range out with Erlang B in exercise 2; `portsim remedies` runs them all.

# %%
ranked = sim.remedies(
    QUICKSTART,
    target=0.01,
    fixes=["2x-source-addresses", "server-closes-first", "rst-close"],
    overrides=SMALL,
    workers=WORKERS,
    cache=CACHE,
)
for fix in ranked.remedies:
    cap = fix.capacity
    shown = f"{cap.rate:8.1f}" if cap.rate is not None else f"≥{cap.at_least:7.1f}"
    print(f"{fix.name:<22} capacity {shown} conn/s   {fix.gain:5.1f}× as is   {fix.description}")

# %%
names = [fix.name for fix in ranked.remedies]
capacities = [fix.capacity.rate or fix.capacity.at_least for fix in ranked.remedies]
plt.figure(figsize=(8, 3))
bars = plt.barh(names, capacities, color=["#1f77b4" if fix.capacity.rate is not None else "#aec7e8" for fix in ranked.remedies])
plt.bar_label(bars, labels=[("≥ " if fix.capacity.rate is None else "") + f"{c:.0f}" for fix, c in zip(ranked.remedies, capacities, strict=True)], fontsize=8)
plt.axvline(ranked.load, color="red", ls="--", lw=1, label=f"the scenario's load ({ranked.load:g} conn/s)")
plt.gca().invert_yaxis()
plt.xlim(0, max(capacities) * 1.15)
plt.xlabel("capacity at 1% blocking (conn/s; light bars: at least, the search stopped)")
plt.legend(fontsize=8)
plt.show()

# %% [markdown]
# Everything that takes TIME_WAIT off this host (letting the server close first, an RST) buys far more
# than the 16× the search looks at: a port is then held for about 1 s instead of 61. A second source
# address doubles the ports and so roughly doubles the capacity. Which fix you *can* use is another
# matter: an RST can lose data in flight, the server closing first needs a protocol change, a wider range
# (exercise 2) collides with services on registered ports, tw_reuse needs TCP timestamps and Linux. On
# the command line: `portsim remedies scenarios/quickstart.yaml`.
#
# ## Exercises
#
# **1.** Write `erlang_capacity(ports, hold, target)`: the rate (conn/s) at which `sim.erlang_b(ports,
# rate × hold)` equals `target`, by bisection. Check it on this notebook's pool (1,024 ports, 61 s).

# %%
# BEGIN SOLUTION
def erlang_capacity(ports: int, hold: float, target: float = 0.01) -> float:
    """The rate at which Erlang B blocking of ``ports`` ports with ``hold`` seconds per connection is ``target``."""
    low, high = 0.0, 2 * ports / hold
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if sim.erlang_b(ports, mid * hold) < target else (low, mid)
    return (low + high) / 2
# END SOLUTION


# %%
check(erlang_capacity(1024, 61), found.erlang_b_rate, rel=0.005, what="inverse Erlang B for 1,024 ports", hint="blocking rises with the rate: halve the interval each time")

# %% [markdown]
# **2.** The `wider-port-range` fix gives 64,512 ports; the search stopped at 16× the load. What capacity
# does Erlang B give it, at 1% blocking?

# %%
# BEGIN SOLUTION
wider_capacity = erlang_capacity(65535 - 1024 + 1, 61)
# END SOLUTION

# %%
check_that(wider_capacity, lambda r: abs(sim.erlang_b(64512, r * 61) - 0.01) < 0.0005, what="Erlang B capacity with 1024-65535", hint="your erlang_capacity with 64,512 ports")

# %% [markdown]
# **3.** How many times the capacity as is does `2x-source-addresses` give? Read it from `ranked`.

# %%
# BEGIN SOLUTION
two_sources_gain = next(fix.gain for fix in ranked.remedies if fix.name == "2x-source-addresses")
# END SOLUTION

# %%
check_range(two_sources_gain, 1.8, 2.2, what="the gain of a second source address", hint="ranked.remedies lists each fix with its .gain")
