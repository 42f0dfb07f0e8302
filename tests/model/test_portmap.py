"""The port map's recorder: frames and stills equal to the pool at known times, and no effect on results."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from sim.config.errors import ScenarioError
from sim.config.scenario import Scenario
from sim.core.policies import slot_of
from sim.core.pool import BOUND, ESTABLISHED, RESERVED, TIME_WAIT, PortPool
from sim.model.model import PortModel
from sim.model.portmap import MAX_FRAMES, OTHER, PortMapRecorder, PortMapSpec
from sim.model.recorder import Recorder
from tests.conftest import simulate

HOLD = 2.5
"""Seconds ESTABLISHED of every connection of the hand-computed scenario."""


def by_hand(make_scenario: Callable[..., Scenario], time_wait: float, duration: float = 20.0) -> Scenario:
    """16 ports taken in turn (sequential), one connection a second from t = 1, each ESTABLISHED 2.5 s."""
    return make_scenario(
        duration=duration,
        host={"port_range": [50000, 50015], "policy": "sequential", "time_wait": time_wait},
        workload={"arrivals": {"kind": "constant", "interval": 1.0}, "duration": {"kind": "fixed", "value": HOLD}},
    )


def expected_frame(t: float, time_wait: float, size: int = 16) -> list[int]:
    """The pool at ``t``: connection k (k = 1, 2, ...) opens at k on port (k - 1) mod 16 when k < t, closes at
    k + 2.5 and leaves TIME_WAIT at k + 2.5 + time_wait (no port is needed again before it is free)."""
    frame = [0] * size
    k = 1
    while k < t:
        if t < k + HOLD:
            frame[(k - 1) % size] = ESTABLISHED
        elif t < k + HOLD + time_wait:
            frame[(k - 1) % size] = TIME_WAIT
        else:
            frame[(k - 1) % size] = 0
        k += 1
    return frame


def test_frames_are_the_pool_at_their_times(make_scenario: Callable[..., Scenario]) -> None:
    scenario = by_hand(make_scenario, time_wait=5.0)
    records = PortModel(scenario, port_map=PortMapSpec(fps=21, seconds=1)).run()
    port_map = records.port_map
    assert port_map is not None
    assert port_map.times.tolist() == [float(t) for t in range(21)]
    for k, t in enumerate(port_map.times):
        assert port_map.frames[k].tolist() == expected_frame(t, 5.0), t
        assert port_map.attempts[k] == max(0, min(int(t) - 1, 19))  # attempts at 1, 2, ..., 19 before t
    assert port_map.failures.tolist() == [0] * 21
    assert (port_map.frames[8] != 0).sum() == 7  # an instant with ESTABLISHED and TIME_WAIT both
    assert {ESTABLISHED, TIME_WAIT} <= set(port_map.frames[8].tolist())


def test_the_still_is_the_full_pool_at_the_first_failure(make_scenario: Callable[..., Scenario]) -> None:
    """Each port is held 22.5 s, so the 17th connection (t = 17) finds all 16 taken."""
    scenario = by_hand(make_scenario, time_wait=20.0)
    result = simulate(scenario)
    port_map = result.port_map_data
    assert port_map is not None
    assert port_map.at_failure
    still = port_map.still
    assert still.time == 17.0 == result.summary.first_failure_time_s
    assert (still.attempts, still.failures) == (17, 1)  # the failing attempt included
    assert still.destination == "10.0.0.1:80"
    assert still.flags.tolist() == expected_frame(17.0, 20.0)
    assert still.flags.tolist() == [TIME_WAIT] * 14 + [ESTABLISHED] * 2
    assert not port_map.animated  # no frames unless asked


def test_in_a_fleet_of_groups_with_hosts_of_their_own_the_still_is_the_first_groups(
    make_scenario: Callable[..., Scenario],
) -> None:
    """Group "full" (16 ports, long holds) fails; group "roomy" (a wide range) never does."""
    w = make_scenario().to_dict()["workloads"][0]

    def fleet(first: str) -> Scenario:
        groups = {
            "full": {"name": "full", "count": 2, "workloads": ["w"]},
            "roomy": {"name": "roomy", "host": {"port_range": [40000, 49999]}, "workloads": ["v"]},
        }
        order = [first, "roomy" if first == "full" else "full"]
        return make_scenario(
            duration=30.0,
            workloads=[w, {**w, "name": "v"}],
            workload=None,
            hosts=[groups[k] for k in order],
            host={"time_wait": 20.0},
        )

    full_first, roomy_first = simulate(fleet("full")), simulate(fleet("roomy"))
    assert full_first.summary["failures"] == roomy_first.summary["failures"] > 0
    assert full_first.port_map_data is not None
    assert full_first.port_map_data.at_failure
    assert full_first.port_map_data.still.flags.size == 16
    assert roomy_first.port_map_data is not None
    assert not roomy_first.port_map_data.at_failure  # the failures were on the other group's hosts
    assert roomy_first.port_map_data.still.flags.size == 10_000


def test_a_run_without_failures_keeps_its_last_instant(make_scenario: Callable[..., Scenario]) -> None:
    result = simulate(by_hand(make_scenario, time_wait=5.0))
    port_map = result.port_map_data
    assert port_map is not None
    assert not port_map.at_failure
    assert port_map.still.time == 20.0
    assert port_map.still.flags.tolist() == expected_frame(20.0, 5.0)
    assert port_map.still.attempts == result.summary.attempts == 19


def plain_and_bound(make_scenario: Callable[..., Scenario]) -> Scenario:
    """16 ports shared by plain connections to 10.0.0.2 and bind()-before-connect ones to 10.0.0.1 (which fail)."""
    return make_scenario(
        host={"port_range": [50000, 50015], "time_wait": 30.0},
        workloads=[
            {
                "name": "plain",
                "arrivals": {"kind": "poisson", "rate": 2.0},
                "duration": {"kind": "exponential", "mean": 1.0},
                "destinations": [{"address": "10.0.0.2", "port": 80}],
            },
            {
                "name": "bound",
                "arrivals": {"kind": "poisson", "rate": 2.0},
                "duration": {"kind": "exponential", "mean": 1.0},
                "bind": True,
                "destinations": [{"address": "10.0.0.1", "port": 80}],
            },
        ],
    )


def test_a_bind_failure_shows_every_port_carrying_a_socket(make_scenario: Callable[..., Scenario]) -> None:
    """bind() needs a port with no socket at all: at its failure no cell is free, some only toward the other backend."""
    scenario = plain_and_bound(make_scenario)
    result = simulate(scenario)
    port_map = result.port_map_data
    assert port_map is not None
    assert port_map.at_failure
    assert result.summary.workloads["bound"].failures > 0
    assert port_map.still.time == result.summary.workloads["bound"].first_failure_time_s
    assert port_map.still.destination == "10.0.0.1:80"
    flags = port_map.still.flags
    assert (flags != 0).all()
    assert (flags == OTHER).any()  # ports held only by plain connections to 10.0.0.2
    assert ((flags & BOUND) != 0).any()


def test_a_chosen_destination_gets_the_still_at_the_first_failure(make_scenario: Callable[..., Scenario]) -> None:
    """The bound workload fails toward 10.0.0.1; asked for 10.0.0.2, the still shows that pool at the same
    instant, where the plain connections' own ports are taken and the bound ones are unusable."""
    scenario = plain_and_bound(make_scenario)
    failing = PortModel(scenario).run().port_map
    chosen = PortModel(scenario, port_map=PortMapSpec(fps=1, seconds=1, destination="10.0.0.2:80")).run().port_map
    assert failing is not None
    assert chosen is not None
    assert chosen.at_failure
    assert chosen.still.time == failing.still.time
    assert (chosen.still.destination, failing.still.destination) == ("10.0.0.2:80", "10.0.0.1:80")
    assert chosen.still.flags.tolist() != failing.still.flags.tolist()
    assert ((chosen.still.flags & BOUND) != 0).any()
    assert not (chosen.still.flags == OTHER).any()  # seen from 10.0.0.2, its own connections are not "other"


