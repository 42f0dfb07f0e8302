"""The scenario: a host, its workloads, and how long and how often to run them; validated and frozen.

Units: every time is in seconds and every rate in connections per second. Presets are applied during
validation, so a ``Scenario`` is always fully resolved (``scenario.host.resolved``). Any problem raises
``ScenarioError`` whose message is one line naming the file, the line, the key path and what is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import yaml
from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from ..core.arrivals import Trace
from ..core.host import ResolvedHost
from ..core.spec import KeyedError, NonNegativeSeconds, PositiveSeconds, Spec
from ..nat.kinds import NatSpec
from .errors import ScenarioError, describe, echo, format_path
from .fleet import MAX_GROUPS, MAX_HOSTS, Group, HostGroup
from .host import Host
from .overrides import KeyPath, parse_assignment, set_path
from .sweep import MAX_KEYS, Axis, axis_values, check_key
from .workload import MAX_DESTINATIONS, NAME_PATTERN, Destination, Workload

STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
MAX_SAMPLES = 2000
MAX_ROWS = 1_000_000
MAX_WORKLOADS = 64
MAX_VARIANTS = 64
MAX_REPLICATIONS = 1000
LONG_RUN = 20_000_000
"""Expected attempts above which a run is worth a warning."""
OUTPUT_ENTRIES = frozenset(
    {
        "scenario.yaml",
        "summary.json",
        "timeseries.csv",
        "histograms.json",
        "port_map.npz",
        "nat_hosts.npz",
        "plots",
        "validation.json",
        "validation.png",
        "comparison.json",
        "comparison.png",
        "sweep.yaml",
        "sweep.csv",
        "sweep.json",
        "sweep.png",
        "capacity.yaml",
        "capacity.json",
        "capacity.png",
        "remedies.yaml",
        "remedies.json",
        "remedies.png",
        "cache",
    }
)
"""Entries portsim writes in a results folder: no variant may be named like one."""


class VariantError(ScenarioError):
    """A variant's ``set`` gives an invalid scenario; ``key`` is the ``set`` key to blame, if known."""

    def __init__(self, message: str, key: str | None = None, detail: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.detail = detail or message


class Variant(Spec):
    """A named alternative of the scenario: the same file with some keys overridden."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    description: str = ""
    set: dict[str, Any] = Field(default_factory=dict, description="key.path: value overrides, as with --set")

    @field_validator("name")
    @classmethod
    def _not_an_output(cls, value: str) -> str:
        if value in OUTPUT_ENTRIES:
            raise ValueError(f"{echo(value)} is the name of a file portsim writes; choose another name")
        return value


def auto_sample_interval(duration: float) -> float:
    """The smallest round step that keeps a time series of ``duration`` under MAX_SAMPLES rows."""
    for step in STEPS:
        if duration / step <= MAX_SAMPLES:
            return float(step)
    return float(math.ceil(duration / MAX_SAMPLES / 3600) * 3600)


class Scenario(Spec):
    """One simulation: a host, its workloads, and how long and how often to run them."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    description: Annotated[str, Field(max_length=10_000)] = ""
    duration: PositiveSeconds
    seed: Annotated[int, Field(ge=0, lt=1 << 63)] = 1
    replications: Annotated[int, Field(ge=1, le=MAX_REPLICATIONS)] = 1
    warmup: NonNegativeSeconds = 0.0
    sample_interval: PositiveSeconds | None = None
    host: Host = Field(default_factory=Host)
    workloads: Annotated[list[Workload], Field(min_length=1, max_length=MAX_WORKLOADS)]
    hosts: Annotated[list[HostGroup], Field(min_length=1, max_length=MAX_GROUPS)] | None = Field(
        default=None, description="groups of identical hosts, each running the named workloads (rates per host)"
    )
    nat: NatSpec | None = Field(default=None, description="the translator in front of the hosts (kind: ...)")
    variants: Annotated[list[Variant], Field(max_length=MAX_VARIANTS)] = Field(default_factory=list)
    variant_name: Annotated[str, Field(pattern=NAME_PATTERN)] | None = None
    sweep: dict[str, Axis] | None = Field(
        default=None, description="key.path: values (a list, or {from, to, steps, scale}); run by portsim sweep"
    )
    """The variant this scenario is (set when a variant is expanded, and kept in its results' scenario.yaml)."""
    portsim_version: Annotated[str, Field(max_length=100)] | None = None

    _group_hosts: tuple[ResolvedHost, ...] = PrivateAttr(default=())

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
            raise KeyedError(
                "warmup", f"warmup ({self.warmup:g}) must be shorter than duration ({self.duration:g})", ("duration",)
            )
        step = self.step
        if step > self.duration:
            raise KeyedError("sample_interval", f"sample_interval ({step:g}) is longer than duration")
        rows = self.duration / step
        if rows > MAX_ROWS:
            raise KeyedError(
                "sample_interval",
                f"sample_interval ({step:g} s) over duration ({self.duration:g} s) would write "
                f"{rows:,.0f} time-series rows (at most {MAX_ROWS:,})",
            )
        if len(self.destinations) > MAX_DESTINATIONS:
            raise KeyedError("workloads", f"more than {MAX_DESTINATIONS:,} distinct destinations")
        return self

    @model_validator(mode="after")
    def _fleet(self) -> Scenario:
        groups = self.hosts or []
        names = [w.name for w in self.workloads]
        owner: dict[str, str] = {}
        for i, g in enumerate(groups):
            if g.name in [h.name for h in groups[:i]]:
                raise KeyedError(("hosts", i, "name"), f"host group name {g.name!r} is used twice")
            for j, name in enumerate(g.workloads):
                if name not in names:
                    raise KeyedError(("hosts", i, "workloads", j), f"no workload named {echo(name)}")
                if name in owner:
                    raise KeyedError(
                        ("hosts", i, "workloads", j), f"workload {name!r} already runs on host group {owner[name]!r}"
                    )
                owner[name] = g.name
                if g.count > 1 and isinstance(self.workloads[names.index(name)].arrivals, Trace):
                    raise KeyedError(
                        ("hosts", i, "workloads", j),
                        f"workload {name!r} replays a trace: one host's record cannot run on {g.count} hosts",
                    )
        if groups:
            missing = [n for n in names if n not in owner]
            if missing:
                raise KeyedError("hosts", f"workload {missing[0]!r} runs on no host group (list it under one)")
        self._group_hosts = tuple(self._group_host(i, g) for i, g in enumerate(groups))
        total = self.fleet_hosts
        if total > MAX_HOSTS:
            raise KeyedError("hosts", f"{total:,} hosts in all: at most {MAX_HOSTS:,}")
        if self.nat is not None:
            try:
                self.nat.check_fleet(total)
            except KeyedError as exc:
                raise KeyedError(("nat", *exc.key), str(exc)) from None
        return self

    def _group_host(self, i: int, group: HostGroup) -> ResolvedHost:
        """Group ``i``'s host: the scenario's, with the keys the group's ``host`` gives changed (kept merged in
        the group, so that the group's values read as the hosts run)."""
        if group.host is None:
            return self.host.resolved
        try:
            merged = self.host.changed(group.host.written())
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(k) for k in error["loc"])
            detail = str(error["msg"]).removeprefix("Value error, ")
            raise KeyedError(
                ("hosts", i, "host"), f"with the scenario's host: {where + ': ' if where else ''}{detail}"
            ) from None
        assert self.hosts is not None
        self.hosts[i] = group.model_copy(update={"host": merged})
        return merged.resolved

    @property
    def fleet(self) -> list[Group]:
        """The host groups as the model runs them (one group of one host without ``hosts``)."""
        if not self.hosts:
            return [Group("host", 0, 1, tuple(range(len(self.workloads))), self.host.resolved, 0)]
        index = {w.name: i for i, w in enumerate(self.workloads)}
        groups, first, source = [], 0, 0
        for g, host in zip(self.hosts, self._group_hosts, strict=True):
            groups.append(Group(g.name, first, g.count, tuple(index[n] for n in g.workloads), host, source))
            first += g.count
            source += g.count * host.source_addresses
        return groups

    @property
    def fleet_hosts(self) -> int:
        """Hosts in all groups."""
        return sum(g.count for g in self.hosts) if self.hosts else 1

    @property
    def fleet_host(self) -> ResolvedHost:
        """The first host group's settings: every host's, unless groups have hosts of their own (``mixed_hosts``)."""
        return self._group_hosts[0] if self._group_hosts else self.host.resolved

    @property
    def mixed_hosts(self) -> bool:
        """Whether some host group's settings differ from the scenario's ``host`` (a ``host:`` of its own)."""
        return any(h != self.host.resolved for h in self._group_hosts)

    @property
    def parts_per_group(self) -> bool:
        """Whether each host group runs on a pool and lifecycle of its own: groups with hosts of their own, or several
        groups whose ``max_tw_buckets`` can bite (below one host's 4-tuples), which each group keeps for itself
        (one pool for the fleet would let a busy group use an idle group's allowance)."""
        if self.mixed_hosts:
            return True
        return len(self.fleet) > 1 and self.fleet_host.tw_limit_bites(len(self.destinations))

    def host_of(self, workload: Workload) -> ResolvedHost:
        """The settings of the hosts running ``workload``."""
        for g, host in zip(self.hosts or [], self._group_hosts, strict=False):
            if workload.name in g.workloads:
                return host
        return self.host.resolved

    def group_scenario(self, name: str) -> Scenario:
        """Host group ``name`` alone: its hosts running its workloads, with no translator, variants or sweep (what
        the analytic predictions of one group read)."""
        index = [g.name for g in self.hosts or []].index(name)
        group = (self.hosts or [])[index]
        alone = self.model_copy(
            update={
                "hosts": [group],
                "workloads": [w for w in self.workloads if w.name in group.workloads],
                "nat": None,
                "variants": [],
                "sweep": None,
            }
        )
        alone._group_hosts = (self._group_hosts[index],)
        return alone

    @property
    def nat_growing(self) -> bool:
        """Whether the translator's pools grow during a run (dynamic allocation)."""
        return self.nat is not None and self.nat.growing

    def hosts_running(self, workload: Workload) -> int:
        """How many hosts run ``workload`` (its rate is per host)."""
        for g in self.hosts or []:
            if workload.name in g.workloads:
                return g.count
        return 1

    @model_validator(mode="after")
    def _variants(self) -> Scenario:
        if self.variant_name is not None and self.variants:
            raise KeyedError("variant_name", "a scenario that is one variant cannot have variants of its own")
        names = [v.name for v in self.variants]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise KeyedError(("variants", i, "name"), f"variant name {name!r} is used twice")
        for i, v in enumerate(self.variants):
            try:
                self.variant(v.name)
            except VariantError as exc:
                where: tuple[str | int, ...] = ("variants", i, "set")
                raise KeyedError((*where, exc.key) if exc.key else where, exc.detail) from None
        return self

    @model_validator(mode="after")
    def _sweep(self) -> Scenario:
        if not self.sweep:
            return self
        if len(self.sweep) > MAX_KEYS:
            raise KeyedError("sweep", f"{len(self.sweep)} swept keys: at most {MAX_KEYS} (x axis, lines, panels)")
        for key, axis in self.sweep.items():
            try:
                check_key(key, "sweep")
            except ScenarioError as exc:
                raise KeyedError(("sweep", key), str(exc).partition(": ")[2] or str(exc)) from None
            values = axis_values(axis)
            for value in values[:1] + values[-1:] if len(values) > 1 else values:
                try:
                    self.with_changes({key: value}, source="sweep", sweep=None)
                except ScenarioError as exc:
                    detail = getattr(exc, "detail", None) or str(exc).partition(": ")[2] or str(exc)
                    raise KeyedError(("sweep", key), f"the value {echo(value)}: {detail}") from None
        return self

    @field_validator("workloads")
    @classmethod
    def _unique(cls, value: list[Workload]) -> list[Workload]:
        names = [w.name for w in value]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise KeyedError((i, "name"), f"workload name {name!r} is used twice")
        return value

    def variant(self, name: str, overrides: Mapping[str, Any] | Sequence[str] = ()) -> Scenario:
        """The scenario with one variant's ``set`` applied (and no variants of its own).

        ``overrides`` (``--set`` values) are applied after the variant's own, so the command line wins.
        """
        chosen = next((v for v in self.variants if v.name == name), None)
        if chosen is None:
            if not self.variants:
                raise ScenarioError(f"{self.name}: has no variants")
            known = ", ".join(v.name for v in self.variants)
            raise ScenarioError(f"{self.name}: no variant {echo(name)} (variants: {known})")
        raw = self.to_dict(resolved=False)
        raw["variants"] = []
        raw["variant_name"] = name
        label = f"variant {name}: set"
        overridden: dict[KeyPath, str] = {}
        keys: dict[KeyPath, str] = {}
        for path, value in chosen.set.items():
            try:
                where = set_path(raw, path, value, label)
            except ScenarioError as exc:
                raise VariantError(str(exc), path) from None
            overridden[where] = f"{label} {path}={echo(value)}"
            keys[where] = path
        items = list(overrides.items()) if isinstance(overrides, Mapping) else [parse_assignment(o) for o in overrides]
        for path, value in items:
            overridden[set_path(raw, path, value)] = f"--set {path}={echo(value)}"
        try:
            return validate(raw, source=f"variant {name}", overridden=overridden)
        except OverrideError as exc:
            raise VariantError(str(exc), keys.get(exc.override), exc.detail) from None
        except ScenarioError as exc:
            raise VariantError(str(exc)) from None

    def expand(self, overrides: Mapping[str, Any] | Sequence[str] = ()) -> dict[str, Scenario]:
        """Every variant by name (``overrides`` applied after each variant's own ``set``).

        A scenario without variants is its own single variant.
        """
        if not self.variants:
            return {self.name: self}
        return {v.name: self.variant(v.name, overrides) for v in self.variants}

    def warnings(self) -> list[str]:
        """Things that are valid but probably not what the author meant."""
        notes = []
        hosts = [("host", self.host.resolved)]
        if self.mixed_hosts:  # each group that writes a host of its own, by name; the others have the scenario's
            hosts += [
                (f"hosts.{g.name}.host", h) for g, h in zip(self.hosts or [], self._group_hosts, strict=True) if g.host
            ]
        for where, host in hosts:
            if host.source_addresses > 1 and not any(w.bind for w in self.workloads):
                notes.append(
                    f"{where}.source_addresses is {host.source_addresses} but no workload binds: a plain connect() "
                    "uses the first address only (set bind: no_port to spread connections, as IP_BIND_ADDRESS_NO_PORT)"
                )
            if host.tw_reuse and host.sharing == "none":
                notes.append(f"{where}.tw_reuse has no effect with sharing: none")
        for w in self.workloads:
            if w.pool is not None:
                notes.extend(f"workloads.{w.name}.pool: {note}" for note in w.pool.contradictions())
        window = self.duration - self.warmup
        # a keep-alive pool's connections close when the pool decides, not after each request's hold
        holds = [
            w.holding.expected + self.host_of(w).time_wait
            for w in self.workloads
            if w.close == "client" and not w.pooled
        ]
        if self.nat is not None:  # the translator's mappings outlive their connections too
            holds += [w.holding.expected + self.nat.after_close(w.close == "reset") for w in self.workloads]
            notes.extend(f"nat: {note}" for note in self.nat.contradictions())
        if holds and window < 3 * max(holds):
            notes.append(
                f"the measured window (duration - warmup = {window:g} s) is shorter than three TIME_WAIT cycles "
                "(of the host, or of the translator's mappings after close): "
                "figures may not have settled (see README, Erlang B)"
            )
        for where, host in hosts:
            outside = sorted(p for p in host.reserved if not host.low <= p <= host.high)
            if outside:
                notes.append(
                    f"{len(outside)} reserved port(s) of {where} lie outside port_range {host.low}-{host.high} "
                    f"and change nothing (e.g. {outside[0]})"
                )
        attempts = self.expected_attempts
        if attempts > LONG_RUN:
            notes.append(
                f"about {attempts:,.0f} connection attempts: expect a long run (roughly {attempts / 1e5 / 60:,.0f} "
                "minutes at 100,000 attempts per second); Ctrl-C stops it cleanly"
            )
        return notes

    def active(self, workload: Workload) -> float:
        """Seconds the workload attempts connections."""
        return max(0.0, min(workload.stop or self.duration, self.duration) - workload.start)

    @property
    def expected_attempts(self) -> float:
        """Expected connection attempts over all replications, from the workloads' mean rates."""
        return (
            sum(w.offered.mean_rate * self.active(w) * self.hosts_running(w) for w in self.workloads)
            * self.replications
        )

    @property
    def step(self) -> float:
        """The time-series sampling step in seconds."""
        assert self.sample_interval is not None  # _defaults fills it
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
            for raw_group, g in zip(data.get("hosts") or [], self.hosts or [], strict=True):
                if g.host is not None:
                    raw_group["host"] = g.host.written()
            for raw, w in zip(data["workloads"], self.workloads, strict=True):
                if w.pool is not None:
                    raw["pool"] = w.pool.given()
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
        overridden: dict[KeyPath, str] = {}
        for path, value in [*fields.items(), *items]:
            overridden[set_path(raw, path, value, source)] = f"{source}: {path}={echo(value)}"
        return validate(raw, source=source, overridden=overridden)


