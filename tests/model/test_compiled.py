"""The compiled fast path against the Python model it mirrors: bit-for-bit equal records, handover, build checks."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.config.load import load_scenario
from sim.config.scenario import Scenario, validate
from sim.model import compiled
from sim.model.model import PortModel
from sim.model.portmap import PortMapSpec
from sim.model.records import RunRecords
from tests.model.test_recorder import fold_as_defined
from tests.strategies import covered_fleet_scenarios, covered_scenarios

SCALE = float(os.environ.get("PORTSIM_EXAMPLES_SCALE", "1"))


@pytest.fixture
def built() -> None:
    """The compiled path must be built where CI runs (CI=true); elsewhere its tests are skipped, saying why."""
    build = compiled.build()
    if not build.compiled:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs the compiled path, but: {build.reason}")
        pytest.skip(build.reason)


@contextlib.contextmanager
def build(pure: bool) -> Iterator[None]:
    """PORTSIM_PURE set for ``pure``, else cleared, then as it was (usable inside Hypothesis examples)."""
    previous = os.environ.get(compiled.PURE_VARIABLE)
    os.environ[compiled.PURE_VARIABLE] = "1" if pure else "0"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[compiled.PURE_VARIABLE]
        else:
            os.environ[compiled.PURE_VARIABLE] = previous


def model_on(scenario: Scenario, pure: bool, port_map: PortMapSpec | None = None) -> PortModel:
    with build(pure):
        return PortModel(scenario, port_map=port_map)


def run(scenario: Scenario, pure: bool, port_map: PortMapSpec | None = None) -> tuple[RunRecords, PortModel]:
    model = model_on(scenario, pure, port_map)
    attached = model.batch is not None
    records = model.run()
    assert attached is (not pure and compiled.uncovered(model) is None)
    return records, model


def assert_same(a: object, b: object, path: str = "records") -> None:
    """Every field equal, arrays element for element, floats bit for bit (the wall time aside)."""
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), path
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, dict):
        assert isinstance(b, dict), path
        assert a.keys() == b.keys(), path
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple), path
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert_same(vars(a), vars(b), path)
    elif hasattr(a, "counts"):  # the histograms: their state, not their bound buffer methods
        assert_same(
            {k: v for k, v in vars(a).items() if not callable(v)},
            {k: v for k, v in vars(b).items() if not callable(v)},
            path,
        )
    else:
        assert a == b or (a != a and b != b), (path, a, b)


def assert_same_records(a: RunRecords, b: RunRecords) -> None:
    assert_same(
        {k: v for k, v in vars(a).items() if k != "wall_time_s"},
        {k: v for k, v in vars(b).items() if k != "wall_time_s"},
    )


@pytest.mark.usefixtures("built")
@settings(max_examples=max(10, int(150 * SCALE)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(covered_scenarios())
def test_the_compiled_path_gives_the_python_models_records_bit_for_bit(raw: dict[str, Any]) -> None:
    """Random scenarios (policies, destinations, several workloads, warm-up, timer grids, small ranges that
    fail, max_tw_buckets handing over mid-run, workloads it does not cover): identical records."""
    scenario = validate(raw, "<random>")
    pure, _ = run(scenario, pure=True)
    fast, _ = run(scenario, pure=False)
    assert_same_records(pure, fast)


@pytest.mark.usefixtures("built")
@settings(max_examples=max(10, int(150 * SCALE)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(covered_fleet_scenarios())
def test_fleets_and_translators_give_the_python_models_records_bit_for_bit(raw: dict[str, Any]) -> None:
    """Random fleets (one or two groups), most behind a translator of any kind with small limits and short
    timers (drops, SYNs held until connect() times out, cooldowns, idle drops, netfilter's search and
    evictions), some handing over at max_tw_buckets: identical records, the translator's included."""
    scenario = validate(raw, "<random>")
    pure, _ = run(scenario, pure=True)
    fast, _ = run(scenario, pure=False)
    assert_same_records(pure, fast)


