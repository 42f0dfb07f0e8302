"""The shipped scenario files, found from wherever a notebook runs (``notebooks/`` or ``notebooks/solutions/``)."""

from __future__ import annotations

from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent.parent
"""The source checkout this package was installed from (editable installs), where ``scenarios/`` lives."""


def scenario(name: str, start: Path | None = None) -> Path:
    """The path of ``scenarios/<name>.yaml``: the first found in ``start`` (the current folder) or a folder
    above it, else in the checkout portsim runs from."""
    file = name if name.endswith((".yaml", ".yml")) else f"{name}.yaml"
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents, CHECKOUT):
        candidate = folder / "scenarios" / file
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"scenarios/{file}: not found in {here}, the folders above it, or {CHECKOUT}")
