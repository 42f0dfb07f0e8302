"""Run results: the ``RunResult`` object and its folder on disk.

A results folder holds ``scenario.yaml`` (resolved, with seed and version: enough to repeat the run),
``summary.json``, ``timeseries.csv``, ``histograms.json`` and ``plots/``. Folders are written
atomically: everything goes to a hidden sibling first, which then replaces the old folder in one
step, so an interrupted or failed run never leaves a half-written folder behind.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import ctypes.util
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .scenario import Scenario, load_scenario
from .stats import Recorder

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SERIES_COLUMNS = Recorder.SERIES
WRITTEN = frozenset(
    {
        "scenario.yaml",
        "summary.json",
        "timeseries.csv",
        "histograms.json",
        "plots",
        "validation.json",
        "validation.png",
        "comparison.json",
        "comparison.png",
    }
)
"""Entries portsim writes in a results folder; a folder holding anything else is never replaced."""


class ResultsError(ValueError):
    """A results folder that cannot be written or read; the message is one line for the user."""


@dataclass(repr=False)
class RunResult:
    """What a run (or a set of replications) produced.

    Attributes:
        scenario: the resolved scenario, with the seed and replication count actually used.
        summary: the figures of summary.json (see the README, "Outputs").
        series: fixed-step time series as numpy arrays keyed by column name; with several
            replications, rows of every replication one after the other and a ``replication`` column.
        probe_counts: ``probe_counts[k]`` = allocations that examined exactly k ports.
        reuse_counts, reuse_edges: histogram of reuse intervals in seconds (log bins; the first
            count is for values below ``reuse_edges[0]``, the last for values at or above ``reuse_edges[-1]``).
        occupancy_attempts, occupancy_probes: attempts made, and ports they examined in all, when the
            pool they drew from was k% unusable (k = 0..100).
    """

    scenario: Scenario
    summary: dict[str, Any]
    series: dict[str, np.ndarray]
    probe_counts: np.ndarray
    reuse_counts: np.ndarray
    reuse_edges: np.ndarray
    occupancy_attempts: np.ndarray = field(default_factory=lambda: np.zeros(101, dtype=np.int64))
    occupancy_probes: np.ndarray = field(default_factory=lambda: np.zeros(101, dtype=np.int64))
    replications: list[dict[str, Any]] = field(default_factory=list)

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"RunResult(scenario={self.scenario.name!r}, seed={self.scenario.seed}, "
            f"replications={self.scenario.replications}, attempts={s['attempts']}, failures={s['failures']}, "
            f"blocking_probability={s['blocking_probability']})"
        )

    @property
    def timeseries(self) -> Any:
        """The time series: a pandas DataFrame when pandas is installed, else a dict of numpy arrays."""
        try:
            import pandas as pd
        except ImportError:
            return dict(self.series)
        return pd.DataFrame(self.series)

    @property
    def pool_size(self) -> int:
        """Ports automatic selection may use, over all source addresses."""
        return int(self.summary["pool"]["total_ports"])

    # plots: thin wrappers so that Jupyter users find them on the result
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

    def save(self, out: str | Path, plots: bool = True) -> Path:
        """Write the results folder atomically; returns its path."""
        target = Path(out)
        with atomic_directory(target) as tmp:
            write_files(self, tmp)
            if plots:
                from . import plots as plotting

                plotting.save_all(self, tmp / "plots")
        return target


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _clean(value: Any) -> Any:
    """Replace NaN and infinities (not valid JSON) by null."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_files(result: RunResult, folder: Path) -> None:
    """Write scenario.yaml, summary.json, timeseries.csv and histograms.json into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    header = (
        f"# Resolved scenario written by portsim {result.summary.get('version', '?')}: presets applied, with the\n"
        "# seed and replication count used. Running this file again repeats the run exactly.\n"
    )
    (folder / "scenario.yaml").write_text(header + result.scenario.to_yaml(), encoding="utf-8")
    summary = dict(result.summary)
    if result.replications:
        summary["per_replication"] = result.replications
    (folder / "summary.json").write_text(
        json.dumps(_clean(summary), indent=2, default=_json_default) + "\n", encoding="utf-8"
    )
    columns = [c for c in ("replication", *SERIES_COLUMNS) if c in result.series]
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


def load_result(folder: str | Path) -> RunResult:
    """Read a results folder written by ``RunResult.save`` (or ``portsim run``)."""
    folder = Path(folder)
    if not (folder / "summary.json").is_file():
        raise ResultsError(f"{folder}: not a portsim results folder (no summary.json)")
    current = folder / "scenario.yaml"
    try:
        scenario = load_scenario(current)
        current = folder / "summary.json"
        summary = json.loads(current.read_text(encoding="utf-8"))
        replications = summary.pop("per_replication", [])
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
        return RunResult(
            scenario,
            summary,
            series,
            probes,
            reuse,
            edges,
            np.array(occupancy.get("attempts", [0] * 101), dtype=np.int64),
            np.array(occupancy.get("probes", [0] * 101), dtype=np.int64),
            replications,
        )
    except (OSError, ValueError, KeyError, IndexError) as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ResultsError(f"{current}: cannot read this results file: {problem}") from None


def check_replaceable(target: Path, allowed: Iterable[str] = ()) -> None:
    """Raise ResultsError unless ``target`` can become a results folder without losing anything.

    ``allowed``: entry names besides those portsim always writes (e.g. the variant folders).
    """
    known = WRITTEN | set(allowed)
    if str(target) == "":
        raise ResultsError("the results folder path is empty")
    for parent in [target, *target.parents]:
        if parent.exists() or parent.is_symlink():
            if parent != target and not parent.is_dir():
                raise ResultsError(f"{target}: {parent} is a file, not a folder")
            break
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise ResultsError(f"{target}: exists and is not a folder")
    if target.is_dir():
        foreign = sorted(p.name for p in target.iterdir() if p.name not in known)
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise ResultsError(
                f"{target}: holds files portsim did not write ({shown}); not replacing it (choose another folder)"
            )


# --------------------------------------------------------------------------- atomic folders

_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(done == 0)


@contextlib.contextmanager
def atomic_directory(target: Path, allowed: Iterable[str] = ()) -> Iterator[Path]:
    """Yield an empty temporary folder that replaces ``target`` only if the block completes."""
    target = Path(target)
    check_replaceable(target, allowed)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    tmp.chmod(0o755)
    try:
        yield tmp
        if target.is_dir() and not target.is_symlink():
            if _exchange(tmp, target):
                shutil.rmtree(tmp)
                return
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.rename(target, old / target.name)
            os.rename(tmp, target)
            shutil.rmtree(old)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_comparison(results: Mapping[str, RunResult], out: str | Path, plots: bool = True) -> Path:
    """Write each variant's results folder under ``out``, with comparison.json and comparison.png."""
    from .experiment import compare_summaries

    target = Path(out)
    with atomic_directory(target, allowed=results) as tmp:
        for name, result in results.items():
            write_files(result, tmp / name)
            if plots:
                from . import plots as plotting

                plotting.save_all(result, tmp / name / "plots")
        table = compare_summaries(results)
        (tmp / "comparison.json").write_text(json.dumps(_clean(table), indent=2) + "\n", encoding="utf-8")
        if plots:
            from .plots import comparison

            comparison(results).savefig(tmp / "comparison.png")
    return target