def test_snapshots_mark_ports_held_toward_other_destinations() -> None:
    pool = PortPool(6, n_sources=1, n_destinations=2, sharing=True, reserved=[5])
    pool.take(0, 1, 1, bound=False, now=0.0)  # toward the other destination only
    pool.take(0, 0, 2, bound=False, now=0.0)
    pool.take(0, 1, 3, bound=True, now=0.0)  # bound toward the other destination: unusable here too
    pool.take(0, 0, 4, bound=False, now=0.0)
    pool.close(0, 0, 4, TIME_WAIT)
    recorder = PortMapRecorder(pool, Recorder(1, 2, 1, 6), ["a:1", "b:2"], low=40000)
    assert recorder.flags(0, 0).tolist() == [0, OTHER, ESTABLISHED, BOUND, TIME_WAIT, RESERVED]
    assert recorder.flags(0, 1).tolist() == [0, ESTABLISHED, OTHER, ESTABLISHED | BOUND, OTHER, RESERVED]


def test_snapshots_are_in_port_order_whatever_the_slot_layout(make_scenario: Callable[..., Scenario]) -> None:
    """The linux policy keeps even ports first (parity layout); a snapshot lists ports from the low end."""
    scenario = make_scenario(
        duration=8.0,
        host={"preset": "linux", "port_range": [40000, 40020], "time_wait": 60.0},
        workload={"arrivals": {"kind": "poisson", "rate": 2.0}, "duration": {"kind": "exponential", "mean": 3.0}},
    )
    model = PortModel(scenario)
    assert model.pool.layout == "parity"
    model.run()
    size = model.pool.size
    flags = model.port_map.flags(0, 0)
    expected = [model.pool.state(0, 0, slot_of(offset, size, "parity")) for offset in range(size)]
    assert flags.tolist() == expected
    assert sum(f != 0 for f in expected) >= 5  # the run held ports in both halves of the layout
    assert len({o % 2 for o in range(size) if expected[o]}) == 2


