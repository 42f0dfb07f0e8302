"""Plots of a run's results. Each function reads a ``RunReport`` and returns a matplotlib Figure.

Figures are built without pyplot, so importing this module selects no backend and opens no window;
in Jupyter a returned figure displays inline through its ``_repr_png_``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from ..model.recorder import OCCUPANCY_BINS, group_column
from ..report.capacity import rate_text
from . import nat_plot, port_map_plot
from .figure import DPI as DPI
from .figure import PlotFigure as PlotFigure

if TYPE_CHECKING:
    from ..report.run import RunReport


SIZE = (9.0, 4.8)
MARGINS = {"left": 0.085, "right": 0.915, "top": 0.86, "bottom": 0.115}
"""Fixed margins for SIZE (a layout engine costs half the drawing time and gains nothing here)."""
COLORS = {"established": "#2b7bba", "time_wait": "#f0a030", "ports": "#333333", "pool": "#c0392b"}


def _subtitle(result: RunReport) -> str:
    host = result.scenario.fleet_host
    reps = result.summary.replications
    variant = result.summary.variant
    text = f"variant {variant}: " if variant else ""
    policy = host.policy_name
    if not isinstance(host.policy, str):
        params = ", ".join(f"{k} {v}" for k, v in host.policy.items() if k != "name")
        policy += f" ({params})" if params else ""
    grid = f" on a {host.time_wait_granularity:g} s grid" if host.time_wait_granularity else ""
    if result.scenario.mixed_hosts:
        groups = [
            f"{g.name} {g.host.preset} {g.host.low}-{g.host.high} TW {g.host.time_wait:g} s"
            for g in result.scenario.fleet
        ]
        text += "host groups " + ", ".join(groups[:3]) + (", ..." if len(groups) > 3 else "")
        text += f", seed {result.scenario.seed}"
    else:
        text += (
            f"{host.preset} preset, ports {host.low}-{host.high}, policy {policy}, "
            f"TIME_WAIT {host.time_wait:g} s{grid}, seed {result.scenario.seed}"
        )
    if reps:
        text += f", mean of {reps} replications"
    return text


def _figure(title: str, result: RunReport) -> tuple[Figure, Axes]:
    fig = PlotFigure(figsize=SIZE, dpi=DPI)
    fig.subplots_adjust(**MARGINS)
    ax = fig.add_subplot()
    fig.suptitle(f"{title}: {result.scenario.name}", fontsize=12, fontweight="bold")
    ax.set_title(_subtitle(result), fontsize=9, color="#555555")
    ax.grid(True, alpha=0.3)
    return fig, ax


def occupancy(result: RunReport) -> Figure:
    """Connections ESTABLISHED and in TIME_WAIT over time (stacked), distinct ports in use, pool size."""
    fig, ax = _figure("Port pool occupancy", result)
    t, est = result.series_mean("established")
    _, tw = result.series_mean("time_wait")
    _, ports = result.series_mean("ports_in_use")
    _, fw2 = result.series_mean("fin_wait2")
    _shade_warmup(ax, result)
    ax.fill_between(t, 0, est, step="post", color=COLORS["established"], alpha=0.8, label="ESTABLISHED")
    ax.fill_between(t, est, est + tw, step="post", color=COLORS["time_wait"], alpha=0.8, label="TIME_WAIT")
    if fw2.any():
        ax.fill_between(t, est + tw, est + tw + fw2, step="post", color="#8e44ad", alpha=0.8, label="FIN_WAIT2")
    if "nat_syn_sent" in result.series:  # host ports held by SYNs the translator dropped, until connect() times out
        _, syn = result.series_mean("nat_syn_sent")
        if syn.any():
            base = est + tw + fw2
            ax.fill_between(
                t,
                base,
                base + syn,
                step="post",
                color="#c0392b",
                alpha=0.35,
                label="SYN_SENT (dropped by the translator)",
            )
            fw2 = fw2 + syn  # the stack's top
    ax.step(t, ports, where="post", color=COLORS["ports"], lw=1.2, label="distinct local ports in use")
    _group_ports(ax, result)
    pool = result.pool_size
    ax.axhline(pool, color=COLORS["pool"], lw=1.5, ls="--", label=f"pool size ({pool:,} ports)")
    first = result.summary.first_failure_time_s
    if first is not None:
        what = "first failure, mean over replications" if result.summary.replications else "first failure"
        ax.axvline(first, color="black", lw=1, ls=":", label=f"{what} ({first:.2f} s)")
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("connections (4-tuples) / ports")
    ax.set_xlim(t[0], t[-1])
    top = max(float(np.max(est + tw + fw2, initial=0)), float(np.max(ports, initial=0)), 1.0)
    if top >= 0.2 * pool:
        ax.set_ylim(0, max(pool, top) * 1.08)
    else:  # a lightly loaded pool: scale to the data, and say where the pool size would be
        ax.set_ylim(0, top * 1.25)
        ax.text(
            0.01,
            0.97,
            f"pool size {pool:,} ports (off the scale)",
            transform=ax.transAxes,
            va="top",
            fontsize=8,
            color=COLORS["pool"],
        )
    if ax.get_ylim()[1] >= 100_000:  # six-digit ticks would push the axis label off the figure: thousands, all alike
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k" if v else "0"))
    handles, labels = ax.get_legend_handles_labels()
    upper = ax
    if any(w.offered.kind in VARYING_RATES for w in result.scenario.workloads):
        upper = _offered_rate(ax, result)
        more, more_labels = upper.get_legend_handles_labels()
        handles, labels = handles + more, labels + more_labels
    upper.legend(handles, labels, loc="best", fontsize=8, framealpha=0.9)  # on the upper axes, above both
    if nat_plot.has_nat(result):  # the translator's panel below the hosts'
        fig.set_size_inches(SIZE[0], SIZE[1] * 1.7)
        ax.set_position((MARGINS["left"], 0.47, MARGINS["right"] - MARGINS["left"], 0.39))
        ax.set_xlabel("")
        ax.set_ylabel("host 4-tuples / ports")
        if upper is not ax:
            upper.set_position(ax.get_position())
        lower = fig.add_axes((MARGINS["left"], 0.06, MARGINS["right"] - MARGINS["left"], 0.32))
        nat_plot.translator_panel(lower, result)
    return fig


GROUP_LINES = 6
"""Host groups whose ports in use the occupancy plot draws, at most: the fullest (summary.json has them all)."""
GROUP_COLORS = ("#16a085", "#8e44ad", "#d35400", "#e84393", "#8d6e63", "#9e9d24")


def _group_ports(ax: Axes, result: RunReport) -> None:
    """With several host groups: each group's ports in use, its pool size in the legend and as a dotted line; the
    six whose peak filled the largest share of their pool, in the scenario's order."""
    settings = result.summary.pool.groups or {}
    figures = result.summary.groups or {}
    present = [name for name in settings if group_column(name) in result.series and name in figures]
    fullest = sorted(present, key=lambda n: -figures[n].ports_in_use.peak / max(settings[n].total_ports, 1))
    chosen = set(fullest[:GROUP_LINES])
    drawn = [name for name in present if name in chosen]
    for name, color in zip(drawn, GROUP_COLORS, strict=False):
        t, ports = result.series_mean(group_column(name))
        size = settings[name].total_ports
        ax.step(t, ports, where="post", color=color, lw=1.0, ls="--", label=f"ports in use, group {name} (of {size:,})")
        ax.axhline(size, color=color, lw=1.0, ls=":")  # the group's own pool size (off the scale when large)
    if len(settings) > len(drawn) and drawn:
        ax.plot([], [], " ", label=f"{len(settings) - len(drawn)} more group(s) in summary.json")


