"""Loading a scenario file: bounded YAML, ``--set`` overrides, validation, in that order."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .errors import ScenarioError
from .overrides import KeyPath, parse_assignment, set_path
from .scenario import Scenario, validate
from .trace import absolute_files
from .yamlio import parse, read_text


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read, override and validate a scenario file."""
    source = str(path)
    raw, lines = parse(read_text(path, source), source)
    absolute_files(raw, Path(os.path.abspath(path)).parent)
    overridden: dict[KeyPath, str] = {}
    if isinstance(raw, dict):
        for assignment in overrides:
            key, value = parse_assignment(assignment)
            overridden[set_path(raw, key, value)] = f"--set {assignment}"
    elif raw is not None and not isinstance(raw, dict):
        raise ScenarioError(f"{source}:1: the file must be a YAML mapping of keys (name, duration, host, workloads)")
    return validate(raw, source, lines, overridden)