SAME_RESULTS: dict[str, dict[str, Any]] = {
    "exhaustion": {
        "workload": {"arrivals": {"kind": "poisson", "rate": 12.0}},
    },
    "tw_reuse, two destinations and sources, bind": {
        "host": {"preset": "linux", "port_range": [40000, 40031], "source_addresses": 2, "time_wait": 10.0},
        "workloads": [
            {
                "name": "plain",
                "arrivals": {"kind": "poisson", "rate": 6.0},
                "duration": {"kind": "exponential", "mean": 1.0},
                "bind": "no_port",
                "destinations": [{"address": "127.0.0.1", "port": 80}, {"address": "10.0.0.9", "port": 80}],
            },
            {
                "name": "bound",
                "arrivals": {"kind": "poisson", "rate": 2.0},
                "duration": {"kind": "exponential", "mean": 1.0},
                "bind": True,
                "close": "half",
                "destinations": [{"address": "10.0.0.9", "port": 80}],
            },
        ],
    },
    "client pool with retries": {
        "workloads": [
            {
                "name": "requests",
                "requests": {
                    "arrivals": {"kind": "poisson", "rate": 20.0},
                    "latency": {"kind": "exponential", "mean": 0.2},
                },
                "pool": {"preset": "go", "max_idle_per_host": 1},
                "retry": {"max": 2, "backoff": "fixed", "base": 0.5},
                "destinations": [{"address": "10.0.0.1", "port": 80}],
            }
        ],
    },
}


