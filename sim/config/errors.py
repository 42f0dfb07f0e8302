"""Errors about scenarios: one line for the user, naming the file, the line, the key path and the problem.

Whatever a file holds, what is echoed back is quoted and shortened, so an error is always one short line.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from ..core.spec import KeyedError

MAX_MESSAGE = 300
"""Characters an error message may have; longer ones are cut with an ellipsis."""
MAX_ECHO = 40
"""Characters of a key or value echoed back in a message."""
_PLAIN_KEY = re.compile(rf"^[A-Za-z0-9_.\-]{{1,{MAX_ECHO}}}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
"""Control characters, line separators and bidirectional overrides: escaped in messages."""


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` with control characters escaped and cut to ``limit`` characters."""
    flat = _CONTROL.sub(lambda m: json.dumps(m.group())[1:-1], text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def echo(value: object, limit: int = MAX_ECHO) -> str:
    """A short, quoted rendering of a value taken from user input."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    text = one_line(text, 10 * limit)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(text: str, limit: int = 2 * MAX_ECHO) -> str:
    """Text the user typed (a ``--set`` item, a key path), on one line and shortened, without quotes."""
    flat = one_line(text, 10 * limit)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def quote_key(key: str | int) -> str:
    """A key as it may appear in a key path: plain names as they are, anything else quoted and shortened."""
    if isinstance(key, int) or _PLAIN_KEY.match(key):
        return str(key)
    return echo(key)


def format_path(path: Sequence[str | int]) -> str:
    """``workloads[0].arrivals.rate`` from ("workloads", 0, "arrivals", "rate")."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{quote_key(part)}" if text else quote_key(part))
    return text or "(top level)"


class ScenarioError(ValueError):
    """A scenario that cannot be run; the message is one line for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


def kinds_at(root: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The ``kind`` values a tagged union accepts at an error location (empty if unknown)."""
    parent = model_at(root, loc[:-1])
    field = parent.model_fields.get(str(loc[-1])) if parent is not None and loc else None
    current: Any = _unwrap(field.annotation) if field is not None else None
    members = get_args(current) if get_origin(current) in (Union, UnionType) else ()
    models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
    kinds = [getattr(m.model_fields.get("kind"), "default", None) for m in models]
    return [k for k in kinds if isinstance(k, str)]


def _unwrap(annotation: Any) -> Any:
    """``annotation`` without Annotated metadata or an optional ``None``."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) in (Union, UnionType) and type(None) in get_args(annotation):
            rest = [a for a in get_args(annotation) if a is not type(None)]
            annotation = rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
        else:
            return annotation


def model_at(root: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class that a pydantic error location points into (None if unknown)."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part)) if isinstance(part, str) else None
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) is list and isinstance(part, int):
            current = get_args(current)[0]
        elif get_origin(current) in (Union, UnionType):
            members = [m for m in get_args(current) if isinstance(m, type) and issubclass(m, BaseModel)]
            tagged = [m for m in members if getattr(m.model_fields.get("kind"), "default", None) == part]
            if tagged:
                current = tagged[0]
            elif len(members) == 1:
                current = members[0]
                continue
            else:
                return None
        else:
            return None
    while get_origin(current) in (Annotated, Union, UnionType):
        members = [m for m in get_args(current) if isinstance(m, type) and issubclass(m, BaseModel)]
        if len(members) != 1:
            return None
        current = members[0]
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def describe(error: Mapping[str, Any], raw: Any, root: type[BaseModel]) -> tuple[tuple[str | int, ...], str]:
    """The key path (as written in the file) and a readable problem for one pydantic error."""
    path: list[str | int] = []
    node = raw
    for part in error["loc"]:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
            path.append(part)
        elif error["type"] in {"extra_forbidden", "missing"} and part == error["loc"][-1]:
            path.append(part)
        # otherwise the part names a union branch (the 'kind' tag) that the file does not spell out
    kind = error["type"]
    ctx = error.get("ctx") or {}
    given = error.get("input")
    cause = ctx.get("error")
    if isinstance(cause, KeyedError):
        return (*path, *cause.key), str(cause)
    if kind == "extra_forbidden":
        key = str(path[-1])
        model = model_at(root, error["loc"][:-1])
        allowed = list(model.model_fields) if model else []
        close = difflib.get_close_matches(key[:MAX_ECHO], allowed, n=1)
        if close:
            hint = f" (did you mean {close[0]!r}?)"
        elif allowed:
            hint = f" (allowed here: {', '.join(allowed)})"
        else:
            hint = ""
        return tuple(path), f"unknown key{hint}"
    if kind == "missing":
        return tuple(path), "required key is missing"
    if kind == "union_tag_invalid":
        tag = echo(ctx.get("tag"))
        return (*path, "kind"), f"unknown kind {tag} (expected one of: {ctx.get('expected_tags')})"
    if kind == "union_tag_not_found":
        kinds = ", ".join(kinds_at(root, error["loc"])) or "see portsim schema"
        return tuple(path), f"missing 'kind' (expected one of: {kinds})"
    if kind in {"model_type", "dict_type"} and not isinstance(given, dict):
        return tuple(path), f"must be a mapping of keys, written {{key: value, ...}} (got {echo(given)})"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    elif not isinstance(given, dict | list):
        message += f" (got {echo(given)})"
    return tuple(path), message
