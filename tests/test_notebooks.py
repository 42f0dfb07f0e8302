"""The course: every notebook runs top to bottom and shows its plots, the student versions with their answers
blank (every check says "not yet"), the solutions with every check passing, and both versions are exactly what
``python -m sim.teach.build`` makes from ``notebooks/src``."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from sim.teach import outcomes
from sim.teach.build import GENERATED, Layout, differences
from tests.conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
STUDENT = sorted(NOTEBOOKS.glob("*.ipynb"))
SOLUTIONS = sorted((NOTEBOOKS / "solutions").glob("*.ipynb"))
COURSE = [
    "01-what-is-an-ephemeral-port",
    "02-how-the-os-picks-a-port",
    "03-time-wait-and-exhaustion",
    "04-predictability-and-security",
    "05-capacity-and-fixes",
    "06-clients-and-nat",
]


def run_notebook(notebook: nbformat.NotebookNode, path: Path) -> None:
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()


def execute(path: Path) -> nbformat.NotebookNode:
    """``path`` run top to bottom in a fresh kernel, in its own folder; it must raise no error and show a plot."""
    notebook = nbformat.read(path, as_version=4)
    try:
        run_notebook(notebook, path)
    except RuntimeError as exc:
        # the kernel process itself failed to come up (under parallel test workers, rarely): start it once more
        if "before replying to kernel_info" not in str(exc):
            raise
        notebook = nbformat.read(path, as_version=4)
        run_notebook(notebook, path)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert [o for o in outputs if "image/png" in o.get("data", {})], "the notebook should display its plots inline"
    return notebook


def test_the_course_has_each_notebook_in_both_versions() -> None:
    for name in COURSE:
        assert (NOTEBOOKS / f"{name}.ipynb") in STUDENT
        assert (NOTEBOOKS / "solutions" / f"{name}.ipynb") in SOLUTIONS
    assert [p.name for p in SOLUTIONS] == [p.name for p in STUDENT if GENERATED.fullmatch(p.name)]


def test_the_notebooks_are_generated_from_their_sources() -> None:
    assert differences(Layout(NOTEBOOKS)) == [], "run: python -m sim.teach.build"


@pytest.mark.parametrize("path", STUDENT, ids=lambda p: p.name)
def test_student_notebook_runs_with_blank_answers(path: Path) -> None:
    found = outcomes(execute(path))
    if GENERATED.fullmatch(path.name):
        assert len(found) >= 2, "each course notebook ends with exercises and their checks"
        assert [line for passed, line in found if passed] == [], "a blank answer must not pass its check"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solutions_pass_every_check(path: Path) -> None:
    found = outcomes(execute(path))
    assert len(found) >= 2
    assert [line for passed, line in found if not passed] == []
