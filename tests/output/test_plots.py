"""Plots: each one is a labelled Figure that a person can read without the rest of the output."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import sim
from sim.config.scenario import Scenario
from sim.output import plots


@pytest.fixture(params=[1, 3], ids=["single", "replications"])
def result(request: pytest.FixtureRequest, make_scenario: Callable[..., Scenario]) -> sim.RunResult:
    scenario = make_scenario(workload={"arrivals": {"kind": "poisson", "rate": 8.0}})
    return sim.run(scenario, replications=request.param)


@pytest.mark.parametrize("name", sorted(plots.PLOTS))
def test_every_plot_is_labelled(name: str, result: sim.RunResult) -> None:
    fig = plots.PLOTS[name](result)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert fig.get_suptitle().endswith(": tiny")
    assert "(" in ax.get_xlabel()  # units or scale in the axis label
    assert ax.get_ylabel()
    assert ax.get_legend() is not None
    if result.summary.get("replications"):
        assert "mean of 3 replications" in ax.get_title()


def test_occupancy_draws_the_pool_size(result: sim.RunResult) -> None:
    ax = result.plot_occupancy().axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "pool size (16 ports)" in labels
    assert {"ESTABLISHED", "TIME_WAIT"} <= set(labels)


@pytest.mark.parametrize("replications", [1, 2])
def test_occupancy_draws_each_host_groups_ports_and_pool_size(
    make_scenario: Callable[..., Scenario], tmp_path: Path, replications: int
) -> None:
    w = make_scenario().to_dict()["workloads"][0]
    v = {**w, "name": "v", "destinations": [{"address": "10.0.0.2", "port": 80}]}
    scenario = make_scenario(
        workloads=[w, v],
        hosts=[
            {"name": "a", "count": 3, "workloads": ["w"]},
            {"name": "b", "count": 2, "host": {"port_range": [50000, 50019]}, "workloads": ["v"]},
        ],
    )
    # read back from the results folder, as the plots are drawn from it
    result = sim.load_result(sim.run(scenario, replications=replications).save(tmp_path / "out", plots=False))
    ax = result.plot_occupancy().axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "ports in use, group a (of 48)" in labels
    assert "ports in use, group b (of 40)" in labels
    lines = {line.get_label(): line for line in ax.get_lines()}
    _, expected = result.series_mean("ports_in_use.b")
    np.testing.assert_array_equal(lines["ports in use, group b (of 40)"].get_ydata(), expected)
    assert expected.max() > 0
    dotted = [line for line in ax.get_lines() if line.get_linestyle() == ":" and line.get_color() in plots.GROUP_COLORS]
    pools = sorted(line.get_ydata()[0] for line in dotted)
    assert pools == [40, 48]


def test_occupancy_draws_the_fullest_groups_when_there_are_more_than_six(
    make_scenario: Callable[..., Scenario],
) -> None:
    w = make_scenario().to_dict()["workloads"][0]
    quiet = [{**w, "name": f"q{i}", "arrivals": {"kind": "poisson", "rate": 0.2}} for i in range(6)]
    busy = {**w, "name": "busy", "arrivals": {"kind": "poisson", "rate": 12.0}}
    groups = [{"name": f"g{i}", "workloads": [f"q{i}"]} for i in range(6)] + [{"name": "last", "workloads": ["busy"]}]
    result = sim.run(make_scenario(workloads=[*quiet, busy], hosts=groups))
    labels = [t.get_text() for t in result.plot_occupancy().axes[0].get_legend().get_texts()]
    drawn = [label for label in labels if label.startswith("ports in use, group")]
    assert len(drawn) == plots.GROUP_LINES
    assert "ports in use, group last (of 16)" in drawn  # the one that fills, though listed last
    assert "1 more group(s) in summary.json" in labels


def test_occupancy_ticks_are_all_thousands_or_all_plain(make_scenario: Callable[..., Scenario]) -> None:
    # 5 Linux hosts (141,160 ports) holding about 100/s x 60 s of TIME_WAIT each: an axis past 100,000
    fleet = make_scenario(
        duration=70.0,
        host={"preset": "linux", "port_range": [32768, 60999], "time_wait": 60.0},
        hosts=[{"name": "web", "count": 5, "workloads": ["w"]}],
        workload={"arrivals": {"kind": "poisson", "rate": 100.0}, "close": "client"},
    )
    # one host's 16,384 ports filling up: an axis to about 17,700, where "8000" beside "10k" read oddly
    small = make_scenario(
        duration=70.0,
        host={"port_range": [49152, 65535], "time_wait": 60.0},
        workload={"arrivals": {"kind": "poisson", "rate": 300.0}, "close": "client"},
    )

    def labels(scenario: Scenario) -> list[str]:
        fig = sim.run(scenario).plot_occupancy()
        FigureCanvasAgg(fig).draw()
        return [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_text() not in ("", "0")]

    big = labels(fleet)
    assert big
    assert all(text.endswith("k") for text in big)
    assert not any(text.endswith("k") for text in labels(small))


def test_the_failures_legend_and_note_sit_above_the_lines(make_scenario: Callable[..., Scenario]) -> None:
    """A steady rate draws a flat line near the top of the axes: the legend and the note must not cover it."""
    result = sim.run(make_scenario(workload={"arrivals": {"kind": "poisson", "rate": 30.0}}))
    fig = result.plot_failures()
    ax = fig.axes[0]
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    highest = max(float(np.max(p.get_path().vertices[:, 1])) for p in ax.patches)
    line_top = ax.transData.transform((0.0, highest))[1]
    boxes = [ax.get_legend().get_window_extent(renderer), ax.texts[0].get_window_extent(renderer)]
    assert all(line_top < box.y0 for box in boxes)


@pytest.mark.parametrize(
    "arrivals",
    [
        {"kind": "profile", "points": [[0, 2], [10, 20], [20, 2]]},
        {"kind": "diurnal", "mean": 10, "amplitude": 8, "period": 10},
    ],
    ids=lambda a: a["kind"],
)
def test_occupancy_shows_a_varying_offered_rate_on_a_second_axis(
    arrivals: dict[str, object], make_scenario: Callable[..., Scenario], result: sim.RunResult
) -> None:
    """The offered rate, from the time series' attempts per step, where the rate changes in time; not for Poisson."""
    assert len(result.plot_occupancy().axes) == 1
    varying = sim.run(make_scenario(workload={"arrivals": arrivals}))
    fig = varying.plot_occupancy()
    assert len(fig.axes) == 2
    ax, rate = fig.axes
    assert rate.get_ylabel() == "offered rate (attempts/s)"
    assert rate.get_shared_x_axes().joined(ax, rate)
    (steps,) = rate.patches
    t = varying.series["time_s"]
    attempts = varying.series["attempts"]
    assert steps.get_data().values.tolist() == pytest.approx((attempts[1:] / np.diff(t)).tolist())
    labels = [text.get_text() for text in rate.get_legend().get_texts()]  # drawn above the rate line
    assert "offered rate (attempts/s)" in labels
    assert "ESTABLISHED" in labels


