"""Trace workloads in a scenario: where their files are, and reading each file once to check it.

A relative ``file`` is relative to the scenario file's folder: ``load_scenario`` makes it absolute
(``absolute_files``) before anything else, so that a scenario revalidated from its data (variants,
sweeps, ``with_changes``, a results folder's scenario.yaml) names the same file wherever it is run
from. A path given any other way (``--set``, Python) is relative to the current folder. Validation
reads the whole file once (``checked_trace``) and keeps what it found in the spec; it reads it again
only when the file's size or modification time has changed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..core.arrivals import Trace
from ..core.spec import KeyedError
from ..core.trace import TraceError, scan, shown_path

FILE_KEY = ("arrivals", "file")
"""Where, under a workload, trace problems are reported."""


def _absolute(value: Any, folder: Path) -> Any:
    """``value`` made absolute against ``folder`` when it is a relative path (anything else as it is)."""
    if isinstance(value, str) and value and not os.path.isabs(value):
        return os.path.abspath(os.path.join(folder, value))
    return value


def _resolve_arrivals(arrivals: Any, folder: Path) -> None:
    if isinstance(arrivals, dict) and arrivals.get("kind") == "trace" and "file" in arrivals:
        arrivals["file"] = _absolute(arrivals["file"], folder)


def _resolve_assignments(assignments: Any, folder: Path) -> None:
    """Trace files in ``key.path: value`` assignments (a variant's ``set``, a ``sweep``), in place."""
    if not isinstance(assignments, dict):
        return
    for key, value in assignments.items():
        if not isinstance(key, str):
            continue
        if key.endswith("arrivals.file"):
            if isinstance(value, list):
                assignments[key] = [_absolute(v, folder) for v in value]
            else:
                assignments[key] = _absolute(value, folder)
        elif key.endswith("arrivals"):
            for each in value if isinstance(value, list) else [value]:
                _resolve_arrivals(each, folder)


def absolute_files(raw: Any, folder: Path) -> None:
    """Make every relative trace file of a scenario's data absolute against ``folder``, in place.

    Covers each workload's ``arrivals``, and ``arrivals.file`` or ``arrivals`` set by variants or swept.
    """
    if not isinstance(raw, dict):
        return
    workloads = raw.get("workloads")
    for workload in workloads if isinstance(workloads, list) else []:
        if isinstance(workload, dict):
            _resolve_arrivals(workload.get("arrivals"), folder)
    variants = raw.get("variants")
    for variant in variants if isinstance(variants, list) else []:
        if isinstance(variant, dict):
            _resolve_assignments(variant.get("set"), folder)
    _resolve_assignments(raw.get("sweep"), folder)


def checked_trace(spec: Trace, destinations: Iterable[str]) -> Trace:
    """``spec`` with an absolute file and what the file holds, checked against the workload's ``destinations``.

    The file is read (every row checked) unless ``spec.checked`` describes it already: the same file
    with the same size and modification time, or gone since it was checked (the run then says so). Raises
    KeyedError at ``arrivals.file`` naming the trace file and line.
    """
    path = os.path.abspath(spec.file)
    facts = spec.checked
    try:
        info = os.stat(path)
    except OSError:
        info = None
    if (
        facts is None
        or facts.file != path
        or (info is not None and (info.st_size, info.st_mtime_ns) != (facts.size, facts.mtime_ns))
    ):
        try:
            facts = scan(path)
        except TraceError as exc:
            raise KeyedError(FILE_KEY, str(exc)) from None
    known = set(destinations)
    for label, line in zip(facts.destinations, facts.destination_lines, strict=False):
        if label not in known:
            listed = ", ".join(sorted(known)[:3]) + (", …" if len(known) > 3 else "")
            raise KeyedError(
                FILE_KEY,
                f"{shown_path(path)}:{line}: destination {label} is not one of the workload's destinations ({listed})",
            )
    if path == spec.file and facts is spec.checked:
        return spec
    return spec.model_copy(update={"file": path, "checked": facts})
