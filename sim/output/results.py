"""Run results: ``RunResult`` and its folder on disk.

A results folder holds ``scenario.yaml`` (resolved, with seed and version: enough to repeat the run),
``summary.json``, ``timeseries.csv``, ``histograms.json``, ``port_map.npz`` and ``plots/``. The data files are written
first and the plots after them: a plot that fails leaves the data in place (``PlotError``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..clients.recorder import CLIENT_SERIES
from ..config.errors import ScenarioError
from ..config.load import load_scenario
from ..model.recorder import GROUP_PREFIXES, GROUP_SERIES, OCCUPANCY_BINS, SERIES
from ..nat.translator import NAT_SERIES
from ..report.comparison import compare
from ..report.records import Summary
from ..report.run import RunReport
from .folders import ResultsError, run_owns, staged_folder
from .port_map import load_port_map, write_port_map

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .port_map_plot import PortMapAnimation

ROW_BYTES = 120
"""Bytes one time-series row takes in timeseries.csv, at most."""
GROUP_COLUMN_BYTES = 12
"""Bytes a host group's column (several groups) adds to a row, at most."""


class PlotError(RuntimeError):
    """A plot could not be drawn; the data files were written. The message is one line."""


class RunResult(RunReport):
    """A run's report, with its time series as a table, its plots and its folder on disk."""

    @property
    def timeseries(self) -> Any:
        """The time series: a pandas DataFrame when pandas is installed, else a dict of numpy arrays."""
        try:
            import pandas as pd
        except ImportError:
            return dict(self.series)
        return pd.DataFrame(self.series)

    def plot_occupancy(self) -> Figure:
        """Connections ESTABLISHED and in TIME_WAIT over time, with the pool size."""
        from . import plots

        return plots.occupancy(self)

    def plot_failures(self) -> Figure:
        """Failed allocations over time."""
        from . import plots

        return plots.failures(self)

    def plot_reuse_intervals(self) -> Figure:
        """Histogram of 4-tuple reuse intervals."""
        from . import plots

        return plots.reuse_intervals(self)

    def plot_latency(self) -> Figure:
        """Estimated connect() latency against the occupancy of the pool it drew from."""
        from . import plots

        return plots.latency(self)

    def plot_probes(self) -> Figure:
        """Distribution of ports examined per allocation."""
        from . import plots

        return plots.probes(self)

    def plot_nat(self) -> Figure:
        """The mappings each host holds on the translator over time (a run with ``nat``)."""
        from . import nat_plot

        return nat_plot.nat(self)

    def plot_port_map(self) -> Figure:
        """The pool as a map of ports at the first failure (at the end of a run without any)."""
        from . import port_map_plot

        return port_map_plot.still(self)

    def port_map(self) -> PortMapAnimation:
        """The pool as a map of ports, animated over the run: a GIF shown inline in Jupyter.

        The frames are recorded only when asked: ``sim.run(scenario, port_map=True)`` (or a ``PortMapSpec``).
        """
        from . import port_map_plot

        return port_map_plot.animated(self)

    @property
    def output_bytes(self) -> float:
        """Bytes its results folder needs, at most."""
        frames = 0 if self.port_map_data is None else self.port_map_data.frames.size
        return output_bytes(self.scenario, frames)

    def save(self, out: str | Path, plots: bool = True) -> Path:
        """Write the results folder atomically; returns its path. Raises PlotError after writing the data."""
        target = Path(out)
        failed: list[str] = []
        with staged_folder(target, needed=self.output_bytes, owns=run_owns) as tmp:
            write_into(self, tmp, plots, failed)
        _raise_plot_errors(target, failed)
        return target

    @classmethod
    def of(cls, report: RunReport) -> RunResult:
        """The result of a report."""
        if isinstance(report, RunResult):
            return report
        return cls(**{name: getattr(report, name) for name in report.__dataclass_fields__})


def output_bytes(scenario: Any, port_map_cells: int = 0) -> float:
    """Bytes the results folder of ``scenario`` needs, at most (time series, histograms, plots).

    ``port_map_cells``: frames x ports of a recorded port map (its file and its GIF take about as much).
    """
    from .folders import FOLDER_BYTES

    rows = float(scenario.duration / scenario.step + 2)
    groups = len(scenario.fleet) if len(scenario.fleet) > 1 else 0
    row = ROW_BYTES + GROUP_COLUMN_BYTES * len(GROUP_SERIES) * groups
    return float(FOLDER_BYTES + rows * row * scenario.replications + 2 * port_map_cells)


def write_into(result: RunReport, folder: Path, plots: bool, failed: list[str]) -> None:
    """Write the data files, then the plots (each plot that fails is added to ``failed``)."""
    write_files(result, folder)
    if plots:
        from .plots import save_all

        failed.extend(save_all(result, folder / "plots")[1])


def _raise_plot_errors(target: Path, failed: list[str]) -> None:
    if failed:
        raise PlotError(
            f"{target}: data written, but plot {failed[0]}"
            + (f" (and {len(failed) - 1} more)" if len(failed) > 1 else "")
        )