VARYING_RATES = frozenset({"profile", "diurnal"})
"""Arrival kinds whose rate changes in time: the occupancy plot shows the offered rate beside the pool."""


def _offered_rate(ax: Axes, result: RunReport) -> Axes:
    """A second y axis with the arrivals in each time-series step divided by the step: requests where every
    workload sends requests (its connect() attempts are what the pool makes of them), else connect() attempts."""
    requests = all(w.requests is not None for w in result.scenario.workloads) and "requests" in result.series
    t, arrivals = result.series_mean("requests" if requests else "attempts")
    label = "offered rate (requests/s)" if requests else "offered rate (attempts/s)"
    rate = ax.twinx()
    if t.size > 1:  # row 0 is the state at t = 0, with no step behind it
        rate.stairs(arrivals[1:] / np.diff(t), t, color="#16a085", lw=0.8, label=label)
    rate.set_ylabel(label)
    rate.set_ylim(bottom=0)
    return rate


def _log(ax: Axes, which: str) -> None:
    """A log scale labelled in plain numbers (1, 10, 100, 0.001): no math text to typeset for every tick."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def _shade_warmup(ax: Axes, result: RunReport) -> None:
    warmup = result.scenario.warmup
    if warmup > 0:
        ax.axvspan(0, warmup, color="#dddddd", alpha=0.5, lw=0, label=f"warm-up ({warmup:g} s, not in the summary)")


def _coarsen(t: np.ndarray, counts: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge consecutive time-series steps so that at most ``bins`` remain: (edges, counts per bin)."""
    rows = counts[1:]  # row 0 is the state at t = 0, with no interval behind it
    group = max(1, int(np.ceil(rows.size / bins)))
    n = int(np.ceil(rows.size / group))
    padded = np.zeros(n * group)
    padded[: rows.size] = rows
    edges = np.append(t[0:-1:group][:n], t[-1])
    return edges, padded.reshape(n, group).sum(axis=1)


