"""Side-by-side check of the ``linux-snat`` model against the kernel's own netfilter SNAT.

``sim.kernel.nat_probe`` measures netfilter in private network namespaces; this module drives the model's
port search (``sim.nat.snat_search.SnatSearch``, one state array per (public address, destination), as the
``linux-snat`` kind specifies) through the same experiments, compares them law by law, each row with its
criterion and a pass or fail, and writes ``validation.json`` and ``validation.png``.

The laws (docs/nat-kernel.md Q1-Q3):

1. toward one destination, a small range gives at most its size of mappings, often fewer: the search
   examines at most 248 ports, so it can miss the last free ones (compared as a distribution over runs);
2. a port is unique per destination only: N ports carry N connections to each of several destinations;
3. the default and persistent modes keep the client's port when it lies in the range and is free; random
   and fully-random never keep it (other than by chance);
4. in a mid-sized range the first failure comes with ports still free.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..core.streams import component_rng
from ..nat.kinds import LinuxSnat
from ..nat.snat_search import BUSY, SnatSearch
from . import nat_probe as probe
from .validation import Check, write

RANDOM_MODES = ("random", "fully-random")
"""Modes that never keep the client's port: both set NF_NAT_RANGE_PROTO_RANDOM_ALL (docs/nat-kernel.md Q1)."""
UNTIL_FAILURE_DRAWS = 2000
FREE_LEFT_DRAWS = 500
BAND = 0.999
"""The share of the model's distribution of a mean of R runs that the kernel's mean must fall in."""
BOOTSTRAP = 20_000
FULL_SHARE = 0.99
"""Law 4: the model has ports left at its first failure in at least this share of seeds."""


# --------------------------------------------------------------------------- the model's side


def search(low: int, high: int, mode: str, rng: np.random.Generator) -> SnatSearch:
    """The port search of a ``linux-snat`` translator to ports ``low``-``high`` in ``mode``."""
    spec = LinuxSnat.model_validate({"ports": [low, high], "mode": mode})
    return SnatSearch(high - low + 1, rng, fully_random=spec.mode in RANDOM_MODES, evict=spec.evict)


def until_failure(snat: SnatSearch) -> int:
    """Connections mapped toward one destination (kept open, one at a time) before the first failure."""
    states = bytearray(snat.size)
    for mapped in range(snat.size + 1):
        pick = snat.pick(states)
        if pick.index < 0:
            return mapped
        states[pick.index] = BUSY
    raise AssertionError("more mappings than ports")  # pragma: no cover - a port is never picked twice


def first_failures(low: int, high: int, draws: int, rng: np.random.Generator) -> list[int]:
    """``until_failure`` for ``draws`` independent translators."""
    return [until_failure(search(low, high, "default", rng)) for _ in range(draws)]


def sharing(low: int, high: int, destinations: int, rng: np.random.Generator) -> dict[str, Any]:
    """The kernel's ``sharing`` experiment on the model: ``size`` rounds of one connection to each destination,
    then one more to the first. Same schema as ``nat_probe._exp_sharing``."""
    snat = search(low, high, "default", rng)
    states = [bytearray(snat.size) for _ in range(destinations)]
    mapped: list[list[int]] = [[] for _ in range(destinations)]
    dropped = [0] * destinations
    for _ in range(snat.size):
        for i in range(destinations):
            pick = snat.pick(states[i])
            if pick.index < 0:
                dropped[i] += 1
            else:
                states[i][pick.index] = BUSY
                mapped[i].append(low + pick.index)
    return {"range": [low, high], "mapped": mapped, "dropped": dropped, "extra_ok": snat.pick(states[0]).index >= 0}


def preservation(
    low: int, high: int, clients: dict[str, list[tuple[str, int]]], rng: np.random.Generator
) -> dict[str, Any]:
    """Per mode, the given (client address, client port) connections toward one destination, in order.
    Same schema as ``nat_probe._exp_preservation``."""
    modes: dict[str, Any] = {}
    for mode, connections in clients.items():
        snat = search(low, high, mode, rng)
        states = bytearray(snat.size)
        pairs: list[list[Any]] = []
        for source, port in connections:
            pick = snat.pick(states, port - low if low <= port <= high else None)
            states[pick.index] = BUSY  # a range of 28,232 ports is never full here
            pairs.append([source, port, low + pick.index])
        modes[mode] = {"pairs": pairs, "dropped": 0}
    return {"range": [low, high], "modes": modes}