class OverrideError(ScenarioError):
    """A validation error in a value set by an override; ``override`` is its key path."""

    def __init__(self, message: str, override: KeyPath, detail: str) -> None:
        super().__init__(message)
        self.override = override
        self.detail = detail


def validate(
    raw: Any,
    source: str,
    lines: Mapping[KeyPath, int] | None = None,
    overridden: Mapping[KeyPath, str] | None = None,
) -> Scenario:
    """Validate plain data into a Scenario, raising ScenarioError on the first problem.

    ``lines`` maps key paths to file lines; ``overridden`` maps the key paths set by overrides to
    their text, so that an error in such a value names the override, not the file.
    """
    if not isinstance(raw, dict):
        raise ScenarioError(f"{source}: the file must be a YAML mapping of keys (name, duration, host, workloads)")
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        # A misspelt key also makes the intended key "missing": report the misspelling first.
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        path, problem = describe(errors[0], raw, Scenario)
        more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        cause = (errors[0].get("ctx") or {}).get("error")
        for key in getattr(cause, "also", ()):
            sibling = (*path[:-1], key)
            if overridden and sibling in overridden and path[:-1] + path[-1:] not in overridden:
                message = f"{overridden[sibling]}: {format_path(path)}: {problem}{more}"
                raise OverrideError(message, sibling, f"{format_path(path)}: {problem}{more}") from None
        blamed = [path[:cut] for cut in range(len(path), 0, -1) if overridden and path[:cut] in overridden]
        blamed += [key for key in overridden or {} if path and key[: len(path)] == path]  # a key the override made
        if blamed and overridden:
            key = blamed[0]
            detail = f"{problem}{more}" if key == path else f"{format_path(path)}: {problem}{more}"
            message = f"{overridden[key]}: {format_path(path)}: {problem}{more}"
            raise OverrideError(message, key, detail) from None
        line = ""
        if lines:
            for cut in range(len(path), -1, -1):
                if path[:cut] in lines:
                    line = f":{lines[path[:cut]]}"
                    break
        raise ScenarioError(f"{source}{line}: {format_path(path)}: {problem}{more}") from None