def failure_label(result: RunReport) -> str:
    """What the failures are: the host's errors, and the translator's when there is one."""
    nat = result.summary.nat
    errors = "EADDRNOTAVAIL / EADDRINUSE" + (f", or the translator's {nat.error}" if nat is not None else "")
    return f"failures per second ({errors})"


def failures(result: RunReport, bins: int = 200) -> Figure:
    """Attempts and failed allocations per second over time."""
    fig, ax = _figure("Failed allocations", result)
    t, attempts = result.series_mean("attempts")
    _, failed = result.series_mean("failures")
    edges, attempts_binned = _coarsen(t, attempts, bins)
    _, failed_binned = _coarsen(t, failed, bins)
    widths = np.diff(edges)
    _shade_warmup(ax, result)
    ax.stairs(attempts_binned / widths, edges, color="#7f8c8d", lw=1, label="connect attempts per second")
    ax.stairs(
        failed_binned / widths,
        edges,
        fill=True,
        color="#c0392b",
        alpha=0.85,
        label=failure_label(result),
    )
    total = round(result.summary.failures)
    blocking = result.summary.blocking_probability
    if total == 0:
        text = "no allocation failed"
    else:
        text = f"{total:,} failures in the measured window, blocking probability {blocking:.4g}"
    ax.text(
        0.01,
        0.97,
        text + f"\n(averaged over {widths[0]:g} s bins)",
        transform=ax.transAxes,
        va="top",
        fontsize=8,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "#cccccc"},
    )
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("per second")
    ax.set_xlim(t[0], t[-1])
    highest = float(np.max(attempts_binned / widths, initial=0.0))
    ax.set_ylim(0, highest * 1.4 if highest > 0 else 1.0)  # room above the lines for the note and the legend
    ax.legend(loc="upper right", fontsize=8)
    return fig


def reuse_intervals(result: RunReport, per_decade: int = 20) -> Figure:
    """Histogram of how long 4-tuples stayed free before their next allocation, log scale."""
    fig, ax = _figure("How long a 4-tuple stays free before it is reused", result)
    counts = result.reuse_counts
    edges = result.reuse_edges
    inner = counts[1:-1]
    group = max(1, round((edges.size - 1) / (np.log10(edges[-1] / edges[0]) * per_decade)))
    n_groups = inner.size // group
    grouped = inner[: n_groups * group].reshape(n_groups, group).sum(axis=1)
    left = edges[:-1][: n_groups * group : group]
    right = edges[group : n_groups * group + 1 : group]
    nonzero = np.flatnonzero(grouped)
    _log(ax, "x")
    total = int(counts.sum())
    if total == 0:
        ax.text(0.5, 0.5, "no 4-tuple was reused in this run", transform=ax.transAxes, ha="center", fontsize=11)
        ax.set_xlim(1e-3, 1e3)
    else:
        if nonzero.size:
            lo, hi = nonzero[0], nonzero[-1] + 1
            ax.stairs(
                grouped[lo:hi],
                np.append(left[lo:hi], right[hi - 1]),
                fill=True,
                color=COLORS["established"],
                label=f"4-tuple reuses ({total:,})",
            )
        else:
            ax.set_xlim(edges[0] / 10, 1.0)
        notes = []
        if counts[0]:
            notes.append(f"{int(counts[0]):,} reuses after less than {edges[0]:g} s (not drawn)")
        if counts[-1]:
            notes.append(f"{int(counts[-1]):,} reuses after more than {edges[-1]:g} s (not drawn)")
        if notes:
            ax.text(0.01, 0.97, "\n".join(notes), transform=ax.transAxes, va="top", fontsize=8)
        stats = result.summary.reuse_interval_s
        for key, style in (("p01", ":"), ("median", "--")):
            value = stats.get(key)
            if value:
                ax.axvline(value, color="black", ls=style, lw=1, label=f"{key} = {value:.3g} s")
    ax.set_xlabel("seconds a 4-tuple stayed free: from the end of its TIME_WAIT (or its close) to its next use")
    ax.set_ylabel("reuses")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper right")
    return fig