def default_clients() -> dict[str, list[tuple[str, int]]]:
    """Client ports like the kernel's: three addresses, each its own start, stepping by 2."""
    per_mode = []
    for i in range(probe.PRESERVE_CONNECTIONS):
        k = i % len(probe.CLIENTS)
        per_mode.append((probe.CLIENTS[k], 40000 + 6000 * k + 2 * (i // len(probe.CLIENTS))))
    return dict.fromkeys(probe.MODES, per_mode)


def clients_of(kernel: dict[str, Any]) -> dict[str, list[tuple[str, int]]] | None:
    """The kernel's (client address, client port) connections per mode, when its preservation run worked."""
    modes = kernel.get("preservation", {}).get("modes")
    if not isinstance(modes, dict):
        return None
    return {mode: [(str(s), int(p)) for s, p, _ in row["pairs"]] for mode, row in modes.items()}


def simulate(seed: int = 0, clients: dict[str, list[tuple[str, int]]] | None = None) -> dict[str, Any]:
    """The experiments on the model. ``clients``: the client ports of the preservation experiment, per mode
    (the kernel's, so that both sides see the same ports; else a sequence like the kernel's)."""

    def rng(name: str) -> np.random.Generator:
        return component_rng(seed, 0, f"nat-validation/{name}")

    low, high = probe.UNTIL_FAILURE_RANGE
    flow, fhigh = probe.FREE_LEFT_RANGE
    plow, phigh = probe.PRESERVE_RANGE
    slow, shigh = probe.SHARING_RANGE
    return {
        "until_failure": {
            "range": [low, high],
            "counts": first_failures(low, high, UNTIL_FAILURE_DRAWS, rng("until_failure")),
        },
        "free_left": {"range": [flow, fhigh], "counts": first_failures(flow, fhigh, FREE_LEFT_DRAWS, rng("free_left"))},
        "sharing": sharing(slow, shigh, len(probe.DESTINATIONS), rng("sharing")),
        "preservation": preservation(plow, phigh, clients or default_clients(), rng("preservation")),
    }


# --------------------------------------------------------------------------- comparison


def mean_band(values: list[int], runs: int, seed: int = 0, level: float = BAND) -> tuple[float, float]:
    """The central ``level`` interval of the mean of ``runs`` draws from ``values`` (resampled)."""
    sample = np.random.default_rng(seed).choice(np.asarray(values, dtype=float), size=(BOOTSTRAP, runs))
    means = sample.mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def _runs_problem(data: dict[str, Any]) -> str | None:
    """Why the kernel's runs of a fill experiment cannot be read as first failures (None: they can)."""
    low, high = data["range"]
    runs = data["runs"]
    if not runs:
        return "no runs"
    for i, run in enumerate(runs, 1):
        mapped = run["mapped"]
        if not run["dropped"]:
            return f"run {i}: {len(mapped)} connections and no NAT drop"
        if len(set(mapped)) != len(mapped) or not all(low <= p <= high for p in mapped):
            return f"run {i}: a translated port repeated or outside {low}-{high}"
    return None


def _spread(values: np.ndarray) -> str:
    p10, p90 = np.percentile(values, [10, 90])
    return f"p10-p90 {p10:.0f}-{p90:.0f}"


def compare(kernel: dict[str, Any], model: dict[str, Any]) -> list[Check]:
    """Law-by-law comparison of the kernel's and the model's results (``nat_probe`` schemas)."""
    checks: list[Check] = []

    def add(name: str, k: Any, s: Any, tolerance: str, passed: bool) -> None:
        checks.append(Check(name, str(k), str(s), tolerance, bool(passed)))

    def broken(key: str, name: str) -> bool:
        data = kernel.get(key, {"error": "not measured"})
        if "error" in data:
            add(name, data["error"], "-", "-", False)
            return True
        return False

    low, high = model["until_failure"]["range"]
    size = high - low + 1
    name = f"mappings toward one destination until the first failure ({size}-port range)"
    if not broken("until_failure", name):
        runs = kernel["until_failure"]["runs"]
        problem = _runs_problem(kernel["until_failure"])
        counts = np.array([len(r["mapped"]) for r in runs], dtype=float)
        m = np.array(model["until_failure"]["counts"], dtype=float)
        lo, hi = mean_band(model["until_failure"]["counts"], max(1, len(runs)))
        k_text = (
            f"mean {counts.mean():.1f} over {len(runs)} runs (min {counts.min():.0f}, max {counts.max():.0f}; "
            f"{int((counts == size).sum())} filled all {size}), each ended by a dropped SYN"
            if len(runs)
            else "no runs"
        )
        add(
            name,
            k_text if problem is None else f"{k_text}; {problem}",
            f"mean {m.mean():.1f} over {m.size} seeds ({_spread(m)}; {(m == size).mean():.0%} filled all {size}); "
            f"never more than {size}",
            f"the kernel's mean of {len(runs)} runs within the model's {BAND:.1%} band for such a mean "
            f"({lo:.1f}-{hi:.1f}); every run at most {size} distinct in-range ports, ended by a NAT drop",
            problem is None and counts.max() <= size and m.max() <= size and lo <= counts.mean() <= hi,
        )

    ks = kernel.get("sharing", {})
    ms = model["sharing"]
    slow, shigh = ms["range"]
    ssize, dests = shigh - slow + 1, len(ms["mapped"])
    name = f"sharing across {dests} destinations ({ssize}-port range)"
    if not broken("sharing", name):

        def shared(r: dict[str, Any]) -> str:
            total = sum(len(m) for m in r["mapped"])
            ports = len({p for m in r["mapped"] for p in m})
            per = "/".join(str(len(set(m))) for m in r["mapped"])
            inside = all(slow <= p <= shigh for m in r["mapped"] for p in m)
            extra = "OK" if r["extra_ok"] else "dropped"
            return (
                f"{total} connections on {ports} ports{'' if inside else ' (some outside the range)'}, "
                f"{per} distinct per destination, {sum(r['dropped'])} drops; one more to the first: {extra}"
            )

        per = "/".join([str(ssize)] * dests)
        expected = (
            f"{ssize * dests} connections on {ssize} ports, {per} distinct per destination, 0 drops; "
            "one more to the first: dropped"
        )
        add(
            name,
            shared(ks),
            shared(ms),
            f"exact: {ssize} connections to each destination on the same {ssize} ports, then a drop",
            shared(ks) == shared(ms) == expected,
        )

    mp = model["preservation"]
    plow, phigh = mp["range"]
    name = f"source port preservation (client ports in the range {plow}-{phigh})"
    if not broken("preservation", name):
        kp = kernel["preservation"]

        def kept(r: dict[str, Any]) -> dict[str, tuple[int, int]]:
            return {
                mode: (sum(1 for _, port, mapped in row["pairs"] if port == mapped), len(row["pairs"]) + row["dropped"])
                for mode, row in r["modes"].items()
            }

        def text(r: dict[str, Any]) -> str:
            return ", ".join(f"{mode} {k}/{n}" for mode, (k, n) in kept(r).items()) + " kept"

        k_kept, m_kept = kept(kp), kept(mp)
        inside = all(plow <= t <= phigh for row in kp["modes"].values() for _, _, t in row["pairs"])
        no_drops = all(row["dropped"] == 0 for row in kp["modes"].values())
        ok = k_kept.keys() == m_kept.keys() and inside and no_drops and bool(k_kept)
        most = max((n for _, n in k_kept.values()), default=0)
        for mode in k_kept.keys() & m_kept.keys():
            if mode in RANDOM_MODES:
                ok = ok and k_kept[mode][0] <= 1 and m_kept[mode][0] <= 1
            else:
                ok = ok and k_kept[mode] == m_kept[mode] and k_kept[mode][0] > 0
        add(
            name,
            text(kp) + ("" if no_drops else "; some connections dropped"),
            text(mp),
            "default, persistent: the same count, the model fed the kernel's client ports; random, fully-random: "
            f"at most 1 (a port kept by chance: about {most}/{phigh - plow + 1:,} per mode)",
            ok,
        )

    flow, fhigh = model["free_left"]["range"]
    fsize = fhigh - flow + 1
    name = f"free ports left at the first failure ({fsize}-port range)"
    if not broken("free_left", name):
        runs = kernel["free_left"]["runs"]
        problem = _runs_problem(kernel["free_left"])
        k_free = np.array([fsize - len(r["mapped"]) for r in runs], dtype=float)
        m_free = fsize - np.array(model["free_left"]["counts"], dtype=float)
        lo, hi = mean_band([fsize - c for c in model["free_left"]["counts"]], max(1, len(runs)))
        share = float((m_free > 0).mean())
        k_text = (
            f"mean {k_free.mean():.1f} over {len(runs)} runs (min {k_free.min():.0f}, max {k_free.max():.0f})"
            if len(runs)
            else "no runs"
        )
        add(
            name,
            k_text if problem is None else f"{k_text}; {problem}",
            f"mean {m_free.mean():.1f} over {m_free.size} seeds ({_spread(m_free)}); more than 0 in {share:.1%}",
            f"every kernel run more than 0, the model in at least {FULL_SHARE:.0%} of seeds; the kernel's mean of "
            f"{len(runs)} within the model's {BAND:.1%} band for such a mean ({lo:.1f}-{hi:.1f})",
            problem is None and k_free.min() > 0 and share >= FULL_SHARE and lo <= k_free.mean() <= hi,
        )
    return checks


# --------------------------------------------------------------------------- report


def plot(kernel: dict[str, Any], model: dict[str, Any], checks: list[Check]) -> Any:
    """The model's distributions of laws 1 and 4, with the kernel's runs marked."""
    from ..output.plots import PlotFigure

    fig = PlotFigure(figsize=(11, 4.4), dpi=110, layout="constrained")
    passed = sum(c.passed for c in checks)
    fig.suptitle(
        f"portsim 'linux-snat' against netfilter SNAT (Linux {kernel.get('meta', {}).get('kernel', '?')}): "
        f"{passed}/{len(checks)} checks pass",
        fontsize=12,
        fontweight="bold",
    )
    for ax, key, free in zip(fig.subplots(1, 2), ("until_failure", "free_left"), (False, True), strict=True):
        low, high = model[key]["range"]
        size = high - low + 1
        values = np.array(model[key]["counts"])
        values = size - values if free else values
        runs = kernel.get(key, {}).get("runs", [])
        k_values = np.array([size - len(r["mapped"]) if free else len(r["mapped"]) for r in runs])
        width = 4 if free else 1
        top = int(max(values.max(), k_values.max() if k_values.size else 0))
        bins = np.arange(int(min(values.min(), k_values.min() if k_values.size else top)), top + width + 1, width)
        ax.hist(
            values, bins=bins - 0.5, color="#2b7bba", alpha=0.7, density=True, label=f"portsim ({values.size} seeds)"
        )
        if k_values.size:
            ax.hist(
                k_values,
                bins=bins - 0.5,
                density=True,
                histtype="step",
                color="#333333",
                lw=1.6,
                label=f"kernel ({k_values.size} runs)",
            )
            ax.plot(k_values, np.zeros(k_values.size), "|", color="#333333", ms=14)
        ax.set_title(
            f"{'free ports left at' if free else 'connections before'} the first failure ({size}-port range)",
            fontsize=10,
        )
        ax.set_xlabel("free ports" if free else "connections mapped")
        ax.set_ylabel("share of seeds (portsim) or runs (kernel)")
        ax.legend(fontsize=8, framealpha=0.9)
    return fig


def run(out: Path, seed: int = 0) -> tuple[list[Check], dict[str, Any]]:
    """Measure netfilter, run the model, compare, and write validation.json and validation.png in ``out``."""
    kernel = probe.measure()  # RuntimeError, with the reason, where it cannot run
    model = simulate(seed, clients_of(kernel))
    checks = compare(kernel, model)
    data = {"checks": [asdict(c) for c in checks], "kernel": kernel, "model": model, "seed": seed}
    write(out, data, plot(kernel, model, checks))
    return checks, data
