"""The notebook generator: one source, a student version with blanks and a solutions version."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from sim.teach.build import Layout, SourceError, blank, code_for, differences, main, render, write

SOURCE = """# %% [markdown]
# # A lesson
#
# Some *text*.

# %% [markdown] tags=["student"]
# Answers: solutions/01-lesson.ipynb

# %% [markdown] tags=["solution"]
# These are the answers.

# %%
import math

# %%
value = 2 * 21

# %%
# BEGIN SOLUTION
answer = value + 1
first, (second, *rest) = 1, (2, 3)
total: int = 5
plots = []
plots.append(1)
# END SOLUTION
print("after")

# %% tags=["solution", "keep-me"]
print("only in the solutions")
"""


def cells(text: str) -> list[dict[str, object]]:
    """The cells of a notebook's text, each source joined back into one string."""
    found = list(json.loads(text)["cells"])
    return [{**c, "source": "".join(c["source"])} for c in found]


def test_the_solutions_keep_the_answer_without_markers() -> None:
    solved = cells(render(SOURCE, "solutions"))
    code = [c["source"] for c in solved if c["cell_type"] == "code"]
    assert code[2].split("\n") == [
        "answer = value + 1",
        "first, (second, *rest) = 1, (2, 3)",
        "total: int = 5",
        "plots = []",
        "plots.append(1)",
        'print("after")',
    ]
    assert code[3] == 'print("only in the solutions")'
    markdown = [c["source"] for c in solved if c["cell_type"] == "markdown"]
    assert markdown == ["# A lesson\n\nSome *text*.", "These are the answers."]


def test_the_student_version_blanks_each_assigned_name_and_drops_solution_cells() -> None:
    student = cells(render(SOURCE, "student"))
    code = [c["source"] for c in student if c["cell_type"] == "code"]
    assert code == [
        "import math",
        "value = 2 * 21",
        "answer = ...  # TODO\nfirst = ...  # TODO\nsecond = ...  # TODO\nrest = ...  # TODO\n"
        'total = ...  # TODO\nplots = ...  # TODO\nprint("after")',
    ]
    markdown = [c["source"] for c in student if c["cell_type"] == "markdown"]
    assert markdown == ["# A lesson\n\nSome *text*.", "Answers: solutions/01-lesson.ipynb"]


def test_other_tags_are_kept_and_the_version_tags_are_not() -> None:
    solved = cells(render(SOURCE, "solutions"))
    assert solved[-1]["metadata"] == {"tags": ["keep-me"]}
    assert all("student" not in json.dumps(c["metadata"]) for c in solved)


def test_a_function_becomes_its_signature_and_docstring_as_written() -> None:
    block = [
        "@cache",
        "def tier(",
        "    port: int, *, strict: bool = False",
        ") -> str:",
        '    """The tier of a port.',
        "",
        '    More."""',
        "    low = 1024",
        '    return "system" if port < low else "user"',
    ]
    assert blank(block, "here") == [*block[:7], "    return ...  # TODO"]
    assert blank(["def f(x):", "    return x"], "here") == ["def f(x):", "    return ...  # TODO"]


def test_a_block_that_assigns_nothing_becomes_a_todo_and_keeps_its_indent() -> None:
    assert blank(["plt.plot([1, 2])"], "here") == ["# TODO: your code here"]
    assert blank(["    x = 1", "    x += 1", "    obj.attr = 2"], "here") == ["    x = ...  # TODO"]


def test_the_generated_notebook_is_valid_has_no_outputs_and_is_the_same_every_time() -> None:
    text = render(SOURCE, "student")
    assert text == render(SOURCE, "student")
    notebook = nbformat.reads(text, as_version=4)
    nbformat.validate(notebook)
    assert [c.id for c in notebook.cells] == [f"cell-{i}" for i in range(len(notebook.cells))]
    assert all(not c.get("outputs") for c in notebook.cells)
    assert notebook.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("# %%\n# BEGIN SOLUTION\nx = 1\n", "has no # END SOLUTION"),
        ("# %%\nx = 1\n# END SOLUTION\n", "without # BEGIN SOLUTION"),
        ("# %%\n# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n", "inside another"),
        ("# %%\n# BEGIN SOLUTION\nx = (\n# END SOLUTION\n", "does not parse"),
        ("# %% [markdown]\n# # BEGIN SOLUTION\n", "belong in code cells"),
    ],
)
def test_malformed_sources_are_refused_with_the_cell(source: str, problem: str) -> None:
    with pytest.raises(SourceError, match=problem) as error:
        render(source, "student", "lesson.py")
    assert "lesson.py: cell 1" in str(error.value)


def test_code_for_leaves_cells_without_markers_alone() -> None:
    assert code_for("a = 1\nb = 2", "student", "here") == "a = 1\nb = 2"


def layout(tmp_path: Path) -> Layout:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "01-lesson.py").write_text(SOURCE, encoding="utf-8")
    return Layout(tmp_path)


def test_write_then_check_finds_nothing_and_a_hand_edit_is_found(tmp_path: Path) -> None:
    here = layout(tmp_path)
    student, solved = tmp_path / "01-lesson.ipynb", tmp_path / "solutions" / "01-lesson.ipynb"
    assert differences(here) == [f"{student}: missing", f"{solved}: missing"]
    assert write(here) == [student, solved]
    assert differences(here) == []
    assert write(here) == []
    solved.write_text(solved.read_text().replace("only in the solutions", "edited by hand"))
    assert differences(here) == [f"{solved}: differs from its source"]


def test_a_notebook_whose_source_is_gone_is_stale(tmp_path: Path) -> None:
    here = layout(tmp_path)
    write(here)
    (tmp_path / "02-gone.ipynb").write_text("{}")
    (tmp_path / "explore.ipynb").write_text("{}")  # not a generated name: left alone
    assert differences(here) == [f"{tmp_path / '02-gone.ipynb'}: no source in {tmp_path / 'src'}"]


def test_main_check_exit_codes_and_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layout(tmp_path)
    assert main(["--check", "--notebooks", str(tmp_path)]) == 1
    assert main(["--notebooks", str(tmp_path)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["--check", "--notebooks", str(tmp_path)]) == 0
    (tmp_path / "src" / "lesson.py").write_text("x = 1\n")
    assert main(["--notebooks", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("sim.teach.build: error: ")
    assert "NN-name.py" in err[0]
    assert main(["--notebooks", str(tmp_path / "nowhere")]) == 2
    assert "no notebook sources" in capsys.readouterr().err
