# %% [markdown]
# # 4. Predictable ports and security
#
# **What you will learn**
#
# - why operating systems randomise source ports: **off-path attacks** that must guess a connection's
#   4-tuple, DNS cache poisoning, and **device tracking** through Linux's port selection;
# - what RFC 6056 asks of a port selection algorithm, and how the systems of notebook 2 measure up;
# - how to measure predictability properly: one observer, light load, learning first and guessing after;
# - why the `next_port_guess` figure of a portsim run reads confusingly under heavy load.
#
# About 15 minutes; the cells take a few seconds.

# %% [markdown] tags=["student"]
# *Worked answers to the exercises: `solutions/04-predictability-and-security.ipynb`.*

# %% [markdown] tags=["solution"]
# *This is the solutions version of `../04-predictability-and-security.ipynb`: the exercises are filled in.*

# %%
import matplotlib.pyplot as plt
import numpy as np

import sim
from sim.teach import check, scenario

# %% [markdown]
# ## Why a guessable port is a problem
#
# - **Off-path attacks.** An attacker who is not on the path between you and a server can still send
#   packets that *claim* to come from the server: a forged RST to cut your connection, or forged data.
#   To be accepted, the packet must carry your connection's 4-tuple (and an acceptable sequence number).
#   The addresses and the server's port are public; **your source port is the secret part**. RFC 6056
#   ("Recommendations for Transport-Protocol Port Randomization", 2011) asks systems to make it hard to
#   guess, while still spreading reuse of a port out in time.
# - **DNS cache poisoning.** After Kaminsky's attack (2008), resolvers defend with random UDP source ports
#   on top of the 16-bit query ID (RFC 5452): a forged answer must guess both.
# - **Counting and tracking.** Linux before 5.12 used one global counter for all destinations: a website
#   could see how many connections you made to others in between (commit 190cc82). Linux 5.12–5.17
#   (RFC 6056 algorithm 4 with a 256-entry table) let a server find which of its own addresses share a
#   table entry on your machine: a set that depends only on your machine's secret, a **device ID** that
#   survives browsers, private mode and VPNs (Kol, Klein and Gilad, USENIX Security 2023;
#   CVE-2022-32296). The fix, in today's `linux` preset: a 65,536-entry table, random steps of 2–16, and a
#   new secret every 10 s.

# %% [markdown]
# ## Measuring it: one observer, light load
#
# The client makes a connection every second, alternately to an observer's server (which sees its source
# port) and to another server (its port is what an off-path attacker would need). The observer guesses:
#
# - **same server**: your next port to *it* is the last one it saw plus its commonest step;
# - **another server**: your port to the other server is the one it just saw plus its commonest offset.
#
# The attacker learns "commonest step" and "commonest offset" on a machine of its own with the same system
# (another seed: another secret), then guesses on the victim's. Nothing else runs, so each guess measures
# the algorithm, not a crowded pool.

# %%
OBSERVER, OTHER = ("203.0.113.7", 443), ("198.51.100.10", 443)
PRESETS = ["macos", "netbsd", "freebsd", "windows", "linux-4.6", "linux-5.12", "linux"]


def observe(preset: str, seed: int, trials: int = 300, gap: float = 1.0):
    """Source ports toward the observer and toward the other server, one trial every ``gap`` seconds."""
    host = sim.SocketHost(preset, seed=seed)
    seen, hidden = [], []
    for i in range(trials):
        for server, ports in ((OBSERVER, seen), (OTHER, hidden)):
            s = host.connect(*server, at=i * gap)
            ports.append(s.port)
            host.close(s, "client")
    return np.array(seen), np.array(hidden)


def commonest(values) -> int:
    """The most frequent value (the smallest of them on a tie)."""
    found, counts = np.unique(values, return_counts=True)
    return int(found[np.argmax(counts)])


def guessing(preset: str) -> dict[str, float]:
    """Success rates of the observer's two guesses against a victim running ``preset``."""
    seen, hidden = observe(preset, seed=1)  # the attacker's own machine
    step, offset = commonest(np.diff(seen)), commonest(hidden - seen)
    seen, hidden = observe(preset, seed=2)  # the victim's: another secret
    return {
        "same server": float(np.mean(seen[1:] == seen[:-1] + step)),
        "another server": float(np.mean(hidden == seen + offset)),
    }


results = {preset: guessing(preset) for preset in PRESETS}
for preset, r in results.items():
    blind = 1 / sim.PRESETS[preset].size
    print(f"{preset:<11} same server {r['same server']:6.1%}   another server {r['another server']:6.1%}   blind guess {blind:.4%}")

# %%
x = np.arange(len(PRESETS))
fig, ax = plt.subplots(figsize=(10, 3.8))
for k, (label, colour, text) in enumerate([("same server", "#ff7f0e", "your next port to the observer"), ("another server", "#d62728", "your port to another server")]):
    values = [results[p][label] for p in PRESETS]
    bars = ax.bar(x + (k - 0.5) * 0.38, values, width=0.38, color=colour, label=text)
    ax.bar_label(bars, labels=[f"{v:.0%}" for v in values], fontsize=8)
ax.set_xticks(x, PRESETS)
ax.set_ylim(0, 1.3)
ax.set_ylabel("guesses right (one try)")
ax.set_title("How often one observer guesses a source port, at light load")
ax.legend(loc="upper center", ncol=2, fontsize=8)
plt.show()

