"""Fleets: groups of identical hosts, each running the same workloads (rates are per host)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from ..core.spec import Spec
from .workload import NAME_PATTERN

MAX_HOSTS = 10_000
"""Hosts in a scenario, over all groups."""
MAX_GROUPS = 64


class HostGroup(Spec):
    """``count`` hosts that share the scenario's ``host`` settings and each run the named ``workloads``."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    count: Annotated[int, Field(ge=1, le=MAX_HOSTS)] = 1
    workloads: Annotated[list[str], Field(min_length=1, max_length=64)]


@dataclass(frozen=True)
class Group:
    """A group as the model runs it: its hosts are ``first`` to ``first + count - 1``."""

    name: str
    first: int
    count: int
    workloads: tuple[int, ...]
    """Indices into ``scenario.workloads``."""