NAT_SCENARIOS = sorted(
    p.name
    for p in Path(__file__).resolve().parents[2].joinpath("scenarios").glob("*.yaml")
    if re.search(r"^nat:", p.read_text(), re.MULTILINE)
)


SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
MIXED = {name for name in NAT_SCENARIOS if load_scenario(SCENARIO_DIR / name).mixed_hosts}
"""Shipped NAT scenarios whose host groups have hosts of their own: the pure path runs them."""
LAYERED = {name for name in NAT_SCENARIOS if any(w.layered for w in load_scenario(SCENARIO_DIR / name).workloads)}
"""Shipped NAT scenarios with client pools or retries: the pure path runs them too."""


@pytest.mark.usefixtures("built")
@pytest.mark.parametrize(
    ("name", "reason"),
    [(name, "host groups with hosts (or max_tw_buckets) of their own") for name in sorted(MIXED)]
    + [(name, "a layer follows the lifecycle (client pool or retries)") for name in sorted(LAYERED)],
)
def test_fleets_with_hosts_of_their_own_or_client_pools_run_on_the_pure_path(name: str, reason: str) -> None:
    model = model_on(load_scenario(SCENARIO_DIR / name), pure=False)
    assert model.batch is None
    assert compiled.uncovered(model) == reason


@pytest.mark.usefixtures("built")
@pytest.mark.parametrize("name", sorted(set(NAT_SCENARIOS) - MIXED - LAYERED))
def test_a_translator_handed_over_mid_run_goes_on_in_python_as_if_it_had_run_there(name: str) -> None:
    """Each shipped NAT scenario, shortened: the compiled path hands over mid-run (a layer subscribing), with
    open, closing and idle mappings and held SYNs written back; the rest of the run in Python gives a pure
    run's records."""
    scenario = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / name)
    scenario = scenario.with_changes(duration=scenario.warmup + 60.0, replications=1)

    def handed_over(pure: bool) -> RunRecords:
        model = model_on(scenario, pure)
        assert (model.batch is None) is pure
        model.env.run(until=scenario.warmup + 30.0)
        model.lifecycle.on_close(lambda conn, t, code: None)
        model.env.run(until=scenario.warmup + 31.0)
        assert model.batch is None
        return model.run()

    pure = handed_over(pure=True)
    assert pure.nat is not None
    assert pure.nat.attempts > 0
    assert_same_records(pure, handed_over(pure=False))


@pytest.mark.usefixtures("built")
@pytest.mark.parametrize(
    ("host_ports", "rate", "nat_ports"), [([40000, 59999], 20.0, [1024, 1055]), ([50000, 50001], 2.0, [50000, 50255])]
)
def test_netfilter_frees_no_port_that_changed_hands_while_its_mapping_closed(
    host_ports: list[int], rate: float, nat_ports: list[int]
) -> None:
    """A closing conntrack entry's port taken over, by an eviction (a full range) or by the same host and port
    connecting again (hosts with two ports, kept by the translator's range): the first owner's free, still due,
    leaves the port to the new one, as in the Python translator."""
    raw = {
        "name": "reowned",
        "duration": 30.0,
        "seed": 5,
        "host": {"preset": "linux", "tw_reuse": 0, "port_range": host_ports},
        "workloads": [
            {
                "name": "w",
                "arrivals": {"kind": "poisson", "rate": rate},
                "duration": {"kind": "exponential", "mean": 0.2},
                "close": "reset",
                "destinations": [{"address": "10.0.0.1", "port": 443}],
            }
        ],
        "hosts": [{"name": "pods", "count": 4, "workloads": ["w"]}],
        "nat": {"kind": "linux-snat", "ports": nat_ports, "close": 3.0, "evict": 1.0},
    }
    scenario = validate(raw, "<reowned>")
    fast, model = run(scenario, pure=False)
    pure, _ = run(scenario, pure=True)
    assert_same_records(pure, fast)
    translator = model.nat.translator if model.nat is not None else None
    assert translator is not None
    if nat_ports[1] - nat_ports[0] < 64:
        assert (translator.evicted or 0) > 10
    else:  # 8 host tuples, in the range, each back within conntrack's 3 s about 1 time in 2
        assert translator.evicted == 0


