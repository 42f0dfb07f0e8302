"""The course notebooks, generated from one source each: ``notebooks/src/NN-name.py`` (jupytext percent
format) becomes ``notebooks/NN-name.ipynb``, exercise answers left blank, and
``notebooks/solutions/NN-name.ipynb``, answers filled in::

    python -m sim.teach.build            # write both versions of every source
    python -m sim.teach.build --check    # exit 1 naming each notebook that is not what its source gives

In a source, an exercise's answer is a block of a code cell between a line ``# BEGIN SOLUTION`` and a line
``# END SOLUTION``. The solutions keep the block. The student version has instead, for each name the block
assigns, ``name = ...  # TODO``, for each function it defines its signature and docstring with
``return ...  # TODO``, and ``# TODO: your code here`` where it does neither, so the check cell below it
still runs and says "not yet". A cell tagged ``solution`` is only in the solutions, one tagged ``student``
only in the student version. Generated notebooks have no outputs, fixed cell ids and fixed metadata, so
the same sources always give the same files (needs ``jupytext``, in the ``dev`` and ``notebook`` extras).
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Version = Literal["student", "solutions"]
VERSIONS: tuple[Version, ...] = ("student", "solutions")
BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
ONLY = {"student": "solution", "solutions": "student"}
"""The tag of the cells each version leaves out."""
GENERATED = re.compile(r"\d\d-.+\.ipynb")
"""Names of generated notebooks: a notebook by such a name with no source is stale."""
METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


class SourceError(ValueError):
    """A notebook source that cannot be generated (file and line in the message)."""


@dataclass(frozen=True)
class Layout:
    """Where the sources and the two versions live."""

    notebooks: Path

    @property
    def sources(self) -> Path:
        """The folder of the ``NN-name.py`` sources."""
        return self.notebooks / "src"

    def target(self, source: Path, version: Version) -> Path:
        """The notebook ``version`` of ``source`` is written to."""
        folder = self.notebooks if version == "student" else self.notebooks / "solutions"
        return folder / f"{source.stem}.ipynb"


def _names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [name for element in target.elts for name in _names(element)]
    if isinstance(target, ast.Starred):
        return _names(target.value)
    return []


def blank(block: list[str], where: str) -> list[str]:
    """The student's lines for a solution block: each assigned name and defined function left to fill in."""
    indent = min((len(line) - len(line.lstrip()) for line in block if line.strip()), default=0)
    code = textwrap.dedent("\n".join(block))
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise SourceError(f"{where}: the solution does not parse: {exc.msg} (its line {exc.lineno})") from None
    source = code.split("\n")
    lines: list[str] = []
    seen: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            first = node.body[0]
            documented = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            end = (first.end_lineno or first.lineno) if documented else first.lineno - 1
            lines.extend(source[start - 1 : end])  # decorators, signature and docstring as written
            lines.append(" " * first.col_offset + "return ...  # TODO")
            continue
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign | ast.AugAssign)
            else []
        )
        for name in (n for t in targets for n in _names(t)):
            if name not in seen:
                seen.add(name)
                lines.append(f"{name} = ...  # TODO")
    return textwrap.indent("\n".join(lines or ["# TODO: your code here"]), " " * indent).split("\n")


def code_for(source: str, version: Version, where: str) -> str:
    """A code cell's source in ``version``: solution blocks kept (without markers) or blanked."""
    out: list[str] = []
    block: list[str] | None = None
    start = 0
    for number, line in enumerate(source.split("\n"), 1):
        marker = line.strip()
        if marker == BEGIN:
            if block is not None:
                raise SourceError(f"{where}: {BEGIN} inside another solution block (its line {number})")
            block, start = [], number
        elif marker == END:
            if block is None:
                raise SourceError(f"{where}: {END} without {BEGIN} (its line {number})")
            out.extend(block if version == "solutions" else blank(block, f"{where} (solution at its line {start})"))
            block = None
        elif block is not None:
            block.append(line)
        else:
            out.append(line)
    if block is not None:
        raise SourceError(f"{where}: {BEGIN} at its line {start} has no {END}")
    return "\n".join(out)


