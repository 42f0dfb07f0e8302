"""The plot of remedies: capacity with each fix as a horizontal bar, the scenario's own load marked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure

from ..report.capacity import percent, rate_text
from .plots import DPI, PlotFigure

BAR = "#2b7bba"
AS_IS = "#777777"


def remedies_figure(data: Mapping[str, Any]) -> Figure:
    """Capacity (95% CI) at the target blocking, as it is and with each fix; fixes that do not apply are listed."""
    applied = [r for r in data["remedies"] if r["applies"]]
    skipped = [r for r in data["remedies"] if not r["applies"]]
    height = 1.6 + 0.45 * len(applied) + 0.22 * len(skipped)
    fig = PlotFigure(figsize=(10.5, height), dpi=DPI)
    bottom = (0.5 + 0.22 * len(skipped)) / height
    fig.subplots_adjust(left=0.2, right=0.7, top=1 - 0.95 / height, bottom=bottom)
    ax = fig.add_subplot()
    names = [r["name"] for r in applied][::-1]
    rates = [_rate(r) for r in applied][::-1]
    low = [_ci(r, 0) for r in applied][::-1]
    high = [_ci(r, 1) for r in applied][::-1]
    colors = [AS_IS if r["name"] == "as-is" else BAR for r in applied][::-1]
    errors = [
        [max(0.0, v - lo) for v, lo in zip(rates, low, strict=True)],
        [max(0.0, hi - v) for v, hi in zip(rates, high, strict=True)],
    ]
    bars = ax.barh(names, rates, color=colors, xerr=errors, capsize=3, height=0.6)
    for bar, r in zip(bars, applied[::-1], strict=True):
        if (r["capacity"] or {}).get("rate") is None:
            bar.set_hatch("//")  # a lower bound: the search stopped before blocking reached the target
            bar.set_alpha(0.6)
    load = float(data["load"])
    unit = data.get("unit", "conn/s")
    ax.axvline(load, color="#c0392b", linewidth=1.2, linestyle="--", label=f"current load {rate_text(load)} {unit}")
    top = max([*high, *rates, load]) or 1.0
    for y, r in enumerate(applied[::-1]):
        capacity = r["capacity"] or {}
        blocking = (r.get("blocking_at_load") or {}).get("mean")
        if capacity.get("rate") is not None:
            text = f"{rate_text(capacity['rate'])}"
        elif capacity.get("at_least") is not None:
            text = f"≥ {rate_text(capacity['at_least'])} (search stopped there)"
        else:
            text = "not found"
        if r.get("gain") is not None and r["name"] != "as-is" and capacity.get("rate") is not None:
            text += f"  ×{r['gain']:.2f}"
        if blocking is not None:
            text += f"; {percent(blocking)} blocked now"
        ax.annotate(
            text,
            (1.0, y),
            xycoords=("axes fraction", "data"),
            xytext=(6, 0),  # clear of the frame
            textcoords="offset points",
            va="center",
            fontsize=8,
            annotation_clip=False,
        )
    ax.set_xlim(0, top * 1.02)
    ax.set_xlabel(f"{unit} sustained at {percent(float(data['target']))} blocking", fontsize=9)
    ax.grid(True, axis="x", alpha=0.3)
    ax.text(
        load,
        1.0,
        f" current load {rate_text(load)} {unit}",
        transform=ax.get_xaxis_transform(),
        va="bottom",
        ha="left",
        fontsize=8,
        color="#c0392b",
    )
    fig.suptitle(f"Which fix buys the most: {data['scenario']}", fontsize=12, fontweight="bold")
    fig.text(
        0.5,
        1 - 0.62 / height,
        f"each fix on its own; bars: capacity with 95% CI (seed {data['seed']}); right: gain over as-is, blocking now",
        ha="center",
        fontsize=9,
        color="#555555",
    )
    for i, r in enumerate(skipped):
        fig.text(
            0.02,
            (0.1 + 0.22 * (len(skipped) - 1 - i)) / height,
            f"{r['name']}: does not apply ({r['reason']})",
            fontsize=8,
            color="#777777",
        )
    return fig


def _rate(remedy: Mapping[str, Any]) -> float:
    capacity = remedy.get("capacity") or {}
    return float(capacity.get("rate") or capacity.get("at_least") or 0.0)


def _ci(remedy: Mapping[str, Any], side: int) -> float:
    capacity = remedy.get("capacity") or {}
    interval = capacity.get("ci95")
    if interval:
        return float(interval[side])
    return _rate(remedy)
