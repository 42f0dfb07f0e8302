"""The plot of a sweep: blocking probability against the first swept key, from sweep.json's points."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, PercentFormatter

from .plots import DPI, PlotFigure

PALETTE = ("#2b7bba", "#e07b28", "#2ca25f", "#c0392b", "#7b4fa0", "#8c6d31", "#e377c2", "#555555")
MAX_LINES = 12
"""Lines per panel at most (more values of the second key are thinned evenly)."""
MAX_PANELS = 12
LEGEND_WIDTH = 26
"""Characters per line of the legend's title (a long key wraps rather than running off the figure)."""


def axis_label(key: str) -> str:
    """A key path with its unit."""
    last = key.rsplit(".", 1)[-1]
    if last in {"rate", "on_rate", "off_rate"}:
        return f"{key} (requests/s)" if ".requests." in key else f"{key} (connections/s)"
    if last in {"time_wait", "mean", "value", "duration", "warmup", "fin_timeout", "on", "off", "start", "stop"}:
        return f"{key} (s)"
    return key


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _thin(values: list[Any], most: int) -> list[Any]:
    if len(values) <= most:
        return values
    step = (len(values) - 1) / (most - 1)
    return [values[round(i * step)] for i in range(most)]


def sweep_figure(data: Mapping[str, Any]) -> Figure:
    """Blocking probability (mean, 95% CI band) against the first swept dimension; a line per value of the
    second, a panel per value of the third; Erlang B dashed where it applies."""
    points: list[dict[str, Any]] = list(data["points"])
    dims: list[str] = list(data["keys"]) + (["variant"] if data.get("variants") else [])
    x_key = dims[0]
    line_key = dims[1] if len(dims) > 1 else None
    panel_key = dims[2] if len(dims) > 2 else None
    panels = _thin(list(dict.fromkeys(p["values"][panel_key] for p in points)), MAX_PANELS) if panel_key else [None]
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    height = 3.6 * rows + 1.3
    fig = PlotFigure(figsize=(max(8.5, 4.6 * columns + (2.4 if line_key else 0.8)), height), dpi=DPI)
    fig.subplots_adjust(
        left=0.09 if columns > 1 else 0.11,
        right=0.78 if line_key else 0.96,
        top=1 - 1.0 / height,
        bottom=0.75 / height,
        wspace=0.28,
        hspace=0.45,
    )
    x_values = list(dict.fromkeys(p["values"][x_key] for p in points))
    numeric = _numeric(x_values)
    lines = _thin(list(dict.fromkeys(p["values"][line_key] for p in points)), MAX_LINES) if line_key else [None]
    axes: list[Axes] = []
    requests = _has_requests(points)
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(rows, columns, i + 1, sharey=axes[0] if axes else None)
        axes.append(ax)
        for j, line in enumerate(lines):
            chosen = [
                p
                for p in points
                if (panel_key is None or p["values"][panel_key] == panel)
                and (line_key is None or p["values"][line_key] == line)
            ]
            _draw_line(ax, chosen, x_key, x_values, numeric, PALETTE[j % len(PALETTE)], line_key, line, i == 0)
        if panel_key is not None:
            ax.set_title(f"{panel_key} = {panel}", fontsize=9)
        ax.set_xlabel(axis_label(x_key), fontsize=9)
        ax.set_ylabel("blocking, requests failed" if requests else "blocking probability", fontsize=9)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        if not numeric:
            ax.set_xticks(range(len(x_values)), [str(v) for v in x_values], rotation=20, fontsize=8)
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in x_values):  # counts: no 1.5 hosts
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    reps = max((p["replications"] for p in points), default=1)
    spread = f"mean of {reps} replications, band: 95% CI" if reps > 1 else "one replication each (no CI)"
    fig.suptitle(f"Blocking against {x_key}: {data['scenario']}", fontsize=12, fontweight="bold")
    fig.text(
        0.5,
        1 - 0.62 / height,
        f"{len(points)} points, {spread}; dashed: Erlang B where it applies"
        + ("; dotted: requests failed for good" if requests else "")
        + f"; seed {data.get('seed')}",
        ha="center",
        fontsize=9,
        color="#555555",
    )
    handles, labels = axes[0].get_legend_handles_labels()
    if any(line.get_linestyle() == "--" for ax in axes for line in ax.get_lines()) and "Erlang B" not in labels:
        handles.append(Line2D([], [], color="#555555", linestyle="--", linewidth=1.0))
        labels.append("Erlang B")
    if any(line.get_linestyle() == ":" for ax in axes for line in ax.get_lines()):
        handles.append(Line2D([], [], color="#555555", linestyle=":", linewidth=1.5))
        labels.append("requests failed")
    if line_key is not None:
        fig.legend(
            handles,
            labels,
            title=textwrap.fill(axis_label(line_key), LEGEND_WIDTH, break_on_hyphens=False),
            fontsize=8,
            title_fontsize=8,
            loc="upper left",
            bbox_to_anchor=(0.79, 1 - 1.0 / height),
            frameon=False,
        )
    else:
        axes[0].legend(handles, labels, fontsize=8, loc="upper left", frameon=False)
    return fig


def _draw_line(
    ax: Axes,
    chosen: list[dict[str, Any]],
    x_key: str,
    x_values: list[Any],
    numeric: bool,
    color: str,
    line_key: str | None,
    line: Any,
    label: bool,
) -> None:
    chosen = sorted(chosen, key=lambda p: x_values.index(p["values"][x_key]))
    xs = [p["values"][x_key] if numeric else x_values.index(p["values"][x_key]) for p in chosen]
    mean = [_value(p["mean"]["blocking_probability"]) for p in chosen]
    ci = [p["ci95"]["blocking_probability"] for p in chosen]
    name = "simulated" if line_key is None else str(line)
    ax.plot(xs, mean, "o-", color=color, markersize=3.5, linewidth=1.5, label=name if label else None)
    if any(c is not None for c in ci):
        low = [c[0] if c is not None else m for c, m in zip(ci, mean, strict=True)]
        high = [c[1] if c is not None else m for c, m in zip(ci, mean, strict=True)]
        ax.fill_between(xs, low, high, color=color, alpha=0.18, linewidth=0)
    erlang = [_value(p["mean"]["erlang_b"]) for p in chosen]
    if any(math.isfinite(e) for e in erlang):
        ax.plot(xs, erlang, "--", color=color, linewidth=1.0, alpha=0.9)
    failed = [_value(p["mean"].get("request_failure_probability")) for p in chosen]
    if any(math.isfinite(f) for f in failed):
        ax.plot(xs, failed, ":", color=color, linewidth=1.5)


def _has_requests(points: Sequence[Mapping[str, Any]]) -> bool:
    return any(math.isfinite(_value(p["mean"].get("request_failure_probability"))) for p in points)


def _value(value: Any) -> float:
    return math.nan if value is None else float(value)