def test_the_offered_rate_of_request_workloads_counts_requests(make_scenario: Callable[..., Scenario]) -> None:
    w = {
        "name": "api",
        "requests": {
            "arrivals": {"kind": "diurnal", "mean": 40, "amplitude": 30, "period": 10},
            "latency": {"kind": "fixed", "value": 0.05},
        },
        "pool": "go",
        "destinations": [{"address": "10.0.0.1", "port": 80}],
    }
    pooled = sim.run(make_scenario(workloads=[w]))
    _, rate = pooled.plot_occupancy().axes
    assert rate.get_ylabel() == "offered rate (requests/s)"
    (steps,) = rate.patches
    t, requests = pooled.series["time_s"], pooled.series["requests"]
    assert steps.get_data().values.tolist() == pytest.approx((requests[1:] / np.diff(t)).tolist())
    assert requests.sum() > 2 * pooled.series["attempts"].sum()  # the pool connects far less often


def test_plots_handle_an_idle_run(make_scenario: Callable[..., Scenario], tmp_path: Path) -> None:
    idle = sim.run(make_scenario(duration=1.0, workload={"arrivals": {"kind": "constant", "interval": 5.0}}))
    assert idle.summary["attempts"] == 0
    written, failed = plots.save_all(idle, tmp_path)
    assert failed == []
    assert [p.name for p in written] == [f"{n}.png" for n in plots.plots_for(idle)]
    assert "port_map" in plots.plots_for(idle)  # every run has its still: here the end of the run
    assert all(p.stat().st_size > 10_000 for p in written)


def test_the_folders_module_knows_every_plot_file() -> None:
    from sim.output.folders import PLOT_FILES

    pictures = {f"{name}.png" for name in (*plots.PLOTS, *plots.OPTIONAL_PLOTS)}
    assert pictures | set(plots.ANIMATION_FILES) == PLOT_FILES


def test_the_comparison_axis_stays_readable_when_nothing_fails(make_scenario: Callable[..., Scenario]) -> None:
    calm = make_scenario(host={"port_range": [50000, 50999]}, workload={"close": "server"})
    results = {"a": sim.run(calm), "b": sim.run(calm.with_changes({"workloads.w.arrivals.rate": 1.0}))}
    assert all(r.summary["failures"] == 0 for r in results.values())
    left = plots.comparison(results).axes[0]
    assert left.get_ylim() == pytest.approx((0.0, plots.MIN_BLOCKING_AXIS * 1.15))