def probes(result: RunReport) -> Figure:
    """Distribution of the number of candidate ports examined per allocation attempt."""
    fig, ax = _figure("Ports examined per allocation", result)
    counts = result.probe_counts
    values = np.flatnonzero(counts)
    if values.size == 0:
        ax.text(0.5, 0.5, "no allocation was attempted", transform=ax.transAxes, ha="center")
    else:
        top = int(values[-1])
        if top <= 60:
            ax.bar(values, counts[values], width=0.8, color=COLORS["established"], label="allocations")
            ax.set_xlim(0, top + 1)
            ax.set_ylabel("allocations (log scale)")
        else:
            padded = np.zeros(top + 2, dtype=np.int64)
            padded[: top + 1] = counts[: top + 1]  # counts may carry trailing zeros (in memory) or not (read back)
            bins = np.unique(np.geomspace(1, top + 1, 60).astype(int))
            binned = np.add.reduceat(padded[1:], bins[:-1] - 1)
            ax.stairs(
                binned / np.diff(bins),
                bins,
                fill=True,
                color=COLORS["established"],
                label="allocations per probe count (log-spaced bins, averaged over each bin)",
            )
            _log(ax, "x")
            ax.set_ylabel("allocations per probe count (log scale)")
        _log(ax, "y")
        failures = round(result.summary.failures)
        if failures:
            ax.text(
                0.01,
                0.03,
                f"{failures:,} failed attempts examined every candidate port",
                transform=ax.transAxes,
                ha="left",
                va="bottom",
                fontsize=8,
                color=COLORS["pool"],
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
            )
        stats = result.summary.probes
        if stats.mean is not None and stats.p99 is not None:
            ax.axvline(stats.mean, color="black", ls="--", lw=1, label=f"mean = {stats.mean:.3g}")
            ax.axvline(stats.p99, color=COLORS["pool"], ls=":", lw=1.5, label=f"p99 = {stats.p99:.3g}")
        ax.legend(fontsize=8, loc="upper center")
    ax.set_xlabel("candidate ports examined by one connect()/bind() (the allocation's cost)")
    return fig


def latency(result: RunReport) -> Figure:
    """Mean estimated connect() latency against the occupancy of the pool each attempt drew from."""
    fig, ax = _figure("Estimated connect() latency against occupancy", result)
    host = result.scenario.fleet_host
    base = host.connect_base_us
    per_probe = host.probe_cost_ns
    attempts = result.occupancy_attempts.astype(float)
    seen = np.flatnonzero(attempts)
    if seen.size == 0:
        ax.text(0.5, 0.5, "no allocation was attempted", transform=ax.transAxes, ha="center")
    else:
        mean_probes = result.occupancy_probes[seen] / attempts[seen]
        ax.plot(
            seen,
            base + mean_probes * per_probe / 1000.0,
            "o-",
            ms=3,
            color=COLORS["established"],
            label=f"mean per 1% occupancy bin ({base:g} µs + {per_probe:g} ns per port examined)",
        )
        share = ax.twinx()
        share.bar(
            seen, attempts[seen] / attempts.sum(), width=1.0, color="#999999", alpha=0.25, label="share of attempts"
        )
        share.set_ylabel("share of attempts at this occupancy")
        share.set_ylim(bottom=0)
        ax.set_zorder(share.get_zorder() + 1)
        ax.patch.set_visible(False)
        handles, labels = ax.get_legend_handles_labels()
        more, more_labels = share.get_legend_handles_labels()
        ax.legend(handles + more, labels + more_labels, fontsize=8, loc="upper left")
    ax.set_xlim(-1, OCCUPANCY_BINS)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("occupancy of the pool the attempt drew from (% of usable ports it could not take)")
    ax.set_ylabel("estimated connect() latency (µs)")
    return fig


