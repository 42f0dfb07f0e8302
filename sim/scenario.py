"""Scenario files: YAML in, a validated and frozen ``Scenario`` out.

Units: every time is in seconds and every rate in connections per second.

``load_scenario`` reads a file, applies ``--set key.path=value`` overrides and validates everything
before anything runs. Presets are applied during validation, so a ``Scenario`` is always fully
resolved. Any problem raises ``ScenarioError`` whose message is one line naming the file, the
line, the key path and what is wrong.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from .policies import policy_params, split_policy
from .presets import PRESETS, Sharing
from .workload import ArrivalSpec, DurationSpec, NonNegativeSeconds, PositiveSeconds, Spec

Port = Annotated[int, Field(ge=1, le=65535)]
Close = Literal["client", "server", "reset", "half"]
Bind = bool | Literal["no_port"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
MAX_SAMPLES = 2000
MAX_ROWS = 1_000_000


class ScenarioError(ValueError):
    """A scenario that cannot be run; the message is one line for the user."""


class Loader(yaml.SafeLoader):
    """PyYAML's safe loader, also reading ``1e7`` and ``2E-3`` as numbers (as YAML 1.2 does)."""


Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def read_yaml(text: str) -> Any:
    """Parse YAML text with ``Loader``."""
    return yaml.load(text, Loader=Loader)