@pytest.mark.usefixtures("built")
def test_the_ring_of_open_mappings_is_compacted_behind_a_long_lived_one() -> None:
    """One connection open for the whole run holds the head of the open mappings while thousands close behind
    it: compacting the ring (made to happen often here) loses none of them."""
    raw = {
        "name": "compact",
        "duration": 60.0,
        "seed": 3,
        "host": {"preset": "linux", "tw_reuse": 0},
        "workloads": [
            {
                "name": "long",
                "arrivals": {"kind": "constant", "interval": 0.5},
                "stop": 1.0,
                "duration": {"kind": "fixed", "value": 1000.0},
                "destinations": [{"address": "10.0.0.1", "port": 443}],
            },
            {
                "name": "short",
                "arrivals": {"kind": "poisson", "rate": 200.0},
                "duration": {"kind": "exponential", "mean": 0.2},
                "destinations": [{"address": "10.0.0.1", "port": 443}],
            },
        ],
        "hosts": [{"name": "web", "count": 3, "workloads": ["long", "short"]}],
        "nat": {"kind": "aws-nat-gateway", "idle_timeout": 30.0, "per_destination": 400},
    }
    scenario = validate(raw, "<compact>")
    model = model_on(scenario, pure=False)
    assert model.batch is not None
    nat = model.batch.nat
    assert nat is not None
    nat.compact_at = 64
    fast = model.run()
    assert nat.compactions > 10
    pure, _ = run(scenario, pure=True)
    assert_same_records(pure, fast)
    assert fast.nat is not None
    assert fast.nat.idle_timeouts >= 1  # the long ones, dropped idle about 30 s after they opened


def reference(close: str = "client", **host: Any) -> Scenario:
    return validate(
        {
            "name": "reference",
            "duration": 120.0,
            "warmup": 20.0,
            "seed": 11,
            "host": {"preset": "linux", "port_range": [49152, 53247], **host},
            "workloads": [
                {
                    "name": "w",
                    "arrivals": {"kind": "poisson", "rate": 80.0},
                    "duration": {"kind": "exponential", "mean": 1.0},
                    "close": close,
                    "destinations": [{"address": "10.0.0.1", "port": 443}],
                }
            ],
        },
        "<reference>",
    )


@pytest.mark.usefixtures("built")
@pytest.mark.parametrize(
    ("policy", "close"), [("linux", "client"), ("random_start", "server"), ("sequential", "reset")]
)
def test_a_busy_run_is_equal_and_taken_by_the_compiled_path(policy: str, close: str) -> None:
    """A range that runs short (failures, long scans) under each covered policy and close, with a port map."""
    scenario = reference(close, policy=policy, tw_reuse=0)
    if close != "client":  # free at once: a range 50 times smaller runs short
        scenario = scenario.with_changes({"host.port_range": [49152, 49231]})
    pure, _ = run(scenario, pure=True, port_map=PortMapSpec())
    fast, model = run(scenario, pure=False, port_map=PortMapSpec())
    assert compiled.uncovered(model) is None  # so run() saw it attached
    assert sum(fast.failures) > 100  # the failure path ran
    assert_same_records(pure, fast)
    # the compiled path keeps its calendar to the end, and gave the still-open intervals; handed back, the Python
    # lifecycle gives the same means to the last bit
    assert model.batch is not None
    model.batch.detach()
    assert model.batch is None
    assert model.lifecycle.time_means(scenario.duration) == fast.means


