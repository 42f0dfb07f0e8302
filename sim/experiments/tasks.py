"""Tasks: the unit of every multi-run job (replications, variants, sweep points, capacity searches).

A task is one replication of one resolved scenario. Its random streams come from (seed, replication)
alone, so a task gives the same result in any process, on any machine, in any order.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from ..config.scenario import Scenario
from ..model.model import PortModel
from ..model.portmap import PortMapSpec
from ..report.records import Summary
from ..report.run import RunReport
from ..report.summary import report
from ..version import version


@dataclass(frozen=True)
class Task:
    """One replication of a resolved scenario."""

    scenario: Scenario
    replication: int = 0
    port_map: PortMapSpec | None = None
    """Record the port map's frames (not part of the cache key: only runs ask for them, never cached)."""

    @property
    def cost(self) -> float:
        """Expected connection attempts of this one replication: the order in which workers take tasks."""
        return self.scenario.expected_attempts / self.scenario.replications

    @property
    def key(self) -> str:
        """A hash of (resolved scenario, seed, replication, portsim version): the task's cache key.

        The scenario's replication count is left out: replication r is the same whatever the count.
        """
        data = self.scenario.to_dict()
        data.pop("replications", None)
        text = json.dumps([data, self.scenario.seed, self.replication, version()], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def run_report(task: Task) -> RunReport:
    """Simulate a task; its whole report (time series and histograms included)."""
    return report(PortModel(task.scenario, task.scenario.seed, task.replication, port_map=task.port_map).run())


def run_summary(task: Task) -> Summary:
    """Simulate a task; its summary only (what sweeps and capacity searches keep)."""
    return run_report(task).summary