class Destination(Spec):
    """A remote endpoint: address, port, and the share of the workload's connections it receives."""

    address: str
    port: Port
    weight: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0

    @field_validator("address")
    @classmethod
    def _ip(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError(f"{value!r} is not an IPv4 or IPv6 address") from None

    @property
    def label(self) -> str:
        """``address:port``, with brackets around IPv6 addresses."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"

    @property
    def loopback(self) -> bool:
        """Whether the address is a loopback address (127.0.0.0/8 or ::1): tcp_tw_reuse = 2 applies."""
        return ipaddress.ip_address(self.address).is_loopback

    @property
    def endpoint(self) -> tuple[str, int]:
        """(address, port): what identifies the destination across workloads."""
        return self.address, self.port


class Workload(Spec):
    """A stream of connections with one arrival process, duration law, close side and bind mode.

    ``bind``: ``false`` is a plain connect() from the host's first source address; ``no_port`` is
    bind(address, 0) with IP_BIND_ADDRESS_NO_PORT, spreading connections over the source addresses
    with the port still chosen at connect(); ``true`` is bind(address, 0) then connect(): the port is
    then exclusive to its address. ``reuseaddr`` sets SO_REUSEADDR before bind().
    """

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    arrivals: ArrivalSpec
    duration: DurationSpec
    close: Close = "client"
    bind: Bind = False
    reuseaddr: bool = False
    destinations: Annotated[list[Destination], Field(min_length=1)]
    start: NonNegativeSeconds = 0.0
    stop: PositiveSeconds | None = None

    @model_validator(mode="after")
    def _window(self) -> Workload:
        if self.stop is not None and self.stop <= self.start:
            raise ValueError(f"stop ({self.stop}) must be after start ({self.start})")
        return self


def parse_reserved(items: Iterable[int | str]) -> frozenset[int]:
    """Ports from a list of ports and ``"low-high"`` ranges (or one comma-separated string)."""
    ports: set[int] = set()
    for item in items:
        parts = item.split(",") if isinstance(item, str) else [item]
        for part in parts:
            if isinstance(part, int):
                low = high = part
            else:
                match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
                if not match:
                    raise ValueError(f"{part!r} is neither a port nor a 'low-high' range")
                low = int(match[1])
                high = int(match[2] or match[1])
            if not 1 <= low <= high <= 65535:
                raise ValueError(f"reserved ports {low}-{high}: ports must satisfy 1 <= low <= high <= 65535")
            ports.update(range(low, high + 1))
    return frozenset(ports)


PresetName = Literal["iana", "linux", "linux-5.12", "linux-4.6", "windows", "macos", "freebsd", "netbsd"]


class Host(Spec):
    """The machine opening connections: its ephemeral range, allocation policy, TCP timers and reuse rules.

    Fields left out are taken from ``preset``.
    """

    preset: PresetName = "iana"
    port_range: tuple[Port, Port] | None = None
    policy: str | dict[str, Any] | None = None
    time_wait: NonNegativeSeconds | None = None
    source_addresses: Annotated[int, Field(ge=1, le=256)] = 1
    sharing: Sharing | None = None
    reserved_ports: list[int | str] | str = Field(default_factory=list)
    tw_reuse: Literal[0, 1, 2] | None = None
    tw_reuse_delay: NonNegativeSeconds | None = None
    timestamps: bool | None = None
    max_tw_buckets: Annotated[int, Field(ge=0)] | Literal["unlimited"] | None = None
    fin_timeout: NonNegativeSeconds | None = None
    time_wait_granularity: NonNegativeSeconds | None = None
    connect_base_us: NonNegativeSeconds | None = None
    probe_cost_ns: NonNegativeSeconds | None = None

    _explicit: frozenset[str] = PrivateAttr(default=frozenset())

    @model_validator(mode="wrap")
    @classmethod
    def _apply_preset(cls, data: Any, handler: ModelWrapValidatorHandler[Host]) -> Host:
        """Fill the keys left out from the preset, remembering which keys were given."""
        if not isinstance(data, Mapping):
            return handler(data)
        explicit = frozenset(k for k, v in data.items() if v is not None and k != "preset")
        name = data.get("preset", "iana")
        preset = PRESETS.get(name) if isinstance(name, str) else None
        filled = dict(data)
        if preset is not None:
            for key, value in preset.host_defaults().items():
                if filled.get(key) is None:
                    filled[key] = value
        if isinstance(filled.get("port_range"), list):
            filled["port_range"] = tuple(filled["port_range"])
        host = handler(filled)
        host._explicit = explicit
        return host

    def __eq__(self, other: object) -> bool:
        """Equal when every value is equal, whether it came from the preset or the file."""
        return isinstance(other, Host) and self.model_dump() == other.model_dump()

    def __hash__(self) -> int:
        return hash(json.dumps(self.model_dump(mode="json"), sort_keys=True))

    def given(self) -> dict[str, Any]:
        """The host as written: the preset and the keys given explicitly (what overrides start from)."""
        full = self.model_dump(mode="json", exclude_none=True)
        return {k: v for k, v in full.items() if k == "preset" or k in self._explicit}

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, value: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
        if value is not None:
            policy_params(value)
        return value

    @field_validator("reserved_ports")
    @classmethod
    def _reserved(cls, value: list[int | str] | str) -> list[int | str] | str:
        parse_reserved([value] if isinstance(value, str) else value)
        return value

    @field_validator("port_range")
    @classmethod
    def _ordered(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError(f"low ({value[0]}) is greater than high ({value[1]})")
        return value

    @model_validator(mode="after")
    def _range(self) -> Host:
        if not self.usable_ports:
            raise ValueError("every port of port_range is reserved")
        return self

    @property
    def policy_name(self) -> str:
        """The allocation policy's registered name."""
        assert self.policy is not None
        return split_policy(self.policy)[0]

    @property
    def low(self) -> int:
        """Lowest ephemeral port."""
        assert self.port_range is not None
        return self.port_range[0]

    @property
    def high(self) -> int:
        """Highest ephemeral port."""
        assert self.port_range is not None
        return self.port_range[1]

    @property
    def size(self) -> int:
        """Ports in the range, reserved ones included."""
        return self.high - self.low + 1

    @property
    def reserved_offsets(self) -> frozenset[int]:
        """Reserved ports inside the range, as offsets from ``low``."""
        return frozenset(p - self.low for p in self.reserved if self.low <= p <= self.high)

    @property
    def reserved(self) -> frozenset[int]:
        """Every reserved port, inside the range or not."""
        given = self.reserved_ports
        return parse_reserved([given] if isinstance(given, str) else given)

    @property
    def usable_ports(self) -> int:
        """Ports automatic selection may use, per source address."""
        return self.size - len(self.reserved_offsets)


class Variant(Spec):
    """A named alternative of the scenario: the same file with some keys overridden."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    description: str = ""
    set: dict[str, Any] = Field(default_factory=dict, description="key.path: value overrides, as with --set")


def auto_sample_interval(duration: float) -> float:
    """The smallest round step that keeps a time series of ``duration`` under MAX_SAMPLES rows."""
    for step in STEPS:
        if duration / step <= MAX_SAMPLES:
            return float(step)
    return float(math.ceil(duration / MAX_SAMPLES / 3600) * 3600)


class Scenario(Spec):
    """One simulation: a host, its workloads, and how long and how often to run them."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    description: str = ""
    duration: PositiveSeconds
    seed: Annotated[int, Field(ge=0)] = 1
    replications: Annotated[int, Field(ge=1, le=10000)] = 1
    warmup: NonNegativeSeconds = 0.0
    sample_interval: PositiveSeconds | None = None
    host: Host = Field(default_factory=Host)
    workloads: Annotated[list[Workload], Field(min_length=1)]
    variants: list[Variant] = Field(default_factory=list)
    portsim_version: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("sample_interval") is None:
            duration = data.get("duration")
            if isinstance(duration, int | float) and not isinstance(duration, bool) and 0 < duration < math.inf:
                return {**data, "sample_interval": auto_sample_interval(float(duration))}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.warmup >= self.duration:
            raise ValueError(f"warmup ({self.warmup}) must be shorter than duration ({self.duration})")
        assert self.sample_interval is not None
        if self.sample_interval > self.duration:
            raise ValueError(f"sample_interval ({self.sample_interval}) is longer than duration")
        rows = self.duration / self.sample_interval
        if rows > MAX_ROWS:
            raise ValueError(
                f"sample_interval ({self.sample_interval:g} s) over duration ({self.duration:g} s) would write "
                f"{rows:,.0f} time-series rows (at most {MAX_ROWS:,})"
            )
        return self

    @model_validator(mode="after")
    def _variants(self) -> Scenario:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variants: names must be unique")
        for i, v in enumerate(self.variants):
            try:
                self.variant(v.name)
            except ScenarioError as exc:
                raise ValueError(f"variants[{i}] ({v.name}): {exc}") from None
        return self

    def variant(self, name: str, overrides: Mapping[str, Any] | Sequence[str] = ()) -> Scenario:
        """The scenario with one variant's ``set`` applied (and no variants of its own).

        ``overrides`` (``--set`` values) are applied after the variant's own, so the command line wins.
        """
        chosen = next((v for v in self.variants if v.name == name), None)
        if chosen is None:
            if not self.variants:
                raise ScenarioError(f"{self.name} has no variants")
            raise ScenarioError(f"no variant {name!r} (variants: {', '.join(v.name for v in self.variants)})")
        raw = self.to_dict(resolved=False)
        raw["variants"] = []
        overridden: dict[tuple[str | int, ...], str] = {}
        for path, value in chosen.set.items():
            overridden[set_path(raw, path, value)] = f"variant {name}: set {path}={value!r}"
        items = list(overrides.items()) if isinstance(overrides, Mapping) else [parse_assignment(o) for o in overrides]
        for path, value in items:
            overridden[set_path(raw, path, value)] = f"--set {path}={value!r}"
        return validate(raw, source=f"variant {name}", overridden=overridden)

    def expand(self, overrides: Mapping[str, Any] | Sequence[str] = ()) -> dict[str, Scenario]:
        """Every variant by name (``overrides`` applied after each variant's own ``set``).

        A scenario without variants is its own single variant.
        """
        if not self.variants:
            return {self.name: self}
        return {v.name: self.variant(v.name, overrides) for v in self.variants}

    @field_validator("workloads")
    @classmethod
    def _unique(cls, value: list[Workload]) -> list[Workload]:
        names = [w.name for w in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"workload names must be unique: {', '.join(duplicates)} repeated")
        return value

    def warnings(self) -> list[str]:
        """Things that are valid but probably not what the author meant."""
        notes = []
        if self.host.source_addresses > 1 and not any(w.bind for w in self.workloads):
            notes.append(
                f"host.source_addresses is {self.host.source_addresses} but no workload binds: a plain connect() "
                "uses the first address only (set bind: no_port to spread connections, as IP_BIND_ADDRESS_NO_PORT)"
            )
        if self.host.tw_reuse and self.host.sharing == "none":
            notes.append("host.tw_reuse has no effect with sharing: none")
        window = self.duration - self.warmup
        holds = [w.duration.expected + (self.host.time_wait or 0.0) for w in self.workloads if w.close == "client"]
        if holds and window < 3 * max(holds):
            notes.append(
                f"the measured window (duration - warmup = {window:g} s) is shorter than three TIME_WAIT cycles: "
                "figures may not have settled (see README, Erlang B)"
            )
        outside = sorted(p for p in self.host.reserved if not self.host.low <= p <= self.host.high)
        if outside:
            notes.append(
                f"{len(outside)} reserved port(s) lie outside port_range {self.host.low}-{self.host.high} "
                f"and change nothing (e.g. {outside[0]})"
            )
        attempts = self.expected_attempts
        if attempts > 20_000_000:
            notes.append(
                f"about {attempts:,.0f} connection attempts: expect a long run (roughly {attempts / 1e5 / 60:,.0f} "
                "minutes at 100,000 attempts per second); Ctrl-C stops it cleanly"
            )
        return notes

    @property
    def expected_attempts(self) -> float:
        """Expected connection attempts over all replications, from the workloads' mean rates."""
        total = 0.0
        for w in self.workloads:
            active = max(0.0, min(w.stop or self.duration, self.duration) - w.start)
            total += w.arrivals.mean_rate * active
        return total * self.replications

    @property
    def step(self) -> float:
        """The time-series sampling step in seconds."""
        assert self.sample_interval is not None
        return self.sample_interval

    @property
    def destinations(self) -> list[Destination]:
        """Distinct destinations over all workloads, in order of first appearance."""
        seen: dict[tuple[str, int], Destination] = {}
        for w in self.workloads:
            for d in w.destinations:
                seen.setdefault(d.endpoint, d)
        return list(seen.values())

    def to_dict(self, resolved: bool = True) -> dict[str, Any]:
        """The scenario as plain data, in file order, without unset optional keys.

        ``resolved=False`` gives the host as written (preset plus explicit keys), so that changing
        the preset afterwards changes every host value the file did not pin.
        """
        data = self.model_dump(mode="json", exclude_none=True)
        if not resolved:
            data["host"] = self.host.given()
        return data

    def to_yaml(self) -> str:
        """The resolved scenario as YAML; loading it gives back an equal scenario."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None, width=100)

    def with_changes(
        self, overrides: Mapping[str, Any] | Sequence[str] = (), source: str = "<scenario>", **fields: Any
    ) -> Scenario:
        """A copy with ``fields`` replaced and ``key.path`` overrides applied, revalidated.

        ``fields`` are top-level keys (``duration=120``); ``overrides`` are ``{"host.time_wait": 30}``
        or ``["host.time_wait=30"]``.
        """
        raw = self.to_dict(resolved=False)
        items = list(overrides.items()) if isinstance(overrides, Mapping) else [parse_assignment(o) for o in overrides]
        overridden: dict[tuple[str | int, ...], str] = {}
        for path, value in [*fields.items(), *items]:
            overridden[set_path(raw, path, value)] = f"{source}: {path}={value!r}" if source else path
        return validate(raw, source=source, overridden=overridden)


# --------------------------------------------------------------------------- loading and errors


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split ``key.path=value``; the value is read as YAML (``300``, ``true``, ``[1, 2]``, ``linux``)."""
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise ScenarioError(f"--set {text}: expected key.path=value")
    try:
        parsed = read_yaml(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    return path.strip(), parsed


def set_path(raw: dict[str, Any], path: str, value: Any) -> tuple[str | int, ...]:
    """Set ``raw[a][b]...`` for ``path = "a.b..."``; list items by index or by their ``name``.

    Returns the key path that was set, with list items as indices.
    """
    parts = path.split(".")
    node: Any = raw
    resolved: list[str | int] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(parts[: i + 1])
        if isinstance(node, list):
            index = _list_index(node, part)
            if index is None:
                raise ScenarioError(f"--set {path}: {where}: no list item {part!r} (use an index or a name)")
            index %= len(node)
            resolved.append(index)
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            resolved.append(part)
            if last:
                node[part] = value
            else:
                if node.get(part) is None:
                    node[part] = {}
                node = node[part]
        else:
            raise ScenarioError(f"--set {path}: {'.'.join(parts[:i])} is a value, not a mapping or list")
    return tuple(resolved)


def _list_index(items: list[Any], part: str) -> int | None:
    if re.fullmatch(r"-?\d+", part):
        index = int(part)
        return index if -len(items) <= index < len(items) else None
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == part:
            return i
    return None


def _line_map(
    node: yaml.Node, path: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int], source: str
) -> None:
    """Record the line of every key path; reject duplicate keys, which YAML loaders silently merge."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise ScenarioError(
                    f"{source}:{key_node.start_mark.line + 1}: {_format_path((*path, key))}: duplicate key"
                )
            seen.add(key)
            _line_map(value_node, (*path, key), lines, source)
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, (*path, i), lines, source)


def _format_path(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The scenario model class that a pydantic error location points into (None if unknown)."""
    current: Any = Scenario
    for part in loc:
        while get_origin(current) is Annotated:
            current = get_args(current)[0]
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


def _describe(error: Mapping[str, Any], raw: Any) -> tuple[tuple[str | int, ...], str]:
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
    if kind == "extra_forbidden":
        key = str(path[-1])
        model = _model_at(error["loc"][:-1])
        allowed = list(model.model_fields) if model else []
        close = difflib.get_close_matches(key, allowed, n=1)
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
        return (
            *path,
            "kind",
        ), f"unknown kind {ctx.get('tag')!r} (expected one of: {ctx.get('expected_tags')})"
    if kind == "union_tag_not_found":
        return tuple(path), f"missing 'kind' (expected one of: {_tags(error)})"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    elif not isinstance(given, dict | list):
        message += f" (got {json.dumps(given) if _jsonable(given) else repr(given)})"
    return tuple(path), message


def _tags(error: Mapping[str, Any]) -> str:
    ctx = error.get("ctx") or {}
    return str(ctx.get("expected_tags", "?"))


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def validate(
    raw: Any,
    source: str,
    lines: Mapping[tuple[str | int, ...], int] | None = None,
    overridden: Mapping[tuple[str | int, ...], str] | None = None,
) -> Scenario:
    """Validate plain data into a Scenario, raising ScenarioError on the first problem.

    ``lines`` maps key paths to file lines; ``overridden`` maps the key paths set from the command
    line to the ``--set`` text, so that an error in such a value names the ``--set``, not the file.
    """
    if not isinstance(raw, dict):
        raise ScenarioError(f"{source}: the file must be a YAML mapping of keys (name, duration, host, workloads)")
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        # A misspelt key also makes the intended key "missing": report the misspelling first.
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        path, problem = _describe(errors[0], raw)
        more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        for cut in range(len(path), 0, -1):
            if overridden and path[:cut] in overridden:
                raise ScenarioError(f"{overridden[path[:cut]]}: {_format_path(path)}: {problem}{more}") from None
        line = ""
        if lines and path:
            for cut in range(len(path), 0, -1):
                if path[:cut] in lines:
                    line = f":{lines[path[:cut]]}"
                    break
        raise ScenarioError(f"{source}{line}: {_format_path(path)}: {problem}{more}") from None


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read, override and validate a scenario file."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise ScenarioError(f"{source}: is a directory, not a scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{source}: cannot read: {exc}") from None
    lines: dict[tuple[str | int, ...], int] = {}
    try:
        node = yaml.compose(text, Loader=Loader)
        if node is not None:
            _line_map(node, (), lines, source)
        raw = read_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise ScenarioError(f"{source}{where}: malformed YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: malformed YAML: {exc}") from None
    overridden: dict[tuple[str | int, ...], str] = {}
    if isinstance(raw, dict):
        for assignment in overrides:
            key, value = parse_assignment(assignment)
            overridden[set_path(raw, key, value)] = f"--set {assignment}"
    return validate(raw, source, lines, overridden)
