"""portsim: a discrete-event simulator of an operating system's ephemeral port pool.

Times are in seconds and rates in connections per second throughout.

    import sim
    result = sim.run("scenarios/quickstart.yaml", seed=1)
    result.summary["blocking_probability"]
    result.plot_occupancy()
"""

from .experiment import run, run_variants
from .model import PortModel, simulate, version
from .policies import POLICIES, Policy, register
from .presets import PRESETS
from .results import RunResult, load_result
from .scenario import Scenario, ScenarioError, load_scenario
from .sockets import SocketHost
from .stats import erlang_b

__version__ = version()

__all__ = [
    "POLICIES",
    "PRESETS",
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
