"""Fleets: groups of identical hosts, each running the same workloads (rates are per host).

A group's ``host:`` changes the keys it names of the scenario's ``host:`` (the fleet's default), so a
fleet may mix presets, ranges and timers behind one translator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from ..core.host import ResolvedHost
from ..core.spec import Spec
from .host import Host
from .workload import NAME_PATTERN

MAX_HOSTS = 10_000
"""Hosts in a scenario, over all groups."""
MAX_GROUPS = 64


class HostGroup(Spec):
    """``count`` hosts that each run the named ``workloads``, with the scenario's ``host`` settings changed by the
    group's own ``host`` keys."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    count: Annotated[int, Field(ge=1, le=MAX_HOSTS)] = 1
    host: Host | None = Field(default=None, description="the keys of the scenario's host these hosts change")
    workloads: Annotated[list[str], Field(min_length=1, max_length=64)]


@dataclass(frozen=True)
class Group:
    """A group as the model runs it: its hosts are ``first`` to ``first + count - 1``, their source addresses
    ``first_source`` on (``host.source_addresses`` per host)."""

    name: str
    first: int
    count: int
    workloads: tuple[int, ...]
    """Indices into ``scenario.workloads``."""
    host: ResolvedHost
    first_source: int

    @property
    def sources(self) -> range:
        """The source indices of the group's hosts' addresses."""
        return range(self.first_source, self.first_source + self.count * self.host.source_addresses)
