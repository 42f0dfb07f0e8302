"""portsim: a discrete-event simulator of an operating system's ephemeral port pool.

Times are in seconds and rates in connections per second throughout.

    import sim
    result = sim.run("scenarios/quickstart.yaml", seed=1)
    result.summary.blocking_probability
    result.plot_occupancy()

The package is layered; data flows one way, from ``config`` (YAML to a validated Scenario) through
``core`` (the host model) and ``model`` (SimPy) to ``report`` (typed records), ``output`` (results
folders and plots) and ``experiments``; ``cli`` and ``kernel`` sit on top.
"""

from .config.errors import ScenarioError
from .config.limits import Limits
from .config.load import load_scenario
from .config.presets import PRESETS
from .config.scenario import Scenario
from .core.policies import POLICIES, Policy, register
from .experiments.runner import run, run_variants, simulate
from .model.model import PortModel
from .model.sockets import SocketHost
from .output.results import RunResult, load_result
from .stats.erlang import erlang_b
from .version import version

__version__ = version()

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
    "load_result",
    "load_scenario",
    "register",
    "run",
    "run_variants",
    "simulate",
]
