"""Remedies' files in a results folder: remedies.yaml, remedies.json and remedies.png."""

from __future__ import annotations

import json
from pathlib import Path

from ..report.remedies import RemediesReport
from ..version import version
from .folders import ResultsError


def write_remedies(report: RemediesReport, scenario_yaml: str, folder: Path, plots: bool, failed: list[str]) -> None:
    """remedies.yaml and remedies.json, then remedies.png."""
    header = f"# Resolved scenario written by portsim {version()} for portsim remedies.\n"
    (folder / "remedies.yaml").write_text(header + scenario_yaml, encoding="utf-8")
    data = report.to_json()
    (folder / "remedies.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    if plots:
        try:
            from .remedies_plot import remedies_figure

            remedies_figure(data).savefig(folder / "remedies.png")
        except Exception as exc:  # the data is written: a failed plot is reported in one line
            failed.append(f"remedies.png: {type(exc).__name__}: {exc}")


def load_remedies(folder: str | Path) -> RemediesReport:
    """The remedies of a results folder (remedies.json)."""
    path = Path(folder) / "remedies.json"
    try:
        return RemediesReport.model_validate_json(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: cannot read it ({' '.join(str(exc).split())[:200]})") from None
