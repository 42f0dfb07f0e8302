"""Exercise checks for the course notebooks: one line saying right or not yet, never an exception.

A check prints ``✓ right: <what>`` or ``✗ not yet: <what>: <why> (hint: <hint>)`` and returns a ``Verdict``,
true when it passed (a notebook shows nothing more for it: the line is there already). A student's missing
(``...``), wrong or oddly typed answer is a "not yet", never an error that stops the notebook; only a
mistake in the check itself (a negative tolerance, an empty range) raises. The printed lines are the record:
``outcomes(notebook)`` reads them back from an executed notebook, which is how the tests require every check
of the solutions to pass.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

import numpy as np

RIGHT = "✓ right: "
NOT_YET = "✗ not yet: "
MISSING = "no answer yet: replace the ... with yours"


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check: true when it passed; ``line`` is what it printed."""

    passed: bool
    line: str

    def __bool__(self) -> bool:
        return self.passed

    def _ipython_display_(self) -> None:
        """Nothing: the check printed its line already, so a check last in a cell is not shown twice."""


def check(answer: Any, expected: Any, *, what: str, hint: str = "", rel: float = 1e-9, abs: float = 0.0) -> Verdict:
    """Whether ``answer`` is ``expected``: numbers within ``rel`` (relative) or ``abs``, text ignoring case and
    surrounding spaces, sets as sets, sequences and mappings item by item, anything else by ``==``."""
    if rel < 0 or abs < 0:
        raise ValueError(f"tolerances must not be negative (rel={rel}, abs={abs})")
    return _report(_difference(answer, expected, rel, abs), what, hint)


def check_range(answer: Any, low: float, high: float, *, what: str, hint: str = "") -> Verdict:
    """Whether ``answer`` is a number in [``low``, ``high``]."""
    if not low <= high:
        raise ValueError(f"empty range [{low}, {high}]")
    problem = _number_problem(answer)
    if problem is None:
        value = float(answer)
        if value < low:
            problem = f"got {answer!r}, too low"
        elif value > high:
            problem = f"got {answer!r}, too high"
    return _report(problem, what, hint)


def check_that(answer: Any, condition: Callable[[Any], object], *, what: str, hint: str = "") -> Verdict:
    """Whether ``condition(answer)`` is true; a condition that raises on this answer is a "not yet"."""
    if answer is Ellipsis:
        return _report(MISSING, what, hint)
    try:
        problem = None if condition(answer) else f"{_shown(answer)} does not do it yet"
    except Exception as exc:  # a student's answer of the wrong kind must not stop the notebook
        problem = f"{_shown(answer)} could not be checked ({type(exc).__name__}: {exc})"
    return _report(problem, what, hint)


def outcomes(notebook: Mapping[str, Any]) -> list[tuple[bool, str]]:
    """The checks an executed notebook printed, in order: (passed, the rest of the line)."""
    found: list[tuple[bool, str]] = []
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if output.get("output_type") != "stream" or output.get("name") != "stdout":
                continue
            text = output.get("text", "")
            for line in ("".join(text) if isinstance(text, list) else text).splitlines():
                if line.startswith(RIGHT):
                    found.append((True, line.removeprefix(RIGHT)))
                elif line.startswith(NOT_YET):
                    found.append((False, line.removeprefix(NOT_YET)))
    return found


def _report(problem: str | None, what: str, hint: str) -> Verdict:
    line = f"{RIGHT}{what}" if problem is None else f"{NOT_YET}{what}: {problem}" + (f" (hint: {hint})" if hint else "")
    print(line)
    return Verdict(problem is None, line)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _number_problem(answer: Any) -> str | None:
    if answer is Ellipsis:
        return MISSING
    if not _is_number(answer):
        return f"expected a number, got {_shown(answer)} ({type(answer).__name__})"
    if math.isnan(float(answer)):
        return "got NaN (not a number)"
    return None


def _items(answer: Any) -> list[Any] | None:
    """A list or tuple's items, or a one-dimensional array's; None for anything else."""
    if isinstance(answer, np.ndarray) and answer.ndim == 1:
        return list(answer.tolist())
    if isinstance(answer, Sequence) and not isinstance(answer, str | bytes):
        return list(answer)
    return None


def _difference(answer: Any, expected: Any, rel: float, abs: float) -> str | None:
    """Why ``answer`` is not ``expected``, or None when it is."""
    if answer is Ellipsis:
        return MISSING
    if isinstance(expected, bool | np.bool_):
        if isinstance(answer, bool | np.bool_):
            return None if bool(answer) == bool(expected) else f"got {bool(answer)}"
        return f"expected True or False, got {_shown(answer)}"
    if _is_number(expected):
        problem = _number_problem(answer)
        if problem is not None:
            return problem
        if math.isclose(float(answer), float(expected), rel_tol=rel, abs_tol=abs):
            return None
        return f"got {answer!r}, too {'high' if float(answer) > float(expected) else 'low'}"
    if isinstance(expected, str):
        if not isinstance(answer, str):
            return f"expected text, got {_shown(answer)}"
        return None if answer.strip().lower() == expected.strip().lower() else f"got {answer!r}"
    if isinstance(expected, Set):
        if isinstance(answer, str | bytes) or not isinstance(answer, Set | Sequence):
            return f"expected a set, got {_shown(answer)}"
        got = set(answer)
        missing, extra = len(set(expected) - got), len(got - set(expected))
        if not missing and not extra:
            return None
        return ", ".join(
            p for p in (f"{missing} missing" if missing else "", f"{extra} too many" if extra else "") if p
        )
    if isinstance(expected, Mapping):
        if not isinstance(answer, Mapping):
            return f"expected a mapping, got {_shown(answer)}"
        if set(answer) != set(expected):
            return f"expected the keys {sorted(map(str, expected))}, got {sorted(map(str, answer))}"
        for key in expected:
            problem = _difference(answer[key], expected[key], rel, abs)
            if problem is not None:
                return f"[{key!r}]: {problem}"
        return None
    if isinstance(expected, Sequence):
        items = _items(answer)
        if items is None:
            return f"expected a list, got {_shown(answer)}"
        if len(items) != len(expected):
            return f"expected {len(expected)} items, got {len(items)}"
        for i, (got, want) in enumerate(zip(items, expected, strict=True)):
            problem = _difference(got, want, rel, abs)
            if problem is not None:
                return f"item {i}: {problem}"
        return None
    try:
        return None if bool(answer == expected) else f"got {_shown(answer)}"
    except Exception as exc:  # a student's answer of the wrong kind must not stop the notebook
        return f"{_shown(answer)} could not be compared ({type(exc).__name__})"
