"""Arrival processes and duration distributions: exact behaviour and agreement with theory."""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from scipy import stats as scipy_stats

import sim
from sim.cli.main import main
from sim.config.errors import ScenarioError
from sim.config.load import load_scenario
from sim.config.scenario import Scenario
from sim.core.arrivals import ARRIVALS, MAX_POINTS, Arrivals, Constant, Diurnal, OnOff, Poisson, Profile, Varying
from sim.core.durations import DURATIONS, Duration, Exponential, Fixed, Lognormal, Pareto, Uniform
from sim.core.streams import BATCH
from sim.report.theory import predict
from tests.theory import Z, fits


def assert_mean_in_ci(sample: np.ndarray, mean: float, variance: float) -> None:
    """The sample mean lies in the 99.9% confidence band around the true mean (central limit theorem)."""
    half = Z * math.sqrt(variance / sample.size)
    assert abs(sample.mean() - mean) < half, (sample.mean(), mean, half)


@pytest.mark.parametrize(
    ("dist", "variance"),
    [
        (Exponential(mean=2.0), 4.0),
        (Lognormal(mean=1.0, sigma=0.5), math.exp(0.25) - 1),
        (Uniform(low=1.0, high=3.0), 4 / 12),
        (Pareto(shape=5.0, scale=1.0), 5 / (16 * 3)),
        (Pareto(shape=5.0, mean=2.0), (1.6**2) * 5 / (16 * 3)),
    ],
    ids=repr,
)
def test_duration_sample_mean_matches_expected(dist: Duration, variance: float) -> None:
    sample = dist.sample(np.random.default_rng(11), 200_000)
    assert_mean_in_ci(sample, dist.expected, variance)
    assert (sample >= 0).all()


def test_fixed_is_fixed() -> None:
    assert Fixed(value=0.25).sample(np.random.default_rng(0), 5).tolist() == [0.25] * 5


def test_pareto_minimum_and_mean() -> None:
    p = Pareto(shape=2.0, mean=3.0)
    assert p.minimum == 1.5
    assert p.expected == 3.0
    assert p.sample(np.random.default_rng(1), 10_000).min() >= 1.5