@pytest.mark.parametrize("changes", SAME_RESULTS.values(), ids=SAME_RESULTS)
def test_recording_frames_leaves_the_results_unchanged(
    changes: dict[str, Any], make_scenario: Callable[..., Scenario]
) -> None:
    scenario = make_scenario(**changes)
    plain = PortModel(scenario).run()
    # frames every 0.05 s: many extra SimPy events, and ties with the time series' samples
    recorded = PortModel(scenario, port_map=PortMapSpec(fps=40, seconds=10.025)).run()
    assert recorded.port_map is not None
    assert recorded.port_map.frames.shape[0] == 401
    assert sum(plain.failures) > 0
    for name in ("attempts", "established", "failures", "first_failure", "dest_attempts", "dest_failures"):
        assert getattr(plain, name) == getattr(recorded, name), name
    assert plain.means == recorded.means
    for column, values in plain.series.items():
        np.testing.assert_array_equal(values, recorded.series[column], err_msg=column)
    np.testing.assert_array_equal(plain.probes.counts, recorded.probes.counts)
    np.testing.assert_array_equal(plain.reuse.counts, recorded.reuse.counts)
    assert plain.port_map is not None
    np.testing.assert_array_equal(plain.port_map.still.flags, recorded.port_map.still.flags)


def test_the_frame_count_is_capped() -> None:
    spec = PortMapSpec(fps=50, seconds=100)
    assert spec.asked == 5000
    assert spec.frames == MAX_FRAMES
    assert spec.playback_fps * spec.seconds == pytest.approx(MAX_FRAMES)  # the same length, fewer frames a second
    assert PortMapSpec(fps=10, seconds=15).frames == 150
    assert PortMapSpec(fps=10, seconds=15).playback_fps == 10


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"fps": 0}, "port map fps 0: must be above 0 and at most 50"),
        ({"fps": 60}, "port map fps 60: must be above 0 and at most 50"),
        ({"seconds": 0}, "port map seconds 0: must be a finite number above 0"),
        ({"seconds": float("inf")}, "port map seconds Infinity: must be a finite number above 0"),
        ({"source": -1}, "port map source -1: must be 0"),
    ],
)
def test_bad_settings_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        PortMapSpec(**settings)


def test_the_destination_and_source_must_be_the_scenarios(make_scenario: Callable[..., Scenario]) -> None:
    scenario = make_scenario(
        workload={"destinations": [{"address": "10.0.0.1", "port": 80}, {"address": "2001:db8::1", "port": 443}]}
    )
    assert PortMapSpec().check(scenario) == 0
    assert PortMapSpec(destination="[2001:db8::1]:443").check(scenario) == 1
    assert PortMapSpec(destination="2001:db8::1:443").check(scenario) == 1
    with pytest.raises(
        ScenarioError, match=r'^port map destination "10.0.0.9:80": not a destination of tiny \(10.0.0.1'
    ):
        PortMapSpec(destination="10.0.0.9:80").check(scenario)
    with pytest.raises(ScenarioError, match="port map source 1: tiny has 1 source address"):
        PortMapSpec(source=1).check(scenario)
    with pytest.raises(ScenarioError, match="not a destination"):
        PortModel(scenario, port_map=PortMapSpec(destination="10.0.0.9:80"))


def test_frames_toward_a_chosen_destination(make_scenario: Callable[..., Scenario]) -> None:
    scenario = make_scenario(
        workload={"destinations": [{"address": "10.0.0.1", "port": 80}, {"address": "10.0.0.2", "port": 80}]}
    )
    model = PortModel(scenario, port_map=PortMapSpec(fps=5, seconds=1, destination="10.0.0.2:80"))
    records = model.run()
    assert records.port_map is not None
    assert records.port_map.destination == "10.0.0.2:80"
    np.testing.assert_array_equal(records.port_map.frames[-1], model.port_map.flags(0, 1))
    assert not np.array_equal(model.port_map.flags(0, 0), model.port_map.flags(0, 1))
