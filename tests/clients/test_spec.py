"""Request workloads, pools and retries as a scenario writes them: presets, overrides, errors."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sim.clients.presets import CLIENT_PRESETS
from sim.clients.spec import PoolSpec, RetrySpec
from sim.config.errors import ScenarioError
from sim.config.scenario import Scenario, validate


def scenario(**workload: Any) -> Scenario:
    base: dict[str, Any] = {
        "name": "api",
        "requests": {
            "arrivals": {"kind": "poisson", "rate": 100.0},
            "latency": {"kind": "exponential", "mean": 0.05},
        },
        "destinations": [{"address": "10.0.0.5", "port": 443}],
    }
    base.update(workload)
    return validate({"name": "s", "duration": 10.0, "workloads": [base]}, source="<test>")


def error(**workload: Any) -> str:
    with pytest.raises(ScenarioError) as info:
        scenario(**workload)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_request_workload_without_a_pool_has_one_connection_per_request() -> None:
    w = scenario().workloads[0]
    assert w.pool is not None
    assert w.pool.preset == "none"
    assert not w.pool.keep_alive
    assert w.layered
    assert not w.pooled
    assert w.offered.mean_rate == 100.0
    assert w.holding.expected == pytest.approx(0.05)
    assert w.arrivals_key == "requests.arrivals"


@pytest.mark.parametrize("name", sorted(CLIENT_PRESETS))
def test_every_preset_resolves_and_round_trips(name: str) -> None:
    s = scenario(pool=name)
    pool = s.workloads[0].pool
    assert pool is not None
    assert pool.preset == name
    for key, value in CLIENT_PRESETS[name].values.items():
        assert getattr(pool, key) == value
    assert Scenario.model_validate(s.to_dict()) == s
    assert validate(s.to_dict(resolved=False), source="<again>") == s


def test_go_preset_values_are_go_defaults() -> None:
    pool = scenario(pool="go").workloads[0].pool
    assert pool == PoolSpec(preset="go", max_idle_per_host=2, max_idle_total=100, idle_timeout=90.0)


def test_a_mapping_overrides_its_preset() -> None:
    pool = scenario(pool={"preset": "go", "max_idle_per_host": 100}).workloads[0].pool
    assert pool is not None
    assert (pool.max_idle_per_host, pool.max_idle_total, pool.idle_timeout) == (100, 100, 90.0)


def test_changing_the_preset_by_override_keeps_only_what_differed() -> None:
    s = scenario(pool={"preset": "go", "max_idle_per_host": 50})
    changed = s.with_changes({"workloads.api.pool.preset": "okhttp"}).workloads[0].pool
    assert changed is not None
    assert (changed.preset, changed.max_idle_per_host, changed.max_idle_total, changed.idle_timeout) == (
        "okhttp",
        50,
        5,
        300.0,
    )
    assert s.with_changes(["workloads.api.pool=urllib3"]).workloads[0].pool == PoolSpec(
        preset="urllib3", max_idle_per_host=1
    )


def test_retry_defaults_and_delays() -> None:
    retry = RetrySpec()
    assert (retry.max, retry.backoff, retry.base, retry.cap, retry.jitter) == (3, "exponential", 0.1, 5.0, "none")
    assert [retry.delay(k) for k in (1, 2, 3, 7, 10_000)] == [0.1, 0.2, 0.4, 5.0, 5.0]
    assert RetrySpec(backoff="fixed", base=0.5).delay(9) == 0.5
    assert RetrySpec(backoff="none").delay(3) == 0.0


@pytest.mark.parametrize(
    ("workload", "expected"),
    [
        ({"pool": "gopher"}, r"workloads\[0\]\.pool: unknown client preset 'gopher' \(presets: none, go,"),
        ({"pool": {"preset": "gopher"}}, r"workloads\[0\]\.pool\.preset: unknown client preset 'gopher'"),
        ({"pool": {"max_idle_per_host": -1}}, r"workloads\[0\]\.pool\.max_idle_per_host: .*greater than or equal"),
        ({"pool": {"idle_timout": 5}}, r"workloads\[0\]\.pool\.idle_timout: unknown key \(did you mean 'idle_timeout'"),
        ({"pool": {"when_full": "drop"}}, r"workloads\[0\]\.pool\.when_full: "),
        ({"retry": {"max": 101}}, r"workloads\[0\]\.retry\.max: .*less than or equal to 100"),
        ({"retry": {"base": 2, "cap": 1}}, r"workloads\[0\]\.retry\.cap: cap \(1\) is below base \(2\)"),
        ({"retry": {"jitter": "some"}}, r"workloads\[0\]\.retry\.jitter: "),
        ({"arrivals": {"kind": "poisson", "rate": 1}}, r"workloads\[0\]\.arrivals: a request workload takes its"),
    ],
)
def test_bad_client_input_gives_one_line(workload: dict[str, Any], expected: str) -> None:
    import re

    assert re.search(expected, error(**workload))


def test_a_pool_needs_requests() -> None:
    raw = {
        "name": "s",
        "duration": 10.0,
        "workloads": [
            {
                "name": "w",
                "arrivals": {"kind": "poisson", "rate": 1.0},
                "duration": {"kind": "fixed", "value": 1.0},
                "pool": "go",
                "destinations": [{"address": "10.0.0.5", "port": 443}],
            }
        ],
    }
    with pytest.raises(ScenarioError, match=r"workloads\[0\]\.pool: a pool serves requests"):
        validate(raw, source="<test>")
    del raw["workloads"][0]["pool"]
    del raw["workloads"][0]["duration"]
    with pytest.raises(ScenarioError, match=r"workloads\[0\]\.duration: missing: a workload needs arrivals and"):
        validate(raw, source="<test>")


def test_erlang_b_and_the_analytic_capacity_step_aside_for_pools_and_retries() -> None:
    from sim.report.theory import capacity, predict

    pooled = scenario(pool="go")
    assert not predict(pooled).applicable
    assert "connection pool" in predict(pooled).note
    assert all(c.sustainable_rate is None for c in capacity(pooled).values())
    retried = scenario(retry={"max": 2})
    assert "retries" in predict(retried).note


@pytest.mark.parametrize(
    ("pool", "expected"),
    [
        ({"keep_alive": False, "idle_timeout": 30}, "keep_alive is false, so idle_timeout changes nothing"),
        ({"preset": "go", "keep_alive": False, "idle_timeout": 30}, "so idle_timeout changes nothing"),
        ({"max_per_host": None, "wait_timeout": 1}, "wait_timeout changes nothing without max_per_host"),
        ({"when_full": "fail"}, "when_full: fail changes nothing without max_per_host"),
        ({"max_per_host": 4, "when_full": "fail", "wait_timeout": 1}, "wait_timeout changes nothing with when_full"),
        ({"max_per_host": 4, "max_idle_per_host": 10}, r"max_idle_per_host \(10\) is above max_per_host \(4\)"),
        ({"max_idle_per_host": 0}, "max_idle_per_host is 0: no connection is kept"),
    ],
)
def test_pool_keys_that_change_nothing_are_warned_about(pool: dict[str, Any], expected: str) -> None:
    notes = [n for n in scenario(pool=pool).warnings() if n.startswith("workloads.api.pool: ")]
    assert len(notes) == 1
    assert re.search(expected, notes[0])


@pytest.mark.parametrize("name", sorted(CLIENT_PRESETS))
def test_no_preset_contradicts_itself(name: str) -> None:
    assert not [n for n in scenario(pool=name).warnings() if "pool" in n]


def test_a_presets_own_values_are_not_warned_about() -> None:
    """keep_alive false on Go's preset leaves its idle keys unused, but the user did not write them."""
    assert not [n for n in scenario(pool={"preset": "go", "keep_alive": False}).warnings() if "pool" in n]


def test_keep_alive_pools_do_not_ask_for_three_time_wait_cycles() -> None:
    """A keep-alive pool's connections close when the pool decides, not after each request: no settling warning."""
    pooled = scenario(pool="go")
    assert pooled.duration == 10.0
    assert not [n for n in pooled.warnings() if "TIME_WAIT cycles" in n]
    assert [n for n in scenario(pool="none").warnings() if "TIME_WAIT cycles" in n]