@pytest.mark.usefixtures("built")
def test_connections_open_across_the_window_start_count_from_it_at_the_end() -> None:
    """Connections of 150 s on a 120 s run measured from 20 s: those opened in the warm-up are still ESTABLISHED at
    the end, and the compiled path's still-open seconds (its calendar, kept to the end) start at the window."""
    raw = reference(tw_reuse=0).to_dict(resolved=False)
    raw["workloads"][0]["arrivals"]["rate"] = 5.0
    raw["workloads"][0]["duration"] = {"kind": "uniform", "low": 10.0, "high": 150.0}
    scenario = validate(raw, "<long>")
    pure, _ = run(scenario, pure=True)
    fast, model = run(scenario, pure=False)
    assert model.batch is not None
    assert_same_records(pure, fast)
    assert 0 < fast.means["established"] < fast.peak_established


@pytest.mark.usefixtures("built")
def test_max_tw_buckets_hands_over_to_python_at_the_close_that_needs_it() -> None:
    scenario = reference(tw_reuse=0, max_tw_buckets=2000)
    model = model_on(scenario, pure=False)
    assert model.batch is not None
    model.env.run(until=10.0)
    assert model.batch is not None  # 800 connections: under the limit
    model.env.run(until=60.0)
    assert model.batch is None  # 2,000 TIME_WAITs by about 26 s: the Python rules from then on
    assert model.lifecycle.time_wait <= 2000
    fast = model.run()
    pure, _ = run(scenario, pure=True)
    assert sum(fast.dest_overflow) > 0
    assert_same_records(pure, fast)


def test_uncovered_says_why() -> None:
    def why(**host: Any) -> str | None:
        return compiled.uncovered(PortModel(reference(**host), fast=True))

    assert why(tw_reuse=0) is None
    assert why(tw_reuse=1) == "tcp_tw_reuse applies"
    assert why(tw_reuse=0, policy="double_hash") == "policy 'double_hash'"
    assert compiled.uncovered(PortModel(reference("half", tw_reuse=0))) == (
        "a workload leaves FIN_WAIT2 orphans (close: half)"
    )
    assert why(tw_reuse=0, port_range=[49152, 53246]) == "the linux policy on an odd-sized range"
    assert (
        compiled.uncovered(PortModel(reference(tw_reuse=0), fast=False)) == "the general lifecycle path was asked for"
    )


def test_portsim_pure_forces_the_python_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(compiled.PURE_VARIABLE, "1")
    build = compiled.build()
    assert not build.compiled
    assert build.describe() == "pure Python model (PORTSIM_PURE is set)"
    assert PortModel(reference(tw_reuse=0)).batch is None


