"""A sweep's files in a results folder: sweep.yaml, sweep.csv, sweep.json and sweep.png (and the task cache)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.scenario import Scenario
from ..report.table import LEVEL, point_summaries
from ..version import version
from .folders import ResultsError

if TYPE_CHECKING:
    import pandas as pd


def sweep_data(frame: pd.DataFrame, base: Scenario, keys: list[str]) -> dict[str, Any]:
    """The content of sweep.json: what was swept and, per point, each figure's mean and 95% interval."""
    frame.attrs["keys"] = keys
    return {
        "scenario": base.name,
        "seed": base.seed,
        "replications": base.replications,
        "version": version(),
        "keys": keys,
        "variants": "variant" in frame.columns,
        "confidence_level": LEVEL,
        "points": point_summaries(frame),
    }


def write_sweep(
    frame: pd.DataFrame, base: Scenario, keys: list[str], folder: Path, plots: bool, failed: list[str]
) -> None:
    """Write sweep.yaml, sweep.csv and sweep.json, then sweep.png (a failed plot is added to ``failed``)."""
    folder.mkdir(parents=True, exist_ok=True)
    header = f"# Resolved sweep written by portsim {version()}: portsim sweep on this file repeats it.\n"
    (folder / "sweep.yaml").write_text(header + base.to_yaml(), encoding="utf-8")
    frame.to_csv(folder / "sweep.csv", index=False)
    data = sweep_data(frame, base, keys)
    (folder / "sweep.json").write_text(json.dumps(_finite(data), indent=2) + "\n", encoding="utf-8")
    if plots:
        try:
            from .sweep_plot import sweep_figure

            sweep_figure(_finite(data)).savefig(folder / "sweep.png")
        except Exception as exc:  # the data is written: a failed plot is reported in one line
            failed.append(f"sweep.png: {type(exc).__name__}: {exc}")


def load_sweep(folder: str | Path) -> pd.DataFrame:
    """The table of a sweep's results folder (sweep.csv), with the swept keys in ``frame.attrs["keys"]``."""
    import pandas as pd

    path = Path(folder)
    try:
        data = json.loads((path / "sweep.json").read_text(encoding="utf-8"))
        frame = pd.read_csv(path / "sweep.csv")
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: not a sweep's results folder ({exc})") from None
    frame.attrs["keys"] = list(data.get("keys", []))
    return frame


def load_sweep_points(folder: str | Path) -> dict[str, Any]:
    """sweep.json of a sweep's results folder."""
    path = Path(folder) / "sweep.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: cannot read it ({exc})") from None
    return data


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
