"""The figure sim.explore draws, and its Erlang B curve."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from sim.config.scenario import Scenario
from sim.stats.erlang import erlang_b
from sim.teach.explore_figure import draw, erlang_b_many, erlang_curve, png, total_rate
from tests.conftest import simulate


def test_erlang_b_many_is_the_stats_layers_erlang_b() -> None:
    loads = np.array([0.0, 0.5, 7.3, 16.0, 40.0])
    for servers in (0, 1, 16, 200):
        expected = [erlang_b(servers, float(a)) for a in loads]
        assert erlang_b_many(servers, loads) == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_the_curve_passes_through_the_reports_prediction(make_scenario: Callable[..., Scenario]) -> None:
    result = simulate(make_scenario())  # 16 ports, 5/s x (1 s + 2 s TIME_WAIT)
    curve = erlang_curve(result)
    assert curve is not None
    assert (curve.ports, curve.pools) == (16, 1)
    assert curve.at(total_rate(result)) == pytest.approx(result.summary.erlang_b.blocking_probability, rel=1e-12)
    assert curve.at(5.0) == pytest.approx(erlang_b(16, 15.0), rel=1e-12)
    assert curve.rates[0] == 0
    assert curve.rates[-1] * curve.load_per_rate == pytest.approx(2 * 16)  # up to twice the ports in Erlangs
    assert np.all(np.diff(curve.blocking) >= 0)


def test_several_pools_share_the_load(make_scenario: Callable[..., Scenario]) -> None:
    result = simulate(make_scenario(host={"source_addresses": 4}, workload={"bind": "no_port"}))
    curve = erlang_curve(result)
    assert curve is not None
    assert curve.pools == 4
    assert curve.at(5.0) == pytest.approx(erlang_b(16, 5.0 / 4 * 3.0), rel=1e-12)


def test_no_curve_where_erlang_b_does_not_apply(make_scenario: Callable[..., Scenario]) -> None:
    result = simulate(make_scenario(host={"policy": "random_pick"}))
    assert erlang_curve(result) is None
    fig = draw(result, None)
    texts = [t.get_text() for t in fig.axes[2].texts]
    assert any("random_pick" in t for t in texts)


def test_draw_shows_the_curve_the_run_and_earlier_runs(make_scenario: Callable[..., Scenario]) -> None:
    result = simulate(make_scenario(host={"time_wait": 10.0}))
    curve = erlang_curve(result)
    assert curve is not None
    fig = draw(result, curve, [(3.0, 0.1), (4.0, 0.2)])
    assert len(fig.axes) == 3
    lines = {line.get_label(): line for line in fig.axes[2].get_lines()}
    assert np.array_equal(lines["Erlang B (16 ports)"].get_ydata(), curve.blocking)
    assert list(lines["earlier runs"].get_xdata()) == [3.0, 4.0]
    simulated = next(line for label, line in lines.items() if label.startswith("simulated"))
    assert list(simulated.get_ydata()) == [result.summary.blocking_probability]
    assert png(fig).startswith(b"\x89PNG")
