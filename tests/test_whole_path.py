"""Random valid scenarios through the whole default path: run, save with plots, load, redraw.

200 examples in ``make test``; ``PORTSIM_EXAMPLES_SCALE`` multiplies them (10 under ``make fuzz``). Every
example checks that the result read back equals the one in memory, shapes and types included (the crash
this guards against came from a histogram shaped one way in memory and another on disk), and builds
every plot from it; one example in RENDER_EVERY also draws them to PNG as ``portsim run`` does (that
costs about 0.3 s a plot).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.config.scenario import validate
from sim.output import plots
from sim.output.results import RunResult, load_result
from tests.strategies import scenarios

SHARDS = 4
"""The examples are split over this many tests, so that test workers share them."""
EXAMPLES = max(SHARDS, int(200 * float(os.environ.get("PORTSIM_EXAMPLES_SCALE", "1"))))
RENDER_EVERY = 8


def check_invariants(result: RunResult) -> None:
    s = result.summary
    reps = s.replications or 1
    assert s.attempts == pytest.approx(s.established + s.failures)
    for w in s.workloads.values():
        assert w.attempts == pytest.approx(w.established + w.failures)
    for d in s.destinations.values():
        assert d.attempts == pytest.approx(d.established + d.failures)
    assert sum(w.attempts for w in s.workloads.values()) == pytest.approx(s.attempts)
    assert sum(d.attempts for d in s.destinations.values()) == pytest.approx(s.attempts)
    assert sum(s.errors.values()) == pytest.approx(s.failures)
    if s.blocking_probability is not None:
        assert 0.0 <= s.blocking_probability <= 1.0
    for level in (s.connections_established, s.time_wait, s.fin_wait2, s.ports_in_use):
        assert level.peak >= level.mean - 1e-9
        assert level.mean >= -1e-9
    assert s.ports_in_use.peak <= s.pool.total_ports
    series = result.series
    held = series["established"] + series["time_wait"] + series["fin_wait2"]
    assert (series["ports_in_use"] <= held).all()  # a port in use carries at least one connection
    assert (series["ports_in_use"] <= s.pool.total_ports).all()
    assert min(series[c].min() for c in ("established", "time_wait", "fin_wait2", "attempts", "failures")) >= 0
    whole_run = series["attempts"].sum() / reps
    assert whole_run >= s.attempts - 1e-9
    if s.measured_from_s == 0:
        assert whole_run == pytest.approx(s.attempts)
        assert series["failures"].sum() / reps == pytest.approx(s.failures)


def same(a: RunResult, b: RunResult) -> None:
    assert a.summary.to_json() == b.summary.to_json()
    assert a.series.keys() == b.series.keys()
    for column in a.series:
        np.testing.assert_array_equal(a.series[column], b.series[column], err_msg=column)
        assert a.series[column].dtype == b.series[column].dtype, column
    for name in ("probe_counts", "reuse_counts", "reuse_edges", "occupancy_attempts", "occupancy_probes"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)  # shapes included
    assert a.port_map_data is not None
    assert b.port_map_data is not None
    np.testing.assert_array_equal(a.port_map_data.still.flags, b.port_map_data.still.flags)
    assert a.port_map_data.still.time == b.port_map_data.still.time


@pytest.mark.parametrize("shard", range(SHARDS))
def test_random_scenarios_run_save_load_and_redraw(shard: int) -> None:
    @settings(
        max_examples=max(1, EXAMPLES // SHARDS),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(scenarios(variants=True), st.integers(min_value=1, max_value=2), st.just(shard))
    def whole_path(raw: dict[str, Any], replications: int, _: int) -> None:
        # a hash, not a drawn flag: Hypothesis favours the smallest values, which would render too often
        render = zlib.crc32(json.dumps([raw, replications], sort_keys=True).encode()) % RENDER_EVERY == 0
        scenario = validate(raw, "<random>").with_changes(replications=replications)
        results = sim.run_variants(scenario)
        folder = Path(tempfile.mkdtemp(prefix="portsim-whole-path-"))
        try:
            for name, result in results.items():
                check_invariants(result)
                result.save(folder / name, plots=render)
                assert (folder / name / "plots").is_dir() == render
                loaded = load_result(folder / name)
                same(result, loaded)
                check_invariants(loaded)
                for make in plots.PLOTS.values():
                    make(loaded)  # the same arrays, shapes and types as in memory (checked above)
        finally:
            shutil.rmtree(folder)

    whole_path()
