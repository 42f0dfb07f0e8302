"""The figure ``sim.explore`` redraws: the pool over time, failures over time, blocking against Erlang B.

It reads a run's typed report (``RunReport``) as the plots do, never a running model. The Erlang B curve
is that of the report's own prediction (``summary.erlang_b``: N ports per pool, P pools), drawn against
the total offered rate with every pool's load scaled alike.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..report.run import RunReport

SIZE = (12.0, 3.5)
DPI = 80
COLORS = {"established": "#2b7bba", "time_wait": "#f0a030", "fin_wait2": "#8e44ad", "ports": "#333333"}
POOL = "#c0392b"
CURVE_POINTS = 60
BINS = 120
"""Time bins at most in the failures panel."""


@dataclass(frozen=True)
class Curve:
    """Erlang B blocking at each total offered rate, for ``pools`` pools of ``ports`` ports sharing the load."""

    rates: np.ndarray
    blocking: np.ndarray
    ports: int
    pools: int
    load_per_rate: float
    """Erlangs offered to each pool per connection per second of total offered rate."""

    def at(self, rate: float) -> float:
        """The curve's blocking at ``rate`` (computed, not interpolated)."""
        return float(erlang_b_many(self.ports, np.array([rate * self.load_per_rate]))[0])


def erlang_b_many(servers: int, loads: np.ndarray) -> np.ndarray:
    """Erlang B(servers, A) for each load A: ``sim.stats.erlang.erlang_b``'s recursion over an array of loads."""
    loads = np.asarray(loads, dtype=float)
    b = np.ones_like(loads)
    for n in range(1, servers + 1):
        b = loads * b / (n + loads * b)
    return b


def total_rate(report: RunReport) -> float:
    """The arrivals per second (connections, and requests of request workloads) offered by all workloads."""
    return float(sum(w.offered.mean_rate for w in report.scenario.workloads))


def erlang_curve(report: RunReport, points: int = CURVE_POINTS) -> Curve | None:
    """The report's Erlang B prediction as a curve over the total offered rate; None where it does not apply.

    The rates run from 0 to the rate offering each pool twice its ports in Erlangs (1.25 times the run's rate
    when that is higher), so that the axis stays put while the rate alone changes.
    """
    eb = report.summary.erlang_b
    rate = total_rate(report)
    if not eb.applicable or eb.pools < 1 or rate <= 0 or eb.offered_load <= 0:
        return None
    per_rate = eb.offered_load / eb.pools / rate
    top = max(2.0 * eb.ports / per_rate, 1.25 * rate)
    rates = np.linspace(0.0, top, points)
    return Curve(rates, erlang_b_many(eb.ports, rates * per_rate), eb.ports, eb.pools, per_rate)


def draw(report: RunReport, curve: Curve | None, history: Sequence[tuple[float, float]] = ()) -> Figure:
    """Three panels: ports over time, failures over time, blocking against the offered rate.

    ``history`` holds (rate, blocking) of earlier runs that differed from this one only in their rate.
    """
    fig = Figure(figsize=SIZE, dpi=DPI)
    fig.subplots_adjust(left=0.06, right=0.98, top=0.9, bottom=0.15, wspace=0.25)
    left, middle, right = fig.subplots(1, 3)
    _occupancy(left, report)
    _failures(middle, report)
    _blocking(right, report, curve, history)
    return fig


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _warmup(ax: Axes, report: RunReport) -> None:
    warmup = report.scenario.warmup
    if warmup > 0:
        ax.axvspan(0, warmup, color="#dddddd", alpha=0.6, lw=0, label="warm-up (not measured)")


def _occupancy(ax: Axes, report: RunReport) -> None:
    series = report.series
    t = series["time_s"]
    est = series["established"].astype(float)
    tw = series["time_wait"].astype(float)
    fw2 = series["fin_wait2"].astype(float)
    _warmup(ax, report)
    ax.fill_between(t, 0, est, step="post", color=COLORS["established"], alpha=0.85, label="ESTABLISHED")
    ax.fill_between(t, est, est + tw, step="post", color=COLORS["time_wait"], alpha=0.85, label="TIME_WAIT")
    if fw2.any():
        ax.fill_between(t, est + tw, est + tw + fw2, step="post", color=COLORS["fin_wait2"], label="FIN_WAIT2")
    ax.step(t, series["ports_in_use"], where="post", color=COLORS["ports"], lw=1, label="ports in use")
    pool = report.pool_size
    ax.axhline(pool, color=POOL, ls="--", lw=1.2, label=f"pool ({pool:,} ports)")
    ax.set_xlim(t[0], t[-1])
    ax.set_ylim(0, max(pool, float(np.max(est + tw + fw2, initial=0))) * 1.12)
    ax.set_title("Ports over time", fontsize=10)
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("connections / ports")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower right", framealpha=0.9)


def _failures(ax: Axes, report: RunReport) -> None:
    series = report.series
    t = series["time_s"]
    rows = t.size - 1  # row 0 is the state at t = 0, with no step behind it
    group = max(1, int(np.ceil(rows / BINS)))
    n = int(np.ceil(rows / group)) if rows > 0 else 0
    edges = np.append(t[0:-1:group][:n], t[-1]) if n else np.array([t[0], t[-1]])

    def per_second(column: str) -> np.ndarray:
        padded = np.zeros(max(n, 1) * group)
        padded[:rows] = series[column][1:]
        totals: np.ndarray = padded.reshape(max(n, 1), group).sum(axis=1)
        return totals / np.diff(edges)

    _warmup(ax, report)
    ax.stairs(per_second("attempts"), edges, color="#7f8c8d", lw=1, label="connect() attempts")
    ax.stairs(per_second("failures"), edges, fill=True, color=POOL, alpha=0.85, label="failures")
    ax.set_xlim(t[0], t[-1])
    ax.set_ylim(bottom=0)
    ax.set_title("Failed connects per second", fontsize=10)
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("per second")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", framealpha=0.9)


def _blocking(ax: Axes, report: RunReport, curve: Curve | None, history: Sequence[tuple[float, float]]) -> None:
    rate = total_rate(report)
    simulated = report.summary.blocking_probability
    eb = report.summary.erlang_b
    if curve is not None:
        pools = f"{curve.pools} pools of " if curve.pools > 1 else ""
        ax.plot(curve.rates, curve.blocking, color="black", lw=1.2, label=f"Erlang B ({pools}{curve.ports:,} ports)")
        ax.set_xlim(0, float(curve.rates[-1]))
    else:
        ax.set_xlim(0, 2 * rate if rate > 0 else 1)
        ax.text(0.02, 0.5, textwrap.fill(eb.note, 48), transform=ax.transAxes, fontsize=7, va="center", color="#555555")
    if history:
        xs, ys = zip(*history, strict=True)
        ax.plot(xs, ys, "o", ms=4, color="#999999", label="earlier runs")
    if eb.applicable and eb.blocking_probability is not None:
        ax.plot([rate], [eb.blocking_probability], "x", ms=9, mew=2, color="black", label="Erlang B here")
    if simulated is not None:
        ax.plot([rate], [simulated], "o", ms=8, color=POOL, label=f"simulated: {simulated:.4g}")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Blocking against the offered rate", fontsize=10)
    requests = any(w.requests is not None for w in report.scenario.workloads)
    ax.set_xlabel(
        "offered arrivals (connections, requests) per second" if requests else "offered connections per second"
    )
    ax.set_ylabel("blocking probability")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", framealpha=0.9)
