"""portsim: a discrete-event simulator of an operating system's ephemeral port pool.

Times are in seconds and rates in connections per second throughout.

    import sim
    result = sim.run("scenarios/quickstart.yaml", seed=1)
    result.summary.blocking_probability
    result.plot_occupancy()

The package is layered; data flows one way, from ``config`` (YAML to a validated Scenario) through
``core`` (the host model) and ``model`` (SimPy) to ``report`` (typed records), ``output`` (results
folders and plots) and ``experiments``; ``cli`` and ``kernel`` sit on top. The names below are loaded on
first use, so that ``import sim`` (and the command line's start) stays quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config.errors import ScenarioError
    from .config.limits import Limits
    from .config.load import load_scenario
    from .config.presets import PRESETS
    from .config.scenario import Scenario
    from .core.policies import POLICIES, Policy, register
    from .experiments.capacity import find_capacity
    from .experiments.executor import Executor
    from .experiments.fixes import FIXES, Fix, register_fix
    from .experiments.remedies import remedies
    from .experiments.runner import run, run_variants, simulate
    from .experiments.sweep import sweep
    from .model.model import PortModel
    from .model.portmap import PortMapSpec
    from .model.sockets import SocketHost
    from .output.capacity import load_capacity
    from .output.remedies import load_remedies
    from .output.results import RunResult, load_comparison, load_result
    from .output.sweep import load_sweep
    from .stats.erlang import erlang_b
    from .teach.explore import explore

_EXPORTS = {
    "CLIENT_PRESETS": "clients.presets",
    "PoolSpec": "clients.spec",
    "RetrySpec": "clients.spec",
    "ScenarioError": "config.errors",
    "Limits": "config.limits",
    "load_scenario": "config.load",
    "PRESETS": "config.presets",
    "Scenario": "config.scenario",
    "POLICIES": "core.policies",
    "Policy": "core.policies",
    "register": "core.policies",
    "find_capacity": "experiments.capacity",
    "Executor": "experiments.executor",
    "FIXES": "experiments.fixes",
    "Fix": "experiments.fixes",
    "register_fix": "experiments.fixes",
    "remedies": "experiments.remedies",
    "sweep": "experiments.sweep",
    "load_capacity": "output.capacity",
    "load_remedies": "output.remedies",
    "load_sweep": "output.sweep",
    "run": "experiments.runner",
    "run_variants": "experiments.runner",
    "simulate": "experiments.runner",
    "PortModel": "model.model",
    "PortMapSpec": "model.portmap",
    "SocketHost": "model.sockets",
    "RunResult": "output.results",
    "load_comparison": "output.results",
    "load_result": "output.results",
    "erlang_b": "stats.erlang",
    "explore": "teach.explore",
}

__all__ = [
    "CLIENT_PRESETS",
    "FIXES",
    "POLICIES",
    "PRESETS",
    "Executor",
    "Fix",
    "Limits",
    "Policy",
    "PoolSpec",
    "PortMapSpec",
    "PortModel",
    "RetrySpec",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SocketHost",
    "__version__",
    "erlang_b",
    "explore",
    "find_capacity",
    "load_capacity",
    "load_comparison",
    "load_remedies",
    "load_result",
    "load_scenario",
    "load_sweep",
    "register",
    "register_fix",
    "remedies",
    "run",
    "run_variants",
    "simulate",
    "sweep",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from .version import version

        return version()
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