def write_files(result: RunReport, folder: Path) -> None:
    """Write scenario.yaml, summary.json, timeseries.csv, histograms.json and port_map.npz into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    header = (
        f"# Resolved scenario written by portsim {result.summary.version or '?'}: presets applied, with the\n"
        "# seed and replication count used. Running this file again repeats the run exactly.\n"
    )
    (folder / "scenario.yaml").write_text(header + result.scenario.to_yaml(), encoding="utf-8")
    (folder / "summary.json").write_text(json.dumps(result.summary.to_json(), indent=2) + "\n", encoding="utf-8")
    columns = [c for c in ("replication", *SERIES, *CLIENT_SERIES, *NAT_SERIES) if c in result.series]
    columns += [c for c in result.series if c.startswith(GROUP_PREFIXES)]
    with (folder / "timeseries.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        data = [result.series[c].tolist() for c in columns]
        writer.writerows(zip(*data, strict=True))
    nonzero = np.flatnonzero(result.reuse_counts)
    histograms = {
        "probes": {"counts": np.trim_zeros(result.probe_counts, "b").tolist()},
        "reuse_interval_s": {
            "edges": result.reuse_edges.tolist(),
            "bins": nonzero.tolist(),
            "counts": result.reuse_counts[nonzero].tolist(),
            "note": "bin b counts values in [edges[b-1], edges[b]); bin 0 is below edges[0]",
        },
        "occupancy": {
            "attempts": result.occupancy_attempts.tolist(),
            "probes": result.occupancy_probes.tolist(),
            "note": "index k: attempts made while k% of their pool was unusable, and the ports they examined",
        },
    }
    (folder / "histograms.json").write_text(json.dumps(histograms) + "\n", encoding="utf-8")
    if result.port_map_data is not None:
        write_port_map(result.port_map_data, folder)
    if result.nat_hosts is not None:
        np.savez_compressed(folder / "nat_hosts.npz", mappings=result.nat_hosts)


def load_comparison(folder: str | Path) -> dict[str, RunResult]:
    """Read a comparison folder (a scenario's variants, as ``portsim run`` writes them): results by variant."""
    folder = Path(folder)
    try:
        names = list(json.loads((folder / "comparison.json").read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{folder / 'comparison.json'}: cannot read it: {exc}") from None
    return {name: load_result(folder / name) for name in names}


def load_result(folder: str | Path) -> RunResult:
    """Read a results folder written by ``RunResult.save`` (or ``portsim run``)."""
    folder = Path(folder)
    if not (folder / "summary.json").is_file():
        if (folder / "comparison.json").is_file():
            raise ResultsError(
                f"{folder}: a comparison of variants: read it with load_comparison, or one variant's folder"
            )
        raise ResultsError(f"{folder}: not a portsim results folder (no summary.json)")
    current = folder / "scenario.yaml"
    try:
        scenario = load_scenario(current)
        current = folder / "summary.json"
        summary = Summary.model_validate(json.loads(current.read_text(encoding="utf-8")))
        current = folder / "timeseries.csv"
        with current.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        columns = rows[0]
        table = np.array(rows[1:], dtype=float).reshape(len(rows) - 1, len(columns))
        series = {c: table[:, i] if c == "time_s" else table[:, i].astype(np.int64) for i, c in enumerate(columns)}
        current = folder / "histograms.json"
        histograms = json.loads(current.read_text(encoding="utf-8"))
        edges = np.array(histograms["reuse_interval_s"]["edges"])
        reuse = np.zeros(edges.size + 1, dtype=np.int64)
        reuse[histograms["reuse_interval_s"]["bins"]] = histograms["reuse_interval_s"]["counts"]
        probes = np.array(histograms["probes"]["counts"], dtype=np.int64)
        occupancy = histograms.get("occupancy", {})
        empty = [0] * OCCUPANCY_BINS
        attempts, occupancy_probes = (np.array(occupancy.get(k, empty), dtype=np.int64) for k in ("attempts", "probes"))
        current = folder / "port_map.npz"
        port_map = load_port_map(folder)
        current = folder / "nat_hosts.npz"
        nat_hosts = None
        if current.is_file():
            with np.load(current) as data:
                nat_hosts = np.asarray(data["mappings"], dtype=np.int32)
        return RunResult(
            scenario,
            summary,
            series,
            probes,
            reuse,
            edges,
            attempts,
            occupancy_probes,
            port_map_data=port_map,
            nat_hosts=nat_hosts,
        )
    except (OSError, ValueError, KeyError, IndexError, ScenarioError) as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ResultsError(f"{current}: cannot read this results file: {problem}") from None


def write_comparison(results: Mapping[str, RunReport], folder: Path, plots: bool, failed: list[str]) -> None:
    """Write each variant's folder, comparison.json and comparison.png into ``folder``."""
    for name, result in results.items():
        write_files(result, folder / name)
    table = {name: row.model_dump(mode="json") for name, row in compare(results).items()}
    (folder / "comparison.json").write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
    if plots:
        from .plots import comparison, save_all

        for name, result in results.items():
            failed.extend(f"{name}/{plot}" for plot in save_all(result, folder / name / "plots")[1])
        try:
            comparison(results).savefig(folder / "comparison.png")
        except Exception as exc:  # a plot that fails must not lose the data written above
            failed.append(f"comparison.png: {type(exc).__name__}: {exc}")


def save_comparison(results: Mapping[str, RunReport], out: str | Path, plots: bool = True) -> Path:
    """Write each variant's results folder under ``out``, with comparison.json and comparison.png.

    Variant folders of an earlier run that this one does not write are kept.
    """
    target = Path(out)
    failed: list[str] = []
    needed = sum(output_bytes(r.scenario) for r in results.values())
    with staged_folder(target, allowed=results, needed=needed, keep=_variant_folders(target), owns=run_owns) as tmp:
        write_comparison(results, tmp, plots, failed)
    _raise_plot_errors(target, failed)
    return target


def _variant_folders(target: Path) -> list[str]:
    from .folders import is_results_folder

    if not target.is_dir():
        return []
    return [p.name for p in target.iterdir() if p.is_dir() and is_results_folder(p)]
