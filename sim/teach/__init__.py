"""Teaching: the course's check helpers and the notebook generator (``python -m sim.teach.build``).

Notebooks find the shipped scenarios with ``scenario("quickstart")``; exercise cells end with a check::

    from sim.teach import check
    check(answer, 270, rel=0.05, what="the capacity at 1% blocking", hint="use sim.find_capacity")
"""

from __future__ import annotations

from .check import Verdict, check, check_range, check_that, outcomes
from .scenarios import scenario

__all__ = ["Verdict", "check", "check_range", "check_that", "outcomes", "scenario"]