MIN_BLOCKING_AXIS = 0.01
"""The comparison's blocking axis reaches at least this high."""


def comparison(results: Mapping[str, RunReport]) -> Figure:
    """Blocking probability and pool use of each variant of a scenario, side by side."""
    fig = PlotFigure(figsize=(11, 4.8), dpi=DPI, layout="constrained")
    first = next(iter(results.values()))
    fig.suptitle(f"Variants compared: {first.scenario.name}", fontsize=12, fontweight="bold")
    left, right = fig.subplots(1, 2)
    names = list(results)
    x = np.arange(len(names))
    blocking = [r.summary.blocking_probability or 0.0 for r in results.values()]
    left.bar(x, blocking, color=COLORS["pool"], label="simulated")
    errors: list[list[float]] = [(r.summary.ci95 or {}).get("blocking_probability") or [] for r in results.values()]
    if all(errors):
        low = [b - e[0] for b, e in zip(blocking, errors, strict=True)]
        high = [e[1] - b for b, e in zip(blocking, errors, strict=True)]
        left.errorbar(x, blocking, yerr=[low, high], fmt="none", color="black", capsize=4, label="95% CI")
    for i, r in enumerate(results.values()):
        eb = r.summary.erlang_b
        if eb.applicable and eb.blocking_probability is not None:
            left.plot(
                [i - 0.4, i + 0.4],
                [eb.blocking_probability] * 2,
                color="black",
                ls="--",
                lw=1.5,
                label="Erlang B" if i == 0 else None,
            )
        left.text(i, blocking[i], f"{blocking[i]:.3g}", ha="center", va="bottom", fontsize=8)
    predicted = [r.summary.erlang_b.blocking_probability or 0.0 for r in results.values()]
    # at least 1% tall: an axis scaled to Erlang B's 1e-250 or to all zeros reads as noise
    left.set_ylim(0, max(*blocking, *predicted, MIN_BLOCKING_AXIS) * 1.15)
    left.set_xticks(x, names, rotation=20, ha="right")
    left.set_ylabel("blocking probability (failed / attempted connects)")
    left.set_title("How many connects fail", fontsize=10)
    left.legend(fontsize=8)
    left.grid(True, axis="y", alpha=0.3)
    pool = np.array([r.pool_size for r in results.values()], dtype=float)
    used = np.array([r.summary.ports_in_use.mean for r in results.values()])
    waiting = np.array([r.summary.time_wait.mean for r in results.values()])
    right.bar(x - 0.2, used / pool, width=0.4, color=COLORS["ports"], label="ports in use (mean) / pool size")
    right.bar(x + 0.2, waiting / pool, width=0.4, color=COLORS["time_wait"], label="TIME_WAIT (mean) / pool size")
    right.axhline(1.0, color=COLORS["pool"], ls="--", lw=1, label="pool size")
    right.set_xticks(x, names, rotation=20, ha="right")
    right.set_ylabel("fraction of the pool (ports x source addresses)")
    right.set_title("Where the ports are (shared 4-tuples can outnumber the ports)", fontsize=10)
    right.legend(fontsize=8)
    right.grid(True, axis="y", alpha=0.3)
    return fig


def has_requests(result: RunReport) -> bool:
    """Whether the run has a client layer (request workloads or retries) whose series can be drawn."""
    return "requests" in result.series


