"""One function that builds a translator of any kind for a fleet, and the names of its pools' owners."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .kinds import LinuxSnat, NatKind
from .linux import LinuxSnatTranslator
from .quotas import QuotaTranslator
from .translator import Translator


def _linux(kind: NatKind, hosts: int, n_destinations: int, rng: np.random.Generator) -> Translator:
    assert isinstance(kind, LinuxSnat)
    return LinuxSnatTranslator(kind, hosts, n_destinations, rng)


BUILDERS: dict[str, Callable[[NatKind, int, int, np.random.Generator], Translator]] = {
    "linux-snat": _linux,
    "aws-nat-gateway": QuotaTranslator,
    "azure-lb-outbound": QuotaTranslator,
    "azure-nat-gateway": QuotaTranslator,
    "gcp-cloud-nat": QuotaTranslator,
}
"""How each kind's pools hand out mappings: port by port (netfilter) or counted (the clouds)."""


def make_translator(kind: NatKind, hosts: int, n_destinations: int, rng: np.random.Generator) -> Translator:
    """The translator of ``kind`` in front of ``hosts`` hosts and ``n_destinations`` destinations."""
    return BUILDERS[kind.name](kind, hosts, n_destinations, rng)


def unit_labels(kind: NatKind, groups: Sequence[tuple[str, int]]) -> list[str]:
    """Names of the pools' owners: ``address 1``... or ``GROUP/N`` for each host of (group name, hosts)."""
    if kind.scope == "host":
        return [f"{name}/{i}" for name, count in groups for i in range(count)]
    return [f"address {i + 1}" for i in range(kind.public_addresses)]
