"""Shortened runs for sim.explore: what is shortened, and that the figures stay close to the full run's."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import sim
from sim.config.scenario import Scenario
from sim.experiments.runner import simulate
from sim.teach.preview import MIN_WINDOW_ATTEMPTS, WARMUP_HOLDS, WINDOW_HOLDS, preview
from tests.conftest import ROOT

QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"


def test_a_long_scenario_warms_up_for_one_and_a_half_holds_and_measures_one() -> None:
    scenario = sim.load_scenario(QUICKSTART)  # 300/s for 600 s: 180,000 attempts
    quick = preview(scenario)
    hold = 1.0 + 60.0
    assert quick.hold == pytest.approx(hold)
    assert quick.scenario.warmup == pytest.approx(WARMUP_HOLDS * hold)
    assert quick.scenario.duration == pytest.approx((WARMUP_HOLDS + WINDOW_HOLDS) * hold)
    assert quick.shortened
    assert not quick.transient
    assert quick.scenario.host == scenario.host
    assert quick.scenario.workloads == scenario.workloads
    assert "152.5 s simulated of 600 s, measured from 91.5 s" in quick.note
    assert "120 s" in quick.note


def test_a_cheap_scenario_runs_as_written(make_scenario: Callable[..., Scenario]) -> None:
    scenario = make_scenario()  # 5/s for 20 s
    quick = preview(scenario)
    assert quick.scenario is scenario
    assert not quick.shortened
    assert quick.note.startswith("Full run: 20 s simulated")
    assert preview(sim.load_scenario(QUICKSTART), max_attempts=None).scenario.duration == 600


def test_one_replication(make_scenario: Callable[..., Scenario]) -> None:
    quick = preview(make_scenario(replications=5))
    assert quick.scenario.replications == 1
    assert quick.scenario.duration == 20


def test_a_short_hold_still_measures_enough_attempts() -> None:
    scenario = sim.load_scenario(QUICKSTART, ["workloads.0.close=server"])  # holds 1 s: no TIME_WAIT here
    quick = preview(scenario)
    window = quick.scenario.duration - quick.scenario.warmup
    assert quick.scenario.warmup == pytest.approx(1.5)
    assert window * 300 == pytest.approx(MIN_WINDOW_ATTEMPTS)


def test_a_load_too_heavy_to_settle_is_cut_and_said_so() -> None:
    scenario = sim.load_scenario(QUICKSTART, ["workloads.0.arrivals.rate=5000"])
    quick = preview(scenario, max_attempts=150_000)
    assert quick.transient
    assert quick.scenario.duration == pytest.approx(150_000 / 5000)
    assert quick.scenario.warmup == pytest.approx(0.6 * 30)
    assert "start-up transient" in quick.note


@pytest.mark.slow
def test_the_shortened_quickstart_blocks_about_as_the_full_run() -> None:
    scenario = sim.load_scenario(QUICKSTART)
    full = simulate(scenario).summary.blocking_probability
    short = simulate(preview(scenario).scenario).summary.blocking_probability
    assert full is not None
    assert short is not None
    assert short == pytest.approx(full, rel=0.15)
