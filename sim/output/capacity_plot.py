"""The plot of a capacity search: the blocking it measured at each load, the fitted curve, the target and the answer."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from ..report.capacity import percent, rate_text
from .plots import DPI, PlotFigure
from .sweep_plot import PALETTE


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _corrected(evaluation: Mapping[str, Any]) -> float:
    """Blocking of the pooled replications with the half-count correction the search fits (never 0 or 1)."""
    attempts = sum(float(r["attempts"]) for r in evaluation["runs"])
    failures = sum(float(r["failures"]) for r in evaluation["runs"])
    return (failures + 0.5) / (attempts + 1.0)


def capacity_figure(reports: Sequence[Mapping[str, Any]]) -> Figure:
    """Blocking against rate for each search (one per variant): evaluated loads with their 95% intervals and
    replications, the logit-linear curve through the loads either side of the target, and the answer."""
    fig = PlotFigure(figsize=(9.0, 5.2), dpi=DPI)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.84, bottom=0.12)
    ax = fig.add_subplot()
    first = reports[0]
    target = float(first["target"])
    ax.axhline(target, color="#c0392b", linewidth=1.0, linestyle=":", label=f"target {percent(target)}")
    for i, report in enumerate(reports):
        color = PALETTE[i % len(PALETTE)]
        name = report.get("variant") or ""
        evaluations = report["evaluations"]
        rates = [e["rate"] for e in evaluations]
        means = [e["blocking_probability"] if e["blocking_probability"] is not None else math.nan for e in evaluations]
        for e in evaluations:
            for run in e["runs"]:
                if run["blocking_probability"] is not None:
                    ax.plot(e["rate"], run["blocking_probability"], ".", color=color, alpha=0.35, markersize=4)
        errors = [
            [m - e["ci95"][0] if e["ci95"] else 0.0 for m, e in zip(means, evaluations, strict=True)],
            [e["ci95"][1] - m if e["ci95"] else 0.0 for m, e in zip(means, evaluations, strict=True)],
        ]
        label = f"{name + ': ' if name else ''}simulated (mean, 95% CI)"
        ax.errorbar(rates, means, yerr=np.maximum(errors, 0), fmt="o", color=color, capsize=3, label=label)
        _curve(ax, report, color)
        if report.get("rate") is not None:
            rate = float(report["rate"])
            ax.axvline(rate, color=color, linewidth=1.2)
            if report.get("ci95"):
                ax.axvspan(report["ci95"][0], report["ci95"][1], color=color, alpha=0.15, linewidth=0)
            ax.annotate(
                f"{rate_text(rate)} {report.get('unit', 'conn/s')}",
                (rate, 1.0),
                xycoords=("data", "axes fraction"),
                textcoords="offset points",
                xytext=(0, -14 - 13 * i),
                ha="center",
                fontsize=9,
                color=color,
                fontweight="bold",
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
            )
        if report.get("erlang_b_rate") is not None:
            ax.axvline(float(report["erlang_b_rate"]), color=color, linewidth=1.0, linestyle="--", alpha=0.7)
    if any(r.get("erlang_b_rate") is not None for r in reports):
        ax.plot([], [], "--", color="#555555", label="inverse Erlang B")
    ax.set_xlabel(_rate_label(first), fontsize=9)
    ax.set_ylabel("blocking probability" + (f" toward {first['destination']}" if first.get("destination") else ""))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    fig.suptitle(f"Capacity at {percent(target)} blocking: {first['scenario']}", fontsize=12, fontweight="bold")
    fig.text(0.5, 0.9, _subtitle(reports), ha="center", fontsize=9, color="#555555")
    return fig


def _rate_label(report: Mapping[str, Any]) -> str:
    workloads = ", ".join(report["workloads"])
    unit = report.get("unit", "conn/s")
    what = {"conn/s": "new connections", "req/s": "requests"}.get(unit, "arrivals (connections and requests)")
    return f"{what} per second of {workloads} (scaled together)"


def _subtitle(reports: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for r in reports:
        name = f"{r['variant']}: " if r.get("variant") else ""
        if r.get("rate") is None:
            parts.append(f"{name}not found ({r['note']})")
            continue
        ci = r.get("ci95")
        interval = f" [{rate_text(ci[0])}, {rate_text(ci[1])}]" if ci else ""
        parts.append(f"{name}{rate_text(r['rate'])}{interval} {r.get('unit', 'conn/s')} in {r['simulation_runs']} runs")
    text = "; ".join(parts)
    shown = reports[0].get("interval", "95% CI")
    return text + f" ({shown}, seed {reports[0]['seed']})" if len(text) < 120 else text[:117] + "..."


def _curve(ax: Any, report: Mapping[str, Any], color: str) -> None:
    """The secant the search used: logit(blocking) linear in log(rate) between the loads either side of the target."""
    target = float(report["target"])
    measured = [e for e in report["evaluations"] if e["blocking_probability"] is not None and e["runs"]]
    below = [(e["rate"], _corrected(e)) for e in measured if e["blocking_probability"] <= target]
    above = [(e["rate"], _corrected(e)) for e in measured if e["blocking_probability"] > target]
    if not below or not above:
        return
    (r0, b0), (r1, b1) = max(below), min(above)
    if r0 == r1 or b0 == b1:
        return
    slope = (_logit(b1) - _logit(b0)) / (math.log(r1) - math.log(r0))
    rates = np.geomspace(r0 / 1.05, r1 * 1.05, 50)
    logits = _logit(b0) + slope * (np.log(rates) - math.log(r0))
    ax.plot(rates, 1 / (1 + np.exp(-logits)), "-", color=color, linewidth=1.0, alpha=0.6)