@pytest.mark.usefixtures("built")
def test_a_stale_build_is_not_used(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """After a mirrored source changes (here: its digest), the build is left alone with one warning line."""
    monkeypatch.setattr(compiled, "digest", lambda _: "0123456789abcdef")
    module, reason = compiled._installed.__wrapped__()
    assert module is None
    assert reason == "the compiled fast path is stale: rebuild it"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("portsim: the compiled fast path is stale (built from sources ")


def test_the_digest_covers_every_mirrored_file(tmp_path: Path) -> None:
    from sim.model.mirrored import MIRRORED, digest

    package = Path(compiled.__file__).parent.parent
    for name in MIRRORED:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes((package / name).read_bytes())
    assert digest(tmp_path) == digest(package)
    for name in MIRRORED:
        original = (tmp_path / name).read_bytes()
        (tmp_path / name).write_bytes(original + b"\n")
        assert digest(tmp_path) != digest(package), name
        (tmp_path / name).write_bytes(original)
    (tmp_path / MIRRORED[0]).unlink()
    assert digest(tmp_path) == "missing"


def test_version_says_which_model_runs() -> None:
    portsim = Path(sys.executable).parent / "portsim"
    shown = subprocess.run([str(portsim), "--version"], capture_output=True, text=True, check=True).stdout
    assert compiled.build().describe() in shown
    pure = subprocess.run(
        [str(portsim), "--version"], capture_output=True, text=True, check=True, env={**os.environ, "PORTSIM_PURE": "1"}
    ).stdout
    assert "pure Python model (PORTSIM_PURE is set)" in pure


def test_the_make_check_says_whether_the_build_is_current() -> None:
    """``make compiled`` rebuilds when ``python -m sim.model.compiled --current`` exits 1."""
    current = subprocess.run([sys.executable, "-m", "sim.model.compiled", "--current"], capture_output=True)
    assert current.returncode == (0 if compiled._installed()[0] is not None else 1)
    assert compiled.main(["--what"]) == 2


@pytest.mark.usefixtures("built")
def test_a_layer_subscribing_after_the_model_is_built_makes_it_hand_over() -> None:
    """The compiled path has no hooks: a subscriber added between batches gets every event from then on, from
    the Python model, as it would in a pure run."""
    scenario = reference(tw_reuse=0)

    def watched(pure: bool) -> tuple[RunRecords, list[float], PortModel]:
        model = model_on(scenario, pure)
        assert (model.batch is None) is pure
        model.env.run(until=5.0)
        closes: list[float] = []
        model.lifecycle.on_close(lambda conn, t, code: closes.append(t))
        model.env.run(until=6.0)
        assert model.batch is None
        return model.run(), closes, model

    fast, fast_closes, _ = watched(pure=False)
    pure, pure_closes, _ = watched(pure=True)
    assert_same_records(pure, fast)
    assert len(fast_closes) > 7000  # 80/s from 5 s to 120 s, less the attempts that failed
    assert fast_closes == pure_closes
    assert fast_closes[0] >= 5.0


@pytest.mark.usefixtures("built")
@pytest.mark.parametrize(("close", "destinations"), [("client", 1), ("reset", 1), ("client", 3), ("reset", 3)])
def test_the_pool_handed_back_mid_run_is_the_python_pools_port_for_port(close: str, destinations: int) -> None:
    """Counts the compiled path keeps its own way (a port's socket count, written and not read when a port
    carries one 4-tuple; port-busy seconds as a sum of times) come back as the Python pool holds them."""
    raw = reference(close).to_dict()
    raw["workloads"][0]["destinations"] = [{"address": f"10.0.0.{d + 1}", "port": 443} for d in range(destinations)]
    raw["workloads"][0]["arrivals"]["rate"] = 400.0  # 28,000 connections through 4,096 ports: ports reused
    scenario = validate(raw, "<test>")
    pools = []
    for pure in (True, False):
        model = model_on(scenario, pure)
        model.env.run(until=70.0)
        if model.batch is not None:
            model.batch.detach()
        pools.append(model.pool)
    python, handed = pools
    assert python.ports_in_use > 300  # about 400 open, and with client close about 1,000 per key in TIME_WAIT
    for name in ("refs", "local", "in_use", "_views", "_busy", "_released"):
        assert_same(getattr(python, name), getattr(handed, name), name)
    assert python.port_seconds(70.0) == handed.port_seconds(70.0)


@pytest.mark.usefixtures("built")
def test_closes_at_the_same_instant_go_in_opening_order() -> None:
    """Two workloads opening at the same instants with the same fixed duration close at the same instants: in
    opening order, as in the Python model, which a layer that subscribes later sees in the TIME_WAITs' releases."""
    workload = {
        "arrivals": {"kind": "constant", "interval": 0.5},
        "duration": {"kind": "fixed", "value": 1.0},
        "destinations": [{"address": "10.0.0.1", "port": 443}],
    }
    scenario = validate(
        {
            "name": "ties",
            "duration": 40.0,
            "host": {"preset": "linux", "port_range": [40000, 40063], "time_wait": 10.0, "policy": "random_start"},
            "workloads": [{"name": "a", **workload}, {"name": "b", **workload}],
        },
        "<ties>",
    )

    def releases(pure: bool) -> list[tuple[float, int]]:
        model = model_on(scenario, pure)
        assert (model.batch is None) is pure
        model.env.run(until=20.0)
        seen: list[tuple[float, int]] = []
        model.lifecycle.on_release(lambda conn, t: seen.append((t, conn[4])))
        model.run()
        return seen

    fast = releases(pure=False)
    assert len(fast) > 30
    assert len({t for t, _ in fast}) < len(fast)  # ties
    assert fast == releases(pure=True)


@pytest.mark.usefixtures("built")
def test_the_time_wait_ring_grows_while_it_wraps() -> None:
    """A load that rises once TIME_WAITs have started to expire makes the ring grow with its head inside it."""
    quiet = {
        "name": "quiet",
        "arrivals": {"kind": "poisson", "rate": 10.0},
        "duration": {"kind": "exponential", "mean": 1.0},
        "destinations": [{"address": "10.0.0.1", "port": 443}],
    }
    busy = {**quiet, "name": "busy", "arrivals": {"kind": "poisson", "rate": 100.0}, "start": 90.0}
    scenario = validate(
        {
            "name": "rising",
            "duration": 150.0,
            "host": {"preset": "linux", "time_wait": 60.0, "tw_reuse": 0},
            "workloads": [quiet, busy],
        },
        "<rising>",
    )
    pure, _ = run(scenario, pure=True)
    fast, _ = run(scenario, pure=False)
    assert fast.peak_time_wait > 4000  # grown twice from 1,024 after the first expiries at 60 s
    assert_same_records(pure, fast)


def test_without_a_compiler_the_build_says_so_in_one_line_and_leaves_no_module(tmp_path: Path) -> None:
    """``setup.py build_ext`` with a compiler that fails: exit 0, one warning line, no extension in place, even
    where an earlier build left one under build/."""
    root = Path(compiled.__file__).resolve().parents[2]
    ignore = shutil.ignore_patterns("*.so", "_batch.c", "__pycache__")
    shutil.copytree(root / "sim", tmp_path / "sim", ignore=ignore)
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy2(root / name, tmp_path / name)
    stale = tmp_path / "build" / "lib" / "sim" / "model" / f"_batch{sysconfig.get_config_var('EXT_SUFFIX')}"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an earlier build")
    done = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--inplace", "--build-lib", str(tmp_path / "build" / "lib")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "CC": "/bin/false"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("portsim: the compiled fast path was not built (")
    assert lines[0].endswith("portsim will run its pure Python model (same results)")
    assert not list((tmp_path / "sim" / "model").glob("_batch*.so"))


@pytest.mark.usefixtures("built")
@given(
    st.integers(1, 5),
    st.integers(1, 3),
    st.integers(2, 40),
    st.lists(st.tuples(st.integers(0, 10**6), st.booleans()), max_size=300),
    st.booleans(),
)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_compiled_fold_counts_what_numpys_sorted_fold_counts(
    n_sources: int, n_dests: int, size: int, draws: list[tuple[int, bool]], varied: bool
) -> None:
    """``fold_pairs`` walks the connections in turn instead of sorting them: any sources, destinations, ranges (one
    per source or shared) and fold points give the reuse distances and increments of the per-connection
    definition, and leave the state the next fold carries on from as numpy's fold leaves it."""
    module = compiled.build().module
    assert module is not None
    sizes = [max(1, size - 7 * s) for s in range(n_sources)] if varied else None
    connections = []
    for x, fold in draws:
        src = x % n_sources
        span = size if sizes is None else sizes[src]
        connections.append((src, x // n_sources % n_dests, x // (n_sources * n_dests) % span, fold))
    walked = fold_as_defined(n_sources, n_dests, size, connections, walk=module.fold_pairs, sizes=sizes)
    sorted_ = fold_as_defined(n_sources, n_dests, size, connections, sizes=sizes)
    np.testing.assert_array_equal(walked._count, sorted_._count)
    np.testing.assert_array_equal(walked._previous, sorted_._previous)
    for pair in np.flatnonzero(sorted_._row >= 0).tolist():
        np.testing.assert_array_equal(
            walked._last_use[walked._row[pair]], sorted_._last_use[sorted_._row[pair]], err_msg=f"pair {pair}"
        )
