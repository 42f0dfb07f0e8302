"""Sweeps: the ``sweep:`` key of a scenario and ``--over`` on the command line.

A sweep maps key paths (as for ``--set``) to the values each takes: a list, or a range
``{from: 100, to: 600, steps: 11}`` (``scale: log`` for log-spaced steps). The points are the
cartesian product of the keys' values, the first key varying slowest.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from ..core.spec import Spec
from .errors import ScenarioError, echo, shown
from .overrides import check_path
from .yamlio import read_yaml

MAX_STEPS = 10_000
MAX_KEYS = 3
"""Swept keys at most (with variants, a fourth dimension): one for the x axis, one per line, one per panel."""
LARGE_GRID = 10_000
"""Points above which the command line asks for ``--yes``."""
UNSWEPT = frozenset({"name", "seed", "replications", "variants", "variant_name", "sweep", "portsim_version"})
"""Top-level keys a sweep cannot vary (the seed and the replications are the run's own)."""


class Range(Spec):
    """Evenly spaced values from ``from`` to ``to`` (both included); ``scale: log`` spaces them by ratio."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True)

    start: Annotated[int | float, Field(alias="from", allow_inf_nan=False)]
    to: Annotated[int | float, Field(allow_inf_nan=False)]
    steps: Annotated[int, Field(ge=2, le=MAX_STEPS)]
    scale: Literal["linear", "log"] = "linear"

    @field_validator("start", "to", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number (got {echo(value)})")
        return value

    @property
    def integers(self) -> bool:
        """Whether both ends are integers: the values are then rounded to integers."""
        return isinstance(self.start, int) and isinstance(self.to, int)

    @model_validator(mode="after")
    def _spaced(self) -> Range:
        if self.start == self.to:
            raise ValueError(f"from and to are both {self.start:g}: give two different ends (or a list of one value)")
        if self.scale == "log" and (self.start <= 0 or self.to <= 0):
            raise ValueError("scale: log needs from and to above zero")
        distinct = len(self.values())
        if distinct < self.steps:
            raise ValueError(
                f"from and to are integers, and {self.steps} steps between them round to {distinct} distinct "
                f"integers: use steps: {distinct}, or write the ends as {float(self.start):g}.0 and "
                f"{float(self.to):g}.0 for fractional values"
            )
        return self

    def values(self) -> list[Any]:
        """The values, from ``from`` to ``to``; integers when both ends are (repeats after rounding removed)."""
        space = np.geomspace if self.scale == "log" else np.linspace
        values: list[float] = [float(v) for v in space(self.start, self.to, self.steps)]
        values[0], values[-1] = float(self.start), float(self.to)
        if self.integers:
            return list(dict.fromkeys(round(v) for v in values))
        return values


def _axis_kind(value: Any) -> str:
    return "range" if isinstance(value, Mapping | Range) else "list"


Axis = Annotated[
    Annotated[Range, Tag("range")] | Annotated[list[Any], Field(min_length=1, max_length=MAX_STEPS), Tag("list")],
    Discriminator(_axis_kind),
]
"""A swept key's values: a list, or a Range."""


def axis_values(axis: Axis) -> list[Any]:
    """The values one swept key takes."""
    return axis.values() if isinstance(axis, Range) else list(axis)


def check_key(key: str, label: str = "sweep") -> None:
    """Refuse key paths a sweep cannot vary."""
    check_path(key, label)
    if key.split(".")[0] in UNSWEPT:
        raise ScenarioError(f"{label} {shown(key)}: cannot be swept (use --seed and --replications for those)")


_RANGE = re.compile(
    r"\s*(?P<start>[-+]?[0-9.]+(?:[eE][-+]?\d+)?)\s*:\s*(?P<to>[-+]?[0-9.]+(?:[eE][-+]?\d+)?)\s*:\s*"
    r"(?P<steps>[0-9]+)\s*(?::\s*(?P<scale>[a-z]+)\s*)?"
)


def parse_over(text: str) -> tuple[str, Axis]:
    """``KEY=v1,v2,...`` or ``KEY=from:to:steps[:log]`` from the command line."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(f"--over {shown(text)}: expected KEY=v1,v2,... or KEY=from:to:steps")
    check_key(key, "--over")
    if not value.strip():
        raise ScenarioError(f"--over {key}: no values (expected KEY=v1,v2,... or KEY=from:to:steps)")
    match = _RANGE.fullmatch(value)
    if match:
        data: dict[str, Any] = {
            "from": _number(match["start"]),
            "to": _number(match["to"]),
            "steps": int(match["steps"]),
        }
        if match["scale"]:
            data["scale"] = match["scale"]
        try:
            return key, Range.model_validate(data)
        except ValueError as exc:
            raise ScenarioError(f"--over {key}={value}: {_first_problem(exc)}") from None
    items = _split(value)
    if len(items) > MAX_STEPS:
        raise ScenarioError(f"--over {key}: {len(items):,} values (at most {MAX_STEPS:,})")
    parsed = []
    for item in items:
        if not item.strip():
            raise ScenarioError(f"--over {key}={shown(value)}: an empty value in the list")
        try:
            parsed.append(read_yaml(item))
        except (yaml.YAMLError, ValueError, RecursionError):
            parsed.append(item.strip())
    return key, parsed


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _split(text: str) -> list[str]:
    """Split on commas outside brackets (``[1024, 65535],[32768, 60999]`` is two values)."""
    items, depth, current = [], 0, ""
    for char in text:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return items


def _first_problem(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "start") or ""
        message = str(first.get("msg", exc)).removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    return str(exc)


def grid_size(axes: Mapping[str, Axis]) -> int:
    """Points in the grid of ``axes``."""
    return math.prod(len(axis_values(a)) for a in axes.values())