# %% [markdown]
# Reading the plot:
#
# - **macOS, NetBSD**: one global sequence. Whoever sees one of your ports knows your next one to
#   *anybody*: every guess is right.
# - **FreeBSD, Windows**: a random start for every connection (FreeBSD documents it; Windows' algorithm is
#   undocumented, and portsim models it so). No guess does better than blind luck
#   (1 in 16,384 to 55,536: too small to see).
# - **Linux 4.6 and 5.12**: a sequence *per destination* from a secret offset (RFC 6056 algorithms 3 and
#   4). The server you talk to sees your ports to it rise by a fixed step, but your port to another server
#   is hidden. That was the RFC's aim; the tracking attack above used the per-destination counters instead.
# - **Linux today**: random steps of 2, 4, …, 16 make even the same server's best guess right about one
#   time in eight, less across the 10 s re-keying.

# %% [markdown]
# ## The figure in a run's summary, and why heavy load confuses it
#
# Every `portsim run` reports, per destination, `next_port_guess`: the success of an observer guessing
# "previous port + commonest step", from all the connections of the run. Here it is for the same 1,024-port
# range, TIME_WAIT 60 s, at 1 connection per second (light) and at 20 (heavy: 20 × 61 = 1,220 ports
# needed, so the pool is full):

# %%
QUICKSTART = scenario("quickstart")
LOADS = {"light (1/s)": 1, "heavy (20/s)": 20}


def summary_guess(preset: str, rate: float) -> float:
    """next_port_guess.success_rate of a run of ``preset`` on 1,024 ports at ``rate``."""
    run = sim.run(
        QUICKSTART,
        overrides={"host.preset": preset, "host.port_range": [64512, 65535], "host.policy": None, "workloads.api.arrivals.rate": rate},
    )
    return run.summary.destinations["10.0.0.5:443"].next_port_guess.success_rate


in_summary = {preset: {load: summary_guess(preset, rate) for load, rate in LOADS.items()} for preset in PRESETS}

fig, ax = plt.subplots(figsize=(10, 3.5))
for k, load in enumerate(LOADS):
    values = [in_summary[p][load] for p in PRESETS]
    bars = ax.bar(x + (k - 0.5) * 0.38, values, width=0.38, label=load)
    ax.bar_label(bars, labels=[f"{v:.1%}" for v in values], fontsize=8)
ax.axhline(1 / 1024, color="black", ls=":", lw=1)
ax.set_xticks(x, PRESETS)
ax.set_ylim(0, 1.3)
ax.set_ylabel("next_port_guess.success_rate")
ax.set_title("The same figure at light and heavy load (1,024 ports; dotted: a blind guess)")
ax.legend(loc="upper center", ncol=2, fontsize=8)
plt.show()

# %% [markdown]
# Under heavy load the figure says more about the **crowd in the pool** than about the algorithm:
#
# - deterministic sequences look *less* predictable (macOS, NetBSD, Linux 4.6 and 5.12 fall far below
#   100%): the next port in the sequence is often still busy, and the scan skips to the next free one by a distance that depends on
#   which ports happen to be in TIME_WAIT;
# - random starts look *more* predictable than blind (FreeBSD, Windows): in a nearly full pool a random
#   start usually lands in a busy block and the scan takes the first free port after it, so small steps
#   such as +1 become common;
# - failed connect() calls have no port, so they are not observed at all; and the "commonest step" is
#   picked after the fact from the very data it is scored on, which flatters random policies even at light
#   load (well above the dotted blind guess here, with only ~500 connections).
#
# So read `next_port_guess` from a light-load run, or measure as above: learn on one machine, guess on
# another.
#
# ## Exercises
#
# **1.** An off-path attacker knows everything of your connection to a server except your source port.
# Linux picks it from 32768–60999. What is the chance that one blind guess is right?

# %%
# BEGIN SOLUTION
blind_linux = 1 / (60999 - 32768 + 1)
# END SOLUTION

# %%
check(blind_linux, 1 / sim.PRESETS["linux"].size, what="one blind guess against Linux's range", hint="the range is inclusive")

# %% [markdown]
# **2.** If each wrong guess costs one forged packet, how many packets does the attacker send *on average*
# to hit a port chosen uniformly from the IANA range (16,384 ports), trying each port at most once?

# %%
# BEGIN SOLUTION
mean_tries = (16384 + 1) / 2
# END SOLUTION

# %%
check(mean_tries, np.mean(np.arange(1, 16385)), what="mean tries over 16,384 ports", hint="the right port is equally likely to be tried 1st, 2nd, ..., 16,384th")

# %% [markdown]
# **3.** From `results`: which presets let the attacker guess your port to *another* server more than half
# of the time? Give a set of preset names.

# %%
# BEGIN SOLUTION
leaky = {preset for preset, r in results.items() if r["another server"] > 0.5}
# END SOLUTION

# %%
check(leaky, {p for p in PRESETS if sim.PRESETS[p].policy in ("sequential", "sequential_down")}, what="the presets that leak across servers", hint="one global sequence")

# %% [markdown]
# **4.** Today's Linux moves each destination's counter by 2, 4, …, 16, each equally likely. Within one
# secret period, what is the best single guess's chance of naming your next port to the same server?

# %%
# BEGIN SOLUTION
linux_best_guess = 1 / 8
# END SOLUTION

# %%
check(linux_best_guess, 1 / len(range(2, 17, 2)), what="Linux's best guess for the same server", hint="how many steps are equally likely?")
