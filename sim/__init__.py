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
    from .experiments.runner import run, run_variants, simulate
    from .model.model import PortModel
    from .model.sockets import SocketHost
    from .output.results import RunResult, load_comparison, load_result
    from .stats.erlang import erlang_b

_EXPORTS = {
    "ScenarioError": "config.errors",
    "Limits": "config.limits",
    "load_scenario": "config.load",
    "PRESETS": "config.presets",
    "Scenario": "config.scenario",
    "POLICIES": "core.policies",
    "Policy": "core.policies",
    "register": "core.policies",
    "run": "experiments.runner",
    "run_variants": "experiments.runner",
    "simulate": "experiments.runner",
    "PortModel": "model.model",
    "SocketHost": "model.sockets",
    "RunResult": "output.results",
    "load_comparison": "output.results",
    "load_result": "output.results",
    "erlang_b": "stats.erlang",
}

__all__ = [
    "POLICIES",
    "PRESETS",
    "Limits",
    "Policy",
    "PortModel",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SocketHost",
    "__version__",
    "erlang_b",
    "load_comparison",
    "load_result",
    "load_scenario",
    "register",
    "run",
    "run_variants",
    "simulate",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from .version import version

        return version()
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