def requests(result: RunReport, bins: int = 200) -> Figure:
    """Requests, connect() attempts, retries and failures per second (top); idle pooled connections (bottom)."""
    fig = PlotFigure(figsize=(9.0, 6.4), dpi=DPI)
    fig.subplots_adjust(left=0.085, right=0.97, top=0.88, bottom=0.085, hspace=0.12)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    fig.suptitle(f"Requests and connections: {result.scenario.name}", fontsize=12, fontweight="bold")
    top.set_title(_subtitle(result), fontsize=9, color="#555555")
    t, _ = result.series_mean("requests")
    lines = (
        ("requests", "requests per second", "#2b7bba", 1.4),
        ("attempts", "connect() attempts per second", "#7f8c8d", 1.0),
        ("retries", "retries per second", "#8e44ad", 1.0),
        ("failures", "connect() failures per second", "#c0392b", 1.0),
        ("requests_failed", "requests failed per second (for good)", "#e67e22", 1.4),
    )
    widths = np.ones(1)
    highest = 0.0
    for column, label, color, width in lines:
        _, values = result.series_mean(column)
        if column in ("retries", "requests_failed") and not values.any():
            continue
        edges, binned = _coarsen(t, values, bins)
        widths = np.diff(edges)
        top.stairs(binned / widths, edges, color=color, lw=width, label=label)
        highest = max(highest, float((binned / widths).max(initial=0.0)))
    for ax in (top, bottom):
        _shade_warmup(ax, result)
        ax.grid(True, alpha=0.3)
    top.set_ylabel("per second")
    top.set_ylim(0, highest * 1.35 or 1.0)  # headroom: the legend and the pool note sit above the lines
    top.legend(loc="upper right", fontsize=8)
    pools = [
        f"{name}: {w.requests.pool}, {rate_text(w.requests.reuse_ratio or 0)} requests per connection"
        for name, w in result.summary.workloads.items()
        if w.requests is not None
    ]
    top.text(
        0.01,
        0.97,
        "\n".join(pools[:4]) + f"\n(averaged over {widths[0]:g} s bins)",
        transform=top.transAxes,
        va="top",
        fontsize=8,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "#cccccc"},
    )
    _, idle = result.series_mean("idle_connections")
    bottom.plot(t, idle, color="#27ae60", lw=1.2, label="idle pooled connections")
    bottom.set_ylabel("idle connections")
    bottom.set_xlabel("simulated time (s)")
    bottom.set_ylim(bottom=0)
    bottom.set_xlim(t[0], t[-1])
    return fig


PLOTS = {
    "occupancy": occupancy,
    "failures": failures,
    "reuse_intervals": reuse_intervals,
    "probes": probes,
    "latency": latency,
}
"""The plots of every run."""
OPTIONAL_PLOTS = {
    "requests": (has_requests, requests),
    "port_map": (port_map_plot.has_still, port_map_plot.still),
    "nat": (lambda result: nat_plot.has_nat(result) and result.nat_hosts is not None, nat_plot.nat),
}
"""Plots drawn only for the runs they apply to: (whether it applies, the plot). Every run has a
port map still; only results folders written before it existed lack one."""
ANIMATIONS = {"port_map": (port_map_plot.has_frames, port_map_plot.save_animation)}
"""Animations written beside the plots when recorded: (whether it applies, write it into a folder)."""
ANIMATION_FILES = port_map_plot.FILES
"""The files the animations may write."""


def plots_for(result: RunReport) -> dict[str, Callable[[RunReport], Figure]]:
    """The plots of ``result`` by name: every run's, and the optional ones that apply."""
    chosen: dict[str, Callable[[RunReport], Figure]] = dict(PLOTS)
    chosen.update({name: make for name, (applies, make) in OPTIONAL_PLOTS.items() if applies(result)})
    return chosen


def save_all(result: RunReport, folder: Path) -> tuple[list[Path], list[str]]:
    """Write every plot as PNG into ``folder``, and the animations recorded: (paths written, one line for each
    plot that failed).

    A plot that fails does not stop the others.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    failed: list[str] = []
    for name, make in plots_for(result).items():
        path = folder / f"{name}.png"
        try:
            make(result).savefig(path)
        except Exception as exc:  # one plot's bug must not cost the others, nor the data
            failed.append(f"{path.name}: {type(exc).__name__}: {exc}")
        else:
            written.append(path)
    for name, (applies, save) in ANIMATIONS.items():
        if applies(result):
            try:
                written += save(result, folder)
            except Exception as exc:  # an animation that fails costs neither the plots nor the data
                failed.append(f"{name}: {type(exc).__name__}: {exc}")
    return written, failed
