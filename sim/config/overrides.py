"""``key.path=value`` overrides: ``--set`` on the command line, a variant's ``set`` in the file."""

from __future__ import annotations

import re
from typing import Any

import yaml

from .errors import ScenarioError, echo, format_path, shown
from .yamlio import read_yaml

KeyPath = tuple[str | int, ...]

NAMED_MAPPINGS = frozenset({"pool"})
"""Keys whose value may be a preset's name standing for ``{preset: name}``."""


def parse_assignment(text: str, label: str = "--set") -> tuple[str, Any]:
    """Split ``key.path=value``; the value is read as YAML (``300``, ``true``, ``[1, 2]``, ``linux``)."""
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise ScenarioError(f"{label} {shown(text)}: expected key.path=value")
    check_path(path.strip(), label)
    try:
        parsed = read_yaml(value) if value.strip() else ""
    except (yaml.YAMLError, ValueError, RecursionError):
        parsed = value
    return path.strip(), parsed


def check_path(path: str, label: str = "--set") -> None:
    """Refuse key paths with empty parts (``host..time_wait``)."""
    if any(not part.strip() for part in path.split(".")):
        raise ScenarioError(f"{label} {shown(path)}: empty key in the key path")


def _assignment(path: str, value: Any) -> str:
    """``path=value`` as the user would have typed it (a text value unquoted)."""
    return f"{shown(path)}={shown(value) if isinstance(value, str) else echo(value)}"


def set_path(raw: dict[str, Any], path: str, value: Any, label: str = "--set") -> KeyPath:
    """Set ``raw[a][b]...`` for ``path = "a.b..."``; list items by index or by their ``name``.

    Returns the key path that was set, with list items as indices. ``label`` names the override in errors.
    """
    check_path(path, label)
    parts = path.split(".")
    node: Any = raw
    resolved: list[str | int] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        if isinstance(node, list):
            taken = _dotted_name(node, parts, i)  # a name with dots in it (``web.eu``) spans several parts
            if taken > 1:
                part = ".".join(parts[i : i + taken])
                i += taken - 1
            last = i == len(parts) - 1
            index = _list_index(node, part)
            if index is None:
                where = format_path([*resolved, part])
                raise ScenarioError(
                    f"{label} {_assignment(path, value)}: {where}: no list item {echo(part)} (use an index or a name)"
                )
            index %= len(node)
            resolved.append(index)
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            last = i == len(parts) - 1
            resolved.append(part)
            if last:
                node[part] = value
            else:
                if node.get(part) is None:
                    node[part] = {}
                elif part in NAMED_MAPPINGS and isinstance(node[part], str):
                    # ``pool: go`` is short for ``pool: {preset: go}``: a key below it overrides that preset
                    node[part] = {"preset": node[part]}
                node = node[part]
        else:
            raise ScenarioError(
                f"{label} {_assignment(path, value)}: {format_path(resolved)} is a value, not a mapping or list"
            )
        i += 1
    return tuple(resolved)


def _dotted_name(items: list[Any], parts: list[str], i: int) -> int:
    """How many parts from ``parts[i]`` on make the longest name of an item in ``items`` (1 when none has dots)."""
    names = {item.get("name") for item in items if isinstance(item, dict)}
    for taken in range(len(parts) - i, 1, -1):
        if ".".join(parts[i : i + taken]) in names:
            return taken
    return 1


def _list_index(items: list[Any], part: str) -> int | None:
    if re.fullmatch(r"-?\d{1,9}", part):
        index = int(part)
        return index if -len(items) <= index < len(items) else None
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == part:
            return i
    return None
