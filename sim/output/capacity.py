"""A capacity search's files in a results folder: capacity.yaml, capacity.json and capacity.png."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..report.capacity import CapacityReport
from ..version import version
from .folders import ResultsError


def capacity_data(reports: list[CapacityReport]) -> dict[str, Any]:
    """capacity.json: one search, or one per variant under ``variants``."""
    if len(reports) == 1 and reports[0].variant is None:
        return reports[0].to_json()
    first = reports[0]
    return {
        "scenario": first.scenario,
        "target": first.target,
        "version": version(),
        "variants": {r.variant or r.scenario: r.to_json() for r in reports},
    }


def write_capacity(
    reports: list[CapacityReport], scenario_yaml: str, folder: Path, plots: bool, failed: list[str]
) -> None:
    """capacity.yaml and capacity.json, then capacity.png."""
    header = f"# Resolved scenario written by portsim {version()} for portsim capacity.\n"
    (folder / "capacity.yaml").write_text(header + scenario_yaml, encoding="utf-8")
    (folder / "capacity.json").write_text(json.dumps(capacity_data(reports), indent=2) + "\n", encoding="utf-8")
    if plots:
        try:
            from .capacity_plot import capacity_figure

            capacity_figure([r.to_json() for r in reports]).savefig(folder / "capacity.png")
        except Exception as exc:  # the data is written: a failed plot is reported in one line
            failed.append(f"capacity.png: {type(exc).__name__}: {exc}")


def load_capacity(folder: str | Path) -> dict[str, CapacityReport]:
    """The capacity searches of a results folder (capacity.json), by variant (or by scenario name)."""
    path = Path(folder) / "capacity.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if "variants" in data:
            return {name: CapacityReport.model_validate(entry) for name, entry in data["variants"].items()}
        report = CapacityReport.model_validate(data)
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: cannot read it ({' '.join(str(exc).split())[:200]})") from None
    return {report.scenario: report}
