"""The translator's plots and files: nat.png, the occupancy plot's translator panel, nat_hosts.npz."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.config.scenario import Scenario
from sim.output import nat_plot, plots
from sim.output.results import load_result


@pytest.fixture
def fleet(make_scenario: Callable[..., Scenario]) -> sim.RunResult:
    s = make_scenario(
        duration=60.0,
        host={"preset": "linux", "port_range": [32768, 60999]},
        hosts=[{"name": "web", "count": 6, "workloads": ["w"]}],
        nat={"kind": "gcp-cloud-nat", "min_ports_per_host": 4, "time_wait": 10.0},
    )
    return sim.run(s)


def test_a_fleet_run_writes_and_reads_back_its_hosts_mappings(fleet: sim.RunResult, tmp_path: Path) -> None:
    assert fleet.nat_hosts is not None
    assert fleet.nat_hosts.shape == (fleet.series["time_s"].size, 6)
    assert fleet.nat_hosts.max() == 4  # every VM fills its 4 ports
    folder = tmp_path / "out"
    fleet.save(folder)
    assert (folder / "nat_hosts.npz").is_file()
    assert (folder / "plots" / "nat.png").is_file()
    back = load_result(folder)
    assert back.nat_hosts is not None
    assert np.array_equal(back.nat_hosts, fleet.nat_hosts)
    assert back.summary == fleet.summary
    for column in ("nat_mappings", "nat_closing", "nat_failures"):
        assert np.array_equal(back.series[column], fleet.series[column])


def test_the_occupancy_plot_gets_a_translator_panel(
    fleet: sim.RunResult, make_scenario: Callable[..., Scenario]
) -> None:
    with_nat = plots.occupancy(fleet)
    without = plots.occupancy(sim.run(make_scenario(duration=20.0)))
    assert len(with_nat.axes) > len(without.axes)
    labels = [t.get_text() for ax in with_nat.axes for t in (ax.get_legend().get_texts() if ax.get_legend() else [])]
    assert "OUT_OF_RESOURCES per second" in labels
    assert "nat" in plots.plots_for(fleet)
    assert "nat" not in plots.plots_for(sim.run(make_scenario(duration=20.0)))


def test_the_heat_map_marks_groups_and_counts_hosts_that_failed(fleet: sim.RunResult) -> None:
    fig = nat_plot.nat(fleet)
    title = fig.axes[0].get_title()
    assert "6 host(s)" in title
    assert "OUT_OF_RESOURCES" in title
    assert any(t.get_text() == "web" for t in fig.axes[0].texts)


def test_the_failures_plot_names_the_translators_error_behind_a_translator(
    fleet: sim.RunResult, make_scenario: Callable[..., Scenario]
) -> None:
    assert fleet.summary.nat is not None
    assert fleet.summary.nat.failures > 0
    labels = [t.get_text() for t in fleet.plot_failures().axes[0].get_legend().get_texts()]
    assert "failures per second (EADDRNOTAVAIL / EADDRINUSE, or the translator's OUT_OF_RESOURCES)" in labels
    alone = sim.run(make_scenario(duration=10.0))
    labels = [t.get_text() for t in alone.plot_failures().axes[0].get_legend().get_texts()]
    assert "failures per second (EADDRNOTAVAIL / EADDRINUSE)" in labels


def panel_texts(result: sim.RunResult) -> tuple[list[str], list[str]]:
    """The translator panel's legend labels and its free texts."""
    ax = plots.occupancy(result).axes[-2]  # the panel (its twin, drops per second, comes last)
    legend = ax.figure.axes[-1].get_legend()
    return [t.get_text() for t in legend.get_texts()], [t.get_text() for t in ax.texts]


def test_a_lightly_used_translators_panel_scales_to_its_mappings(make_scenario: Callable[..., Scenario]) -> None:
    # AWS's 55,000 mappings against 4 hosts' few: the cap is named, not drawn, and no empty closing band is
    light = sim.run(
        make_scenario(
            duration=20.0, hosts=[{"name": "a", "count": 4, "workloads": ["w"]}], nat={"kind": "aws-nat-gateway"}
        )
    )
    labels, texts = panel_texts(light)
    assert "translator's pools 55,000 mappings (off the scale)" in texts
    assert not any(label.startswith("translator's pools") for label in labels)
    assert "held after close" not in labels
    full = sim.run(
        make_scenario(
            duration=20.0,
            hosts=[{"name": "a", "count": 4, "workloads": ["w"]}],
            nat={"kind": "aws-nat-gateway", "per_destination": 8, "hold_after_close": 2.0},
        )
    )
    labels, texts = panel_texts(full)
    assert "translator's pools (8 mappings)" in labels
    assert "held after close" in labels