def render(text: str, version: Version, name: str = "<source>") -> str:
    """The ``.ipynb`` text of ``version`` of a percent-format source."""
    import jupytext
    import nbformat

    parsed = jupytext.reads(text, fmt="py:percent")
    cells: list[Any] = []
    for index, cell in enumerate(parsed.cells):
        tags = list(cell.metadata.get("tags", []))
        if ONLY[version] in tags:
            continue
        kept = [t for t in tags if t not in ("student", "solution")]
        metadata = {"tags": kept} if kept else {}
        where = f"{name}: cell {index + 1}"
        if cell.cell_type == "code":
            source = code_for(cell.source, version, where)
            cells.append(nbformat.v4.new_code_cell(source, metadata=metadata, id=f"cell-{len(cells)}"))
        elif cell.cell_type == "markdown":
            if BEGIN in cell.source:
                raise SourceError(f"{where}: solution markers belong in code cells (tag a markdown cell 'solution')")
            cells.append(nbformat.v4.new_markdown_cell(cell.source, metadata=metadata, id=f"cell-{len(cells)}"))
        else:
            cells.append(nbformat.v4.new_raw_cell(cell.source, metadata=metadata, id=f"cell-{len(cells)}"))
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=METADATA)
    nbformat.validate(notebook)
    return str(nbformat.writes(notebook)) + "\n"


def expected(layout: Layout) -> dict[Path, str]:
    """Every generated notebook and its text, from the sources."""
    sources = sorted(layout.sources.glob("*.py"))
    if not sources:
        raise SourceError(f"{layout.sources}: no notebook sources (NN-name.py)")
    files: dict[Path, str] = {}
    for source in sources:
        if not GENERATED.fullmatch(f"{source.stem}.ipynb"):
            raise SourceError(f"{source}: a source's name must be NN-name.py (two digits, a dash, a name)")
        text = source.read_text(encoding="utf-8")
        for version in VERSIONS:
            files[layout.target(source, version)] = render(text, version, str(source))
    return files


def stale(layout: Layout, files: dict[Path, str]) -> list[Path]:
    """Generated-looking notebooks that no source gives any more."""
    present = [*layout.notebooks.glob("*.ipynb"), *(layout.notebooks / "solutions").glob("*.ipynb")]
    return sorted(p for p in present if GENERATED.fullmatch(p.name) and p not in files)


def differences(layout: Layout) -> list[str]:
    """What is not as the sources give it: each notebook that differs, is missing, or has no source."""
    files = expected(layout)
    found = [
        f"{path}: {'missing' if not path.exists() else 'differs from its source'}"
        for path, text in files.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    return found + [f"{path}: no source in {layout.sources}" for path in stale(layout, files)]


def write(layout: Layout) -> list[Path]:
    """Write every generated notebook whose text changed; the paths written."""
    written = []
    for path, text in expected(layout).items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sim.teach.build [--check] [--notebooks DIR]``."""
    parser = argparse.ArgumentParser(
        prog="python -m sim.teach.build", description="Generate the course notebooks from notebooks/src."
    )
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook is out of date")
    parser.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="the notebooks folder")
    args = parser.parse_args(argv)
    layout = Layout(args.notebooks)
    try:
        if args.check:
            found = differences(layout)
            for line in found:
                print(line)
            if found:
                print("run: python -m sim.teach.build", file=sys.stderr)
            return 1 if found else 0
        for path in write(layout):
            print(f"wrote {path}")
        for path in stale(layout, expected(layout)):
            print(f"{path}: no source in {layout.sources} (remove it, or add its source)")
    except (ValueError, OSError) as exc:  # SourceError, an unreadable or undecodable file
        print(f"sim.teach.build: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
