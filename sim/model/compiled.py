"""The compiled fast path: whether this installation has it, and attaching it to a run that it covers.

``sim/model/_batch.pyx`` (Cython) runs the common case of a run in C: connect() with the ``linux``
(even-sized range), ``random_start`` or ``sequential`` policy, closes by the client (TIME_WAIT), the
server or an RST (no FIN_WAIT2 orphans), no tcp_tw_reuse, no bind(), no client layer, no trace; one host
or a fleet, with or without a translator in front (every NAT kind). Every other run, and a covered run
from the moment it needs a rule the compiled path lacks (``max_tw_buckets`` reached at a client's close, a
layer subscribing to the lifecycle), runs in the Python model, which stays the reference: both give the
same records, bit for bit, for the same seed.

``PORTSIM_PURE=1`` forces the Python model. A build is used only while the sources it mirrors
(``mirrored.MIRRORED``) are those it was compiled from.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..core.transitions import AT_ONCE, CLIENT
from ..nat.linux import LinuxSnatTranslator
from ..nat.quotas import QuotaTranslator
from .mirrored import digest
from .recorder import TICK_MASK

PURE_VARIABLE = "PORTSIM_PURE"
"""Set to 1 to run the pure Python model even where the compiled path is built."""
COVERED_CLOSES = (CLIENT, AT_ONCE)
"""The close codes the compiled path runs: the client's (TIME_WAIT), and the server's or an RST's (free at once)."""
COVERED_POLICIES = ("linux", "random_start", "sequential")
"""The policies the compiled path runs (``_batch.POLICY_KINDS``)."""


@dataclass(frozen=True)
class Build:
    """Which model this process runs."""

    module: ModuleType | None
    """The compiled module, or None for the pure Python model."""
    reason: str
    """Why it is pure (empty when compiled)."""

    @property
    def compiled(self) -> bool:
        """Whether runs the compiled path covers use it."""
        return self.module is not None

    def describe(self) -> str:
        """One line for ``portsim --version``."""
        return "compiled fast path (Cython)" if self.compiled else f"pure Python model ({self.reason})"


@functools.cache
def _installed() -> tuple[ModuleType | None, str]:
    """The compiled module if it is built and current (checked once per process), else (None, why)."""
    try:
        module = importlib.import_module(f"{__package__}._batch")
    except ImportError:
        return None, "the compiled fast path is not built: no C compiler or Cython at install"
    current = digest(Path(__file__).resolve().parent.parent)
    if current != module.SOURCE_HASH:
        print(
            f"portsim: the compiled fast path is stale (built from sources {module.SOURCE_HASH}, now {current}): "
            "running the pure Python model; rebuild it with `make compiled` (or reinstall portsim)",
            file=sys.stderr,
        )
        return None, "the compiled fast path is stale: rebuild it"
    return module, ""


def build() -> Build:
    """The model this process runs now (``PORTSIM_PURE`` is read on every call)."""
    if os.environ.get(PURE_VARIABLE, "") not in ("", "0"):
        return Build(None, f"{PURE_VARIABLE} is set")
    module, reason = _installed()
    return Build(module, reason)


def uncovered(model: Any) -> str | None:
    """Why the compiled path cannot run ``model`` (a ``PortModel``: typed loosely, ``model`` imports this module)
    from its start, or None when it can."""
    if model.scenario.parts_per_group:
        return "host groups with hosts (or max_tw_buckets) of their own"
    lifecycle = model.lifecycle
    if not lifecycle._fast:
        return "the general lifecycle path was asked for"
    hooks = lifecycle.hooks
    translator = [] if model.nat is None else [model.nat._closed]
    if model.clients is not None or hooks.released or hooks.closed != translator:
        return "a layer follows the lifecycle (client pool or retries)"
    if model.nat is not None and type(model.nat.translator) not in (QuotaTranslator, LinuxSnatTranslator):
        return f"translator {type(model.nat.translator).__name__}"
    for d in model.drivers:
        if d.replay is not None or d.bound or d.layered:
            return f"workload {d.spec.name!r} replays a trace or binds"
    rules = lifecycle.rules
    if any(code not in COVERED_CLOSES for code in rules.close_codes):
        return "a workload leaves FIN_WAIT2 orphans (close: half)"
    if any(any(r) for r in rules.reusable):
        return "tcp_tw_reuse applies"
    kind = model.host.policy_name
    if kind not in COVERED_POLICIES:
        return f"policy {kind!r}"
    if kind == "linux" and not model.policy._even:
        return "the linux policy on an odd-sized range"
    return None


def attach(model: Any) -> Any | None:
    """The compiled path attached to ``model`` (a ``PortModel``) as a ``_batch.Batch``, or None when the Python
    model runs it. A layer that subscribes to the lifecycle later makes it hand over at its next batch."""
    module = build().module
    if module is None or uncovered(model) is not None:
        return None
    return module.Batch(model, model._every_tick, TICK_MASK)


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.model.compiled --current``: exit 0 when the compiled path is built and current, else 1
    (``make compiled`` rebuilds it then)."""
    args = sys.argv[1:] if argv is None else argv
    if args != ["--current"]:
        print("usage: python -m sim.model.compiled --current", file=sys.stderr)
        return 2
    return 0 if _installed()[0] is not None else 1


if __name__ == "__main__":
    sys.exit(main())