def test_lognormal_shape_matches_theory() -> None:
    d = Lognormal(mean=1.0, sigma=1.0)
    sample = d.sample(np.random.default_rng(4), 50_000)
    result = scipy_stats.kstest(np.log(sample), "norm", args=(-0.5, 1.0))  # mu = ln(mean) - sigma^2/2
    assert fits(result.pvalue)


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (Uniform, {"low": 3.0, "high": 1.0}, "greater than high"),
        (Pareto, {"shape": 2.0}, "exactly one"),
        (Pareto, {"shape": 2.0, "scale": 1.0, "mean": 2.0}, "exactly one"),
        (Pareto, {"shape": 1.0, "scale": 1.0}, "greater than 1"),
        (Exponential, {"mean": 0.0}, "greater than 0"),
        (Fixed, {"value": -1.0}, "greater than or equal to 0"),
    ],
)
def test_invalid_distributions_are_rejected(cls: type[Duration], kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        cls(**kwargs)


def test_reprs_read_like_the_call() -> None:
    assert repr(Exponential(mean=1.0)) == "Exponential(mean=1.0)"
    assert repr(Pareto(shape=2.5, mean=1.0)) == "Pareto(shape=2.5, mean=1.0)"
    assert repr(Poisson(rate=300)) == "Poisson(rate=300.0)"
    assert repr(OnOff(rate=5, mean_on=1, mean_off=2)) == "OnOff(rate=5.0, mean_on=1.0, mean_off=2.0)"


def test_registries_know_every_kind() -> None:
    assert set(DURATIONS) == {"fixed", "exponential", "lognormal", "uniform", "pareto"}
    assert set(ARRIVALS) == {"poisson", "constant", "onoff", "profile", "diurnal", "trace"}


def test_constant_arrivals_are_exact() -> None:
    times = list(itertools.islice(Constant(interval=0.5).times(np.random.default_rng(0), 10.0, 100.0), 4))
    assert times == [10.5, 11.0, 11.5, 12.0]


def test_poisson_gaps_are_exponential() -> None:
    rate = 40.0
    times = np.fromiter(itertools.islice(Poisson(rate=rate).times(np.random.default_rng(2), 0.0, 1e9), 100_000), float)
    gaps = np.diff(times, prepend=0.0)
    assert (gaps > 0).all()
    assert_mean_in_ci(gaps, 1 / rate, 1 / rate**2)
    assert fits(scipy_stats.kstest(gaps, "expon", args=(0, 1 / rate)).pvalue)


def test_onoff_long_run_rate() -> None:
    spec = OnOff(rate=100.0, mean_on=1.0, mean_off=3.0)
    horizon = 20_000.0
    rng = np.random.default_rng(9)
    count = sum(1 for _ in spec.times(rng, 0.0, horizon))
    # Counts of an interrupted Poisson process over a long horizon T have mean rate_mean*T and variance
    # rate_mean*T*IDC, with the asymptotic index of dispersion of an MMPP-2 whose off rate is zero:
    # IDC = 1 + 2*r_on*r_off*rate^2 / ((r_on + r_off)^2 * rate*r_off) = 1 + 2*rate*p_off^2*mean_on.
    p_off = 0.75
    mean = spec.mean_rate * horizon
    dispersion = 1 + 2 * spec.rate * p_off**2 * spec.mean_on
    half = Z * math.sqrt(mean * dispersion)
    assert spec.mean_rate == 25.0
    assert abs(count - mean) < half, (count, mean, half)


@pytest.mark.parametrize(
    ("spec", "stop"),
    [
        (Poisson(rate=1e-6), 10.0),
        (Constant(interval=1e6), 10.0),
        (OnOff(rate=1e-6, mean_on=1e-6, mean_off=1.0), 10.0),
        (OnOff(rate=1e-6, mean_on=1e-6, mean_off=1e-6), 0.05),
        (OnOff(rate=1e3, mean_on=1.0, mean_off=1.0), 10.0),
        (Profile(points=[[0, 1e-6]]), 10.0),
        (Profile(points=[[0, 0], [5, 0], [5.5, 1e-6]]), 10.0),
        (Diurnal(mean=1e-6, amplitude=1e-6, period=1.0), 10.0),
    ],
    ids=repr,
)
def test_every_arrival_process_ends_at_its_stop(spec: Arrivals, stop: float) -> None:
    """A process that yields nothing still reaches its stop time (the on/off hang of issue 7, defect 6)."""
    times = list(spec.times(np.random.default_rng(3), 0.0, stop))
    assert all(0.0 <= t < stop for t in times)
    assert times == sorted(times)


# Rate profiles: `profile` (piecewise linear) and `diurnal` (sinusoidal), non-homogeneous Poisson processes
# drawn by thinning. Counts in disjoint windows are independent Poisson variables with mean the integral of
# the rate over the window; every statistical check below is at LEVEL (tests/theory.py).

RAMPS = Profile(points=[[0, 200], [60, 800], [120, 200], [150, 0], [180, 0], [240, 400]])
"""Up, down, to zero, flat at zero, up again, then flat at the last rate: every kind of piece."""


def window_integrals(spec: Varying, edges: np.ndarray) -> np.ndarray:
    """The integral of the rate over each window: exact for a profile (trapezoids on a grid holding every
    point), in closed form for a diurnal rate."""
    if isinstance(spec, Diurnal):
        omega = 2 * math.pi / spec.period
        cos = np.cos(omega * (edges - spec.phase))
        return np.asarray(spec.mean * np.diff(edges) - spec.amplitude / omega * np.diff(cos))
    assert isinstance(spec, Profile)
    knots = [t for t, _ in spec.points if edges[0] < t < edges[-1]]
    grid = np.union1d(edges, knots)
    rates = spec.rate_at(grid)
    area = np.concatenate([[0.0], np.cumsum(np.diff(grid) * (rates[:-1] + rates[1:]) / 2)])
    return np.diff(np.interp(edges, grid, area))


def counts_fit(observed: np.ndarray, expected: np.ndarray) -> bool:
    """Pearson's chi-square of Poisson counts in disjoint windows against their means (no fitted parameter,
    so as many degrees of freedom as windows); windows with mean 0 must be empty."""
    positive = expected > 0
    assert (observed[~positive] == 0).all(), observed[~positive]
    assert expected[positive].min() > 20  # the chi-square approximation holds
    stat = float((((observed - expected) ** 2)[positive] / expected[positive]).sum())
    return fits(float(scipy_stats.chi2.sf(stat, int(positive.sum()))))


def drawn(spec: Arrivals, seed: int, start: float, stop: float) -> np.ndarray:
    return np.fromiter(spec.times(np.random.default_rng(seed), start, stop), float)


@pytest.mark.parametrize(
    ("spec", "start", "stop"),
    [
        (RAMPS, 0.0, 300.0),
        (RAMPS, 130.0, 170.0),  # from inside a segment into the zero stretch
        (RAMPS, 250.0, 300.0),  # past the last point
        (Profile(points=[[50, 30]]), 0.0, 100.0),  # before and after the only point
        (Diurnal(mean=50, amplitude=50, period=20, phase=3), 7.0, 70.0),
        (Diurnal(mean=50, amplitude=0, period=20), 0.0, 70.0),
    ],
    ids=repr,
)
def test_rate_profiles_are_reproducible_and_inside_the_window(spec: Varying, start: float, stop: float) -> None:
    times = drawn(spec, 21, start, stop)
    assert times.size > 0
    assert (np.diff(times) > 0).all()
    assert times[0] >= start
    assert times[-1] < stop
    assert np.array_equal(times, drawn(spec, 21, start, stop))  # same seed, same times, bit for bit
    assert not np.array_equal(times, drawn(spec, 22, start, stop))


def test_a_constant_stretch_is_a_plain_poisson_stream() -> None:
    """Where the rate is constant there is nothing to thin: the gaps are the generator's exponentials."""
    times = list(itertools.islice(Profile(points=[[0, 40]]).times(np.random.default_rng(6), 5.0, 100.0), 5))
    expected = 5.0 + np.cumsum(np.random.default_rng(6).exponential(1 / 40, BATCH))[:5]
    assert times == expected.tolist()


def test_a_linear_segment_is_thinned_against_its_highest_rate() -> None:
    """Lewis-Shedler on [0, 10) with rate 10 t: candidates at 100/s, each kept with probability 10 t / 100."""
    rng = np.random.default_rng(8)
    candidates = np.cumsum(rng.exponential(1 / 100, math.ceil(100 * 10 * 1.1) + 16))
    candidates = candidates[candidates < 10]
    kept = candidates[rng.random(candidates.size) * 100 < 10 * candidates]
    assert drawn(Profile(points=[[0, 0], [10, 100]]), 8, 0.0, 10.0).tolist() == kept.tolist()


def test_profile_counts_follow_the_integral_of_the_rate() -> None:
    edges = np.arange(0.0, 301.0, 5.0)
    times = drawn(RAMPS, 12, 0.0, 300.0)
    observed = np.histogram(times, edges)[0]
    expected = window_integrals(RAMPS, edges)
    assert counts_fit(observed, expected)
    segments = 500 * 120 + 100 * 30 + 0 * 30 + 200 * 60 + 400 * 60  # each segment's mean rate x its length
    assert expected.sum() == pytest.approx(segments)


def test_profile_counts_from_a_later_start() -> None:
    edges = np.arange(100.0, 281.0, 5.0)
    observed = np.histogram(drawn(RAMPS, 13, 100.0, 280.0), edges)[0]
    assert counts_fit(observed, window_integrals(RAMPS, edges))


def test_a_zero_rate_segment_yields_no_arrivals() -> None:
    for seed in range(5):
        times = drawn(RAMPS, seed, 0.0, 300.0)
        assert not ((times >= 150) & (times <= 180)).any()
    assert drawn(Profile(points=[[0, 0], [100, 0], [100.5, 1]]), 1, 0.0, 100.0).size == 0


def test_a_single_point_is_a_homogeneous_poisson_process() -> None:
    spec = Profile(points=[[30, 40]])
    assert spec.mean_rate == 40.0
    times = np.fromiter(itertools.islice(spec.times(np.random.default_rng(2), 0.0, 1e9), 100_000), float)
    gaps = np.diff(times, prepend=0.0)
    assert_mean_in_ci(gaps, 1 / 40, 1 / 40**2)
    assert fits(scipy_stats.kstest(gaps, "expon", args=(0, 1 / 40)).pvalue)


def test_a_tall_short_peak_costs_only_its_own_time() -> None:
    """Each segment is thinned against its own highest rate, not the profile's."""
    spec = Profile(points=[[0, 1], [100, 1], [100.01, 1e6], [100.02, 1], [1000, 1]])
    assert spec.steps(1000.0) == pytest.approx(1000 + 0.02 * 1e6, rel=1e-6)  # not 1e6 x 1000
    times = drawn(spec, 4, 0.0, 1000.0)
    edges = np.array([0.0, 100.0, 100.01, 100.02, 1000.0])
    assert counts_fit(np.histogram(times, edges)[0], window_integrals(spec, edges))


def test_diurnal_counts_follow_the_sine() -> None:
    spec = Diurnal(mean=50, amplitude=30, period=100, phase=10)
    edges = np.arange(0.0, 2001.0, 10.0)
    times = drawn(spec, 14, 0.0, 2000.0)
    observed = np.histogram(times, edges)[0]
    expected = window_integrals(spec, edges)
    assert counts_fit(observed, expected)
    # Peak windows: the 10 s around phase + period/4 (rate near 80/s) of each of the 20 periods; trough
    # windows: around phase + 3 period/4 (near 20/s). Each total is Poisson; a normal interval at LEVEL.
    phase = (edges[:-1] - spec.phase) % spec.period
    for centre in (25.0, 75.0):
        window = np.abs(phase + 5 - centre) < 1
        count, mean = observed[window].sum(), expected[window].sum()
        assert abs(count - mean) < Z * math.sqrt(mean), (centre, count, mean)
    peak, trough = expected[np.abs(phase - 20) < 1].sum(), expected[np.abs(phase - 70) < 1].sum()
    assert peak / trough == pytest.approx((50 + 30 * 0.9836) / (50 - 30 * 0.9836), rel=1e-3)


def test_rate_at() -> None:
    assert RAMPS.rate_at(-5.0) == 200.0  # before the first point: the first rate
    assert RAMPS.rate_at(30.0) == 500.0
    assert RAMPS.rate_at(1e6) == 400.0  # after the last point: the last rate
    assert isinstance(RAMPS.rate_at(30.0), float)
    assert RAMPS.rate_at(np.array([0.0, 90.0, 165.0])).tolist() == [200.0, 500.0, 0.0]
    diurnal = Diurnal(mean=500, amplitude=300, period=86400, phase=3600)
    assert diurnal.rate_at(3600 + 86400 / 4) == pytest.approx(800.0)
    assert diurnal.rate_at(np.array([3600.0, 3600 + 3 * 86400 / 4])) == pytest.approx([500.0, 200.0])


def test_mean_rates_steps_and_scaling() -> None:
    day = Profile(points=[[0, 200], [3600, 800], [7200, 200]])
    assert day.mean_rate == 500.0  # the time average over [0, last point's time]
    assert Profile(points=[[10, 100], [20, 300]]).mean_rate == 150.0  # 10 s at 100, then 10 s averaging 200
    assert Profile(points=[[0, 7]]).mean_rate == 7.0
    assert day.steps(7200) == pytest.approx(800 * 7200)  # each half thinned against its top, 800
    assert day.steps(10_000) == pytest.approx(800 * 7200 + 200 * 2800)
    assert RAMPS.steps(300) == pytest.approx(800 * 120 + 200 * 30 + 400 * 60 + 400 * 60)
    assert day.scaled(2) == {"points": [[0, 400], [3600, 1600], [7200, 400]]}
    diurnal = Diurnal(mean=500, amplitude=300, period=86400)
    assert (diurnal.mean_rate, diurnal.steps(10)) == (500.0, 8000.0)
    assert diurnal.scaled(0.5) == {"mean": 250.0, "amplitude": 150.0}
    assert not day.is_poisson
    assert not diurnal.is_poisson


def test_reprs_of_rate_profiles() -> None:
    assert repr(Profile(points=[[0, 1], [5, 2]])) == "Profile(points=[[0.0, 1.0], [5.0, 2.0]])"
    assert repr(Diurnal(mean=5, amplitude=1, period=60)) == "Diurnal(mean=5.0, amplitude=1.0, period=60.0, phase=0.0)"


BAD_PROFILES: list[tuple[list[list[Any]], str, str]] = [
    # (points, the key the error names under arrivals, the problem)
    ([], "points", r"List should have at least 1 item"),
    ([[i, 1.0] for i in range(MAX_POINTS + 1)], "points", r"List should have at most 10000 items"),
    ([[0.0]], "points[0]", r"a point is \[time, rate\], not 1 number"),
    ([[0, 1], [1, 2, 3]], "points[1]", r"a point is \[time, rate\], not 3 number"),
    ([[-1, 5]], "points[0][0]", r"time \(-1\) must be between 0 and 1e\+09 s"),
    ([[2e9, 5]], "points[0][0]", r"time \(2e\+09\) must be between 0 and 1e\+09 s"),
    ([[math.inf, 5]], "points[0][0]", r"time \(inf\) must be between"),
    ([[math.nan, 5]], "points[0][0]", r"time \(nan\) must be between"),
    ([[0, 5], [0, 6]], "points[1][0]", r"time \(0\) must be after the previous point's \(0\)"),
    ([[0, 5], [9, 6], [3, 1]], "points[2][0]", r"time \(3\) must be after the previous point's \(9\)"),
    ([[0, -1]], "points[0][1]", r"rate \(-1\) must be between 0 and 1e\+09 per second"),
    ([[0, 2e9]], "points[0][1]", r"rate \(2e\+09\) must be between"),
    ([[0, math.inf]], "points[0][1]", r"rate \(inf\) must be between"),
    ([[0, math.nan]], "points[0][1]", r"rate \(nan\) must be between"),
    ([[0, 0], [5, 0]], "points", r"every rate is 0: at least one point needs a positive rate"),
    ([[0, "fast"]], "points[0][1]", r"valid number"),
    ([[0, True]], "points[0][1]", r"valid number"),
]
BAD_DIURNALS: list[tuple[dict[str, Any], str, str]] = [
    ({"mean": 100, "amplitude": 150, "period": 60}, "amplitude", r"amplitude \(150\) is greater than mean \(100\)"),
    (
        {"mean": 8e8, "amplitude": 5e8, "period": 60},
        "amplitude",
        r"peak rate, mean \+ amplitude \(1\.3e\+09\), is above 1e\+09",
    ),
    ({"mean": 0, "amplitude": 0, "period": 60}, "mean", r"greater than 0"),
    ({"mean": 10, "amplitude": -1, "period": 60}, "amplitude", r"greater than or equal to 0"),
    ({"mean": 10, "amplitude": 1, "period": 0}, "period", r"greater than 0"),
    ({"mean": 10, "amplitude": 1, "period": -60}, "period", r"greater than 0"),
    ({"mean": 10, "amplitude": 1, "period": math.inf}, "period", r"finite number"),
    ({"mean": 10, "amplitude": 1, "period": 60, "phase": -1}, "phase", r"greater than or equal to 0"),
    ({"mean": 10, "amplitude": 1}, "period", r"Field required|required key is missing"),
]


@pytest.mark.parametrize(("points", "key", "message"), BAD_PROFILES, ids=[f"{k} {m}" for _, k, m in BAD_PROFILES])
def test_invalid_profiles_are_rejected(points: list[list[Any]], key: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Profile(points=points)


@pytest.mark.parametrize(("kwargs", "key", "message"), BAD_DIURNALS, ids=[f"{k} {m}" for _, k, m in BAD_DIURNALS])
def test_invalid_diurnals_are_rejected(kwargs: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Diurnal(**kwargs)


SCENARIO_ERRORS = [({"kind": "profile", "points": p}, k, m) for p, k, m in BAD_PROFILES] + [
    ({"kind": "diurnal", **kwargs}, k, m) for kwargs, k, m in BAD_DIURNALS
]


@pytest.mark.parametrize(
    ("arrivals", "key", "message"), SCENARIO_ERRORS, ids=[f"{a['kind']} {k} {m}" for a, k, m in SCENARIO_ERRORS]
)
def test_scenario_errors_name_the_key(
    arrivals: dict[str, Any], key: str, message: str, make_scenario: Callable[..., Scenario]
) -> None:
    """Every bad input above, through Scenario loading: one line naming the key path and the problem."""
    with pytest.raises(ScenarioError) as info:
        make_scenario(workload={"arrivals": arrivals})
    text = str(info.value)
    assert "\n" not in text
    assert re.match(rf"<test>: workloads\[0\]\.arrivals\.{re.escape(key)}: .*({message})", text), text


def test_profile_errors_point_at_the_point_and_its_line(tmp_path: Path) -> None:
    text = (
        "name: ramps\nduration: 60\nhost: {preset: iana}\nworkloads:\n  - name: api\n"
        "    arrivals:\n      kind: profile\n      points:\n        - [0, 10]\n        - [30, 50]\n"
        "        - [20, 5]\n    duration: {kind: fixed, value: 1}\n"
        "    destinations: [{address: 10.0.0.1, port: 80}]\n"
    )
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == (
        f"{path}:11: workloads[0].arrivals.points[2][0]: time (20) must be after the previous point's (30)"
    )
    path.write_text(text.replace("[20, 5]", "[40, -5]"))
    with pytest.raises(ScenarioError, match=r"s\.yaml:11: workloads\[0\]\.arrivals\.points\[2\]\[1\]: rate \(-5\)"):
        load_scenario(path)


def test_rate_profiles_scale_and_override_through_the_scenario(make_scenario: Callable[..., Scenario]) -> None:
    s = make_scenario(workload={"arrivals": {"kind": "profile", "points": [[0, 2], [10, 6]]}})
    assert s.workloads[0].arrivals == Profile(points=[[0, 2], [10, 6]])
    doubled = s.with_changes({f"workloads.0.arrivals.{k}": v for k, v in s.workloads[0].arrivals.scaled(2).items()})
    assert doubled.workloads[0].arrivals.mean_rate == 8.0
    overridden = s.with_changes(["workloads.w.arrivals.points=[[0, 1], [5, 3]]"])
    assert overridden.workloads[0].arrivals == Profile(points=[[0, 1], [5, 3]])
    diurnal = make_scenario(workload={"arrivals": {"kind": "diurnal", "mean": 4, "amplitude": 2, "period": 10}})
    changes = {f"workloads.0.arrivals.{k}": v for k, v in diurnal.workloads[0].arrivals.scaled(3).items()}
    assert diurnal.with_changes(changes).workloads[0].arrivals.mean_rate == 12.0


@pytest.mark.parametrize(
    "arrivals",
    [
        {"kind": "profile", "points": [[0, 20], [20, 60], [40, 0]]},
        {"kind": "diurnal", "mean": 30, "amplitude": 20, "period": 20, "phase": 5},
    ],
    ids=lambda a: a["kind"],
)
def test_portsim_runs_rate_profiles_end_to_end(
    arrivals: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A short run through the command line, plots included; Erlang B says why it does not apply."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: varying\nduration: 60\nseed: 3\nhost: {preset: iana, port_range: [50000, 50999], time_wait: 20}\n"
        f"workloads:\n  - name: api\n    arrivals: {json.dumps(arrivals)}\n"
        "    duration: {kind: exponential, mean: 1}\n    destinations: [{address: 10.0.0.1, port: 80}]\n"
    )
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["attempts"] > 0
    assert not summary["erlang_b"]["applicable"]
    assert "arrivals are not all Poisson" in summary["erlang_b"]["note"]
    assert (out / "plots" / "occupancy.png").stat().st_size > 10_000
    assert "blocking probability" in capsys.readouterr().out


def test_erlang_b_does_not_apply_to_rate_profiles(make_scenario: Callable[..., Scenario]) -> None:
    s = make_scenario(workload={"arrivals": {"kind": "diurnal", "mean": 4, "amplitude": 2, "period": 10}})
    prediction = predict(s)
    assert not prediction.applicable
    assert "arrivals are not all Poisson" in prediction.note


@pytest.mark.parametrize(
    "spec",
    [
        Profile(points=[[0, 2], [10, 20], [20, 2]]),
        Profile(points=[[5, 10], [6, 0], [40, 30]]),
        Diurnal(mean=10, amplitude=8, period=7, phase=1.5),
    ],
    ids=lambda s: s.kind,
)
@pytest.mark.parametrize(("start", "stop"), [(0.0, 30.0), (3.0, 12.5), (25.0, 60.0)])
def test_the_mean_rate_over_a_window_is_the_integral_of_the_rate(spec: Varying, start: float, stop: float) -> None:
    t = np.linspace(start, stop, 400_001)
    rates = spec._rates(t) if isinstance(spec, Diurnal) else np.interp(t, *zip(*spec.points, strict=True))
    assert spec.mean_rate_over(start, stop) == pytest.approx(np.trapezoid(rates, t) / (stop - start), rel=1e-6)


def test_the_summary_offers_the_rate_of_the_measured_window(make_scenario: Callable[..., Scenario]) -> None:
    """A profile's mean over [0, last point] is 11/s, but the summary gives what the measured window offers,
    counting nothing after the workload stops."""
    profile = {"kind": "profile", "points": [[0, 2], [10, 20], [20, 2]]}
    scenario = make_scenario(duration=30.0, warmup=5.0, workload={"arrivals": profile, "stop": 25.0})
    assert scenario.workloads[0].offered.mean_rate == pytest.approx(11.0)
    summary = sim.run(scenario).summary
    # [5, 10]: from 11 to 20/s (77.5); [10, 20]: 110; [20, 25]: 2/s (10); [25, 30]: stopped
    assert summary["workloads"]["w"]["offered_rate"] == pytest.approx((77.5 + 110 + 10) / 25)
