"""The package's shape: no import cycles among sim modules, and layers that only import downward."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"
LAYERS = [
    "core",
    "stats",
    "clients",
    "nat",
    "config",
    "machine",
    "model",
    "report",
    "output",
    "experiments",
    "kernel",
    "teach",
    "cli",
]
"""Subpackages from the bottom up: each may import only itself and those before it."""


def module_name(path: Path) -> str:
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every sim module ``path`` imports, at any level of the file, type-checking imports included."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("sim"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if not target.startswith("sim"):
                continue
            found.add(target)
            for alias in node.names:  # "from . import plots" imports a module
                if (SIM.parent / Path(*f"{target}.{alias.name}".split("."))).with_suffix(".py").exists():
                    found.add(f"{target}.{alias.name}")
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in SIM.rglob("*.py")}
    return {name: {m for m in imports(path) if m in modules and m != name} for name, path in modules.items()}


def test_the_walker_sees_relative_and_lazy_imports() -> None:
    edges = graph()
    assert "sim.core.pool" in edges["sim.core.lifecycle"]  # from .pool import ...
    assert "sim.output.plots" in edges["sim.output.results"]  # a lazy import inside a method


def test_no_import_cycles() -> None:
    edges = graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_layers_import_only_downward() -> None:
    wrong = []
    for module, targets in graph().items():
        here = layer(module)
        if here is None:
            continue
        for target in targets:
            there = layer(target)
            if there is not None and there > here:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_every_module_is_in_a_layer_or_the_package_root() -> None:
    loose = sorted(module_name(p) for p in SIM.glob("*.py"))
    assert loose == ["sim", "sim.__main__", "sim.version"]


def test_the_entry_point_and_the_package_start_light() -> None:
    """Importing sim, or starting portsim, loads nothing heavy before a command needs it (so Ctrl-C is clean)."""
    code = (
        "import sys, sim, sim.cli.entry; "
        "print(sorted(m for m in ('numpy', 'simpy', 'matplotlib', 'pydantic', 'sim.model.model') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
