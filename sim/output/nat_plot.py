"""The translator's plots: its panel under the occupancy plot, and ``nat.png`` (mappings per host over time).

Everything is read from the run's report: the ``nat_*`` time-series columns and ``nat_hosts`` (mappings held
per host at each row, ``nat_hosts.npz`` in a results folder).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .figure import DPI, PlotFigure

if TYPE_CHECKING:
    from ..report.run import RunReport

COLORS = {"open": "#16a085", "closing": "#95a5a6", "failures": "#c0392b"}


def has_nat(result: RunReport) -> bool:
    """Whether the run had a translator whose figures can be drawn."""
    return result.summary.nat is not None and "nat_mappings" in result.series


def translator_panel(ax: Axes, result: RunReport) -> None:
    """Open and closing mappings (stacked) and dropped attempts per second, on ``ax``."""
    nat = result.summary.nat
    assert nat is not None
    t, mappings = result.series_mean("nat_mappings")
    _, closing = result.series_mean("nat_closing")
    _, failures = result.series_mean("nat_failures")
    ax.fill_between(t, 0, mappings, step="post", color=COLORS["open"], alpha=0.8, lw=0, label="open mappings")
    if closing.any():  # a band of zero height still draws its edge, which reads as held mappings
        ax.fill_between(
            t,
            mappings,
            mappings + closing,
            step="post",
            color=COLORS["closing"],
            alpha=0.8,
            lw=0,
            label="held after close",
        )
    destinations = len(result.scenario.destinations)
    if destinations == 1 and nat.scope == "address" and not result.scenario.nat_growing:
        cap = nat.pool_size * nat.public_addresses  # per-host pools fill one by one: a fleet total would mislead
        top = float(np.max(mappings + closing, initial=0.0))
        if cap <= 5 * top:
            ax.axhline(cap, color="black", ls="--", lw=1.2, label=f"translator's pools ({cap:,.0f} mappings)")
        else:  # lightly used: scale to the mappings, and say where the pools' size would be
            ax.set_ylim(0, max(top, 1.0) * 1.3)  # room above for the note
            ax.text(
                0.01,
                0.95,
                f"translator's pools {cap:,.0f} mappings (off the scale)",
                transform=ax.transAxes,
                va="top",
                fontsize=8,
            )
    ax.set_ylabel("mappings")
    ax.set_xlabel("simulated time (s)")
    ax.set_xlim(t[0], t[-1])
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    rate = ax.twinx()
    step = float(t[1] - t[0]) if t.size > 1 else 1.0
    rate.step(t, failures / step, where="post", color=COLORS["failures"], lw=1.0, label=f"{nat.error} per second")
    rate.set_ylabel(f"{nat.error} /s", color=COLORS["failures"])
    rate.set_ylim(bottom=0, top=max(1.0, float(np.max(failures / step, initial=0)) * 1.15))
    handles, labels = ax.get_legend_handles_labels()
    more, more_labels = rate.get_legend_handles_labels()
    rate.legend(handles + more, labels + more_labels, loc="best", fontsize=8, framealpha=0.9)
    who = "per host" if nat.scope == "host" else "per public address"
    ax.set_title(
        f"translator {nat.kind}: {nat.pool_size:,} mappings {who} {nat.pool_destinations}, {nat.hosts:,} host(s)",
        fontsize=9,
        color="#555555",
    )


def nat(result: RunReport) -> Figure:
    """Mappings each host holds over time (a heat map: hosts down, time across), host groups marked."""
    summary = result.summary.nat
    data = result.nat_hosts
    if summary is None or data is None:
        raise ValueError("this result has no translator (or a results folder written without nat_hosts.npz)")
    t = result.series["time_s"][: data.shape[0]]
    fig = PlotFigure(figsize=(9.0, 5.6), dpi=DPI)
    fig.subplots_adjust(left=0.1, right=0.88, top=0.86, bottom=0.1)
    ax = fig.add_subplot()
    fig.suptitle(f"Translator mappings per host: {result.scenario.name}", fontsize=12, fontweight="bold")
    hosts = data.shape[1]
    end = float(t[-1]) if t.size else 1.0
    image = ax.imshow(
        data.T,
        aspect="auto",
        origin="upper",
        interpolation="nearest",
        cmap="viridis",
        extent=(0.0, end, hosts - 0.5, -0.5),
        vmin=0,
    )
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label("mappings held (open or after close)")
    for g in result.scenario.fleet:
        if g.first:
            ax.axhline(g.first - 0.5, color="white", lw=1)
        ax.text(end * 0.005, g.first + g.count / 2 - 0.5, g.name, color="white", fontsize=8, va="center")
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("host")
    failed = sum(g.hosts_failed for g in summary.groups.values())
    ax.set_title(
        f"{summary.kind}: {hosts:,} host(s), {failed:,.0f} had attempts dropped ({summary.error}), "
        f"{summary.hosts_failed_with_room:,.0f} while another pool had room",
        fontsize=9,
        color="#555555",
    )
    return fig
