"""Reading scenario YAML within bounds, with the line of every key.

A scenario file is untrusted input. Before any Python object is built from it, portsim refuses files
larger than ``MAX_FILE_BYTES``, nesting deeper than ``MAX_DEPTH``, more than ``MAX_NODES`` values once
aliases are expanded (a "billion laughs" alias bomb), recursive aliases, keys that are not plain
scalars, duplicate keys and integers longer than ``MAX_DIGITS``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .errors import ScenarioError, format_path

MAX_FILE_BYTES = 1 << 20
"""1 MiB: a scenario file is a few kilobytes."""
MAX_DEPTH = 20
"""Nesting levels of mappings and lists."""
MAX_NODES = 100_000
"""Values (scalars, mappings, lists) after alias expansion."""
MAX_DIGITS = 100
"""Characters of an integer literal."""

Lines = dict[tuple[str | int, ...], int]
"""The 1-based line of each key path."""


class Loader(yaml.SafeLoader):
    """PyYAML's safe loader, also reading ``1e7`` and ``2E-3`` as numbers (as YAML 1.2 does)."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """An integer, refusing absurdly long literals before Python parses them."""
        if len(str(node.value)) > MAX_DIGITS:
            raise yaml.constructor.ConstructorError(
                None, None, f"integer literal longer than {MAX_DIGITS} characters", node.start_mark
            )
        return super().construct_yaml_int(node)


Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)
Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)


def read_yaml(text: str) -> Any:
    """Parse trusted YAML text (``--set`` values, portsim's own files) with ``Loader``."""
    return yaml.load(text, Loader=Loader)


def read_text(path: str | Path, source: str) -> str:
    """The text of a file, refusing more than ``MAX_FILE_BYTES`` (so ``/dev/zero`` is refused too)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise ScenarioError(f"{source}: is a directory, not a scenario file") from None
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(f"{source}: larger than {MAX_FILE_BYTES // 1024} KiB; not a scenario file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ScenarioError(f"{source}:{line}: not UTF-8 text (byte {data[exc.start]:#04x})") from None


def _check_events(text: str, source: str) -> None:
    """Refuse deep nesting before the recursive composer sees it."""
    depth = 0
    for event in yaml.parse(text, Loader=Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else 0
                raise ScenarioError(f"{source}:{line}: nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _expanded_size(node: yaml.Node, source: str) -> int:
    """Values in the document once aliases are expanded.

    Refuses recursive aliases, alias bombs and aliases that nest deeper than ``MAX_DEPTH`` once expanded.
    """
    known: dict[int, tuple[int, int]] = {}  # node -> (values, height)
    active: set[int] = set()

    def visit(n: yaml.Node, depth: int) -> tuple[int, int]:
        line = n.start_mark.line + 1
        key = id(n)
        if key in active:
            raise ScenarioError(f"{source}:{line}: recursive alias (an anchor that contains itself)")
        if depth > MAX_DEPTH:
            raise ScenarioError(f"{source}:{line}: nested more than {MAX_DEPTH} levels deep once aliases are expanded")
        seen = known.get(key)
        if seen is not None:
            if depth + seen[1] > MAX_DEPTH:
                raise ScenarioError(
                    f"{source}:{line}: nested more than {MAX_DEPTH} levels deep once aliases are expanded"
                )
            return seen
        active.add(key)
        children: list[yaml.Node] = []
        if isinstance(n, yaml.MappingNode):
            children = [part for pair in n.value for part in pair]
        elif isinstance(n, yaml.SequenceNode):
            children = list(n.value)
        total, height = 1, 0
        for child in children:
            size, below = visit(child, depth + 1)
            total += size
            height = max(height, below + 1)
            if total > MAX_NODES:
                raise ScenarioError(f"{source}:{line}: more than {MAX_NODES:,} values once aliases are expanded")
        active.discard(key)
        known[key] = (total, height)
        return total, height

    return visit(node, 0)[0]


def line_map(node: yaml.Node, source: str) -> Lines:
    """The line of every key path; refuses keys that are not scalars and duplicate keys."""
    lines: Lines = {}
    stack: list[tuple[yaml.Node, tuple[str | int, ...]]] = [(node, ())]
    while stack:
        current, path = stack.pop()
        lines.setdefault(path, current.start_mark.line + 1)
        if isinstance(current, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in current.value:
                line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    raise ScenarioError(f"{source}:{line}: {format_path(path)}: a key must be a plain name")
                key = key_node.value
                if key in seen:
                    raise ScenarioError(f"{source}:{line}: {format_path((*path, key))}: duplicate key")
                seen.add(key)
                lines[(*path, key)] = line
                stack.append((value_node, (*path, key)))
        elif isinstance(current, yaml.SequenceNode):
            for i, item in enumerate(current.value):
                stack.append((item, (*path, i)))
    return lines


def parse(text: str, source: str) -> tuple[Any, Lines]:
    """The data in ``text`` and the line of each key path, within the bounds above."""
    try:
        _check_events(text, source)
        loader = Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, {}
            _expanded_size(node, source)
            lines = line_map(node, source)
            return loader.construct_document(node), lines
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise ScenarioError(f"{source}{where}: malformed YAML: {problem}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        raise ScenarioError(f"{source}:{line}: malformed YAML: character U+{code:04X} is not allowed in YAML") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: malformed YAML: {exc}") from None
