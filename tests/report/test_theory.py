"""Erlang B predictions for scenarios: which ports form a pool and when the formula applies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sim.config.scenario import Scenario
from sim.report.theory import LAYERED_REASON, TRACE_REASON, capacity, hold_time, predict
from sim.stats.erlang import erlang_b, erlang_b_load
from tests.conftest import BASE

BASE_WORKLOAD = BASE["workloads"][0]
TWO = [{"address": "10.0.0.1", "port": 80, "weight": 1}, {"address": "10.0.0.2", "port": 80, "weight": 3}]


def test_single_pool(make_scenario: Callable[..., Scenario]) -> None:
    p = predict(make_scenario())  # 16 ports, 5/s x (1 + 2) s
    assert (p.ports, p.pools, p.offered_load) == (16, 1, 15.0)
    assert p.blocking_probability == pytest.approx(erlang_b(16, 15.0))
    assert p.applicable


@pytest.mark.parametrize(("close", "hold"), [("client", 3.0), ("server", 1.0), ("reset", 1.0)])
def test_only_the_active_closer_holds_time_wait(
    close: str, hold: float, make_scenario: Callable[..., Scenario]
) -> None:
    assert hold_time(make_scenario(workload={"close": close}), 0) == hold


def test_shared_destinations_are_separate_pools(make_scenario: Callable[..., Scenario]) -> None:
    p = predict(make_scenario(workload={"destinations": TWO}))
    assert p.pools == 2
    assert p.per_destination["10.0.0.1:80"]["offered_load"] == pytest.approx(3.75)
    assert p.per_destination["10.0.0.2:80"]["offered_load"] == pytest.approx(11.25)
    expected = 0.25 * erlang_b(16, 3.75) + 0.75 * erlang_b(16, 11.25)
    assert p.blocking_probability == pytest.approx(expected)


@pytest.mark.parametrize("host", [{"sharing": "none"}, {}])
def test_unshared_or_bound_connections_form_one_pool(
    host: dict[str, str], make_scenario: Callable[..., Scenario]
) -> None:
    bind = not host
    p = predict(make_scenario(host=host, workload={"destinations": TWO, "bind": bind}))
    assert p.pools == 1
    assert p.blocking_probability == pytest.approx(erlang_b(16, 15.0))


def test_plain_connect_uses_the_first_source_address(make_scenario: Callable[..., Scenario]) -> None:
    p = predict(make_scenario(host={"source_addresses": 3}))
    assert p.pools == 1
    assert p.blocking_probability == pytest.approx(erlang_b(16, 15.0))


def test_load_splits_over_source_addresses(make_scenario: Callable[..., Scenario]) -> None:
    p = predict(make_scenario(host={"source_addresses": 3}, workload={"bind": "no_port"}))
    assert p.pools == 3
    assert p.blocking_probability == pytest.approx(erlang_b(16, 5.0))
    assert p.offered_load == pytest.approx(15.0)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"workload": {"arrivals": {"kind": "constant", "interval": 0.2}}}, "not all Poisson"),
        ({"workload": {"arrivals": {"kind": "onoff", "rate": 10, "mean_on": 1, "mean_off": 1}}}, "not all Poisson"),
        ({"workload": {"stop": 10.0}}, "not stationary"),
        ({"host": {"policy": "random_pick"}}, "random_pick"),
    ],
)
def test_assumptions_are_reported(
    changes: dict[str, object], reason: str, make_scenario: Callable[..., Scenario]
) -> None:
    p = predict(make_scenario(**changes))
    assert not p.applicable
    assert reason in p.note


def test_onoff_uses_its_mean_rate(make_scenario: Callable[..., Scenario]) -> None:
    p = predict(make_scenario(workload={"arrivals": {"kind": "onoff", "rate": 10, "mean_on": 1, "mean_off": 3}}))
    assert p.offered_load == pytest.approx(2.5 * 3.0)


def test_a_timer_grid_makes_erlang_b_approximate(make_scenario: Callable[..., Scenario]) -> None:
    """Issue 7, defect 4: with the kernel's timer grid the prediction holds only approximately."""
    p = predict(make_scenario(host={"time_wait_granularity": 2.048}))
    assert p.applicable
    assert not p.exact
    assert p.note.startswith("approximate: TIME_WAIT expires on a 2.048 s timer grid")
    assert predict(make_scenario()).exact
    server = predict(make_scenario(host={"time_wait_granularity": 2.048}, workload={"close": "server"}))
    assert server.exact  # nobody here holds TIME_WAIT: the grid changes nothing


def test_the_bucket_limit_is_named_only_where_it_can_bite(make_scenario: Callable[..., Scenario]) -> None:
    """Issue 7, defect 5: 131,072 buckets can never fill from a 16-port pool."""
    roomy = make_scenario(host={"max_tw_buckets": 131072})
    assert all(c.ignores == "" for c in capacity(roomy).values())
    assert predict(roomy).applicable
    tight = make_scenario(host={"max_tw_buckets": 4})  # 5/s x 2 s TIME_WAIT: about 10 waiting
    assert all(c.ignores == "max_tw_buckets" for c in capacity(tight).values())
    assert "max_tw_buckets" in predict(tight).note


def test_destinations_agree_with_the_whole_prediction(make_scenario: Callable[..., Scenario]) -> None:
    """Issue 7, defect 5: with tw_reuse no figure anywhere claims Erlang B applies."""
    loopback = [{"address": "127.0.0.1", "port": 80}]
    p = predict(
        make_scenario(host={"preset": "linux", "port_range": [50000, 50015]}, workload={"destinations": loopback})
    )
    assert not p.applicable
    assert p.record().blocking_probability is None
    entry = p.destination("127.0.0.1:80")
    assert entry is not None
    assert (entry.applicable, entry.blocking_probability) == (False, None)
    fine = predict(make_scenario())
    assert fine.destination("10.0.0.1:80").blocking_probability == pytest.approx(fine.blocking_probability)  # type: ignore[union-attr]


def test_coupled_pools_get_no_capacity(make_scenario: Callable[..., Scenario]) -> None:
    """Issue 7, defect 5: bound and plain connections share ports, so no pool's capacity is independent."""
    w = make_scenario().workloads[0].model_dump()
    mixed = make_scenario(workloads=[w, {**w, "name": "b", "bind": True}])
    caps = capacity(mixed)
    assert set(caps) == {"10.0.0.1:80", "bound ports (all destinations)"}
    for cap in caps.values():
        assert cap.sustainable_rate is None
        assert "coupled" in cap.reason
    unshared = make_scenario(host={"sharing": "none"}, workloads=[w, {**w, "name": "b", "bind": True}])
    assert all(c.sustainable_rate is None for c in capacity(unshared).values())
    alone = capacity(make_scenario(host={"sharing": "none"}, workload={"destinations": TWO}))
    assert list(alone) == ["all destinations (no port sharing)"]
    assert alone["all destinations (no port sharing)"].sustainable_rate == pytest.approx(erlang_b_load(16, 0.01) / 3)


def test_tw_reuse_disables_erlang_b_only_where_it_acts(make_scenario: Callable[..., Scenario]) -> None:
    """A remote destination under tw_reuse 2 is a plain M/G/N/N pool: its prediction stands."""
    both = [{"address": "127.0.0.1", "port": 80}, {"address": "10.20.30.40", "port": 80}]
    scenario = make_scenario(host={"preset": "linux", "port_range": [50000, 50015]}, workload={"destinations": both})
    p = predict(scenario)
    assert not p.applicable
    assert "toward 127.0.0.1:80" in p.note
    loopback, remote = p.destination("127.0.0.1:80"), p.destination("10.20.30.40:80")
    assert loopback is not None
    assert remote is not None
    assert (loopback.applicable, loopback.blocking_probability) == (False, None)
    assert remote.applicable
    assert remote.blocking_probability == pytest.approx(erlang_b(16, 2.5 * hold_time(scenario, 0)))
    caps = capacity(scenario)
    assert caps["127.0.0.1:80"].ignores == "tw_reuse"
    assert caps["10.20.30.40:80"].ignores == ""


def test_requests_without_a_pool_get_the_connection_workloads_capacity(
    make_scenario: Callable[..., Scenario], tmp_path: Path
) -> None:
    """A connection per request (``pool: none``) arrives as the requests do, so Erlang B gives its capacity;
    a keep-alive pool or a cap that makes requests wait changes the rate, and a trace has none to scale."""

    def requests(pool: object) -> Scenario:
        w = {
            "name": "api",
            "requests": {"arrivals": {"kind": "poisson", "rate": 5.0}, "latency": {"kind": "exponential", "mean": 1.0}},
            "pool": pool,
            "destinations": [{"address": "10.0.0.1", "port": 80}],
        }
        return make_scenario(workloads=[w])

    plain = capacity(make_scenario(workload={"duration": {"kind": "exponential", "mean": 1.0}}))
    none = capacity(requests("none"))
    assert [c.sustainable_rate for c in none.values()] == [c.sustainable_rate for c in plain.values()]
    assert all(c.sustainable_rate is not None for c in none.values())
    assert predict(requests("none")).applicable
    for pool in ("go", {"keep_alive": False, "max_per_host": 4}):
        assert all(c.reason == LAYERED_REASON for c in capacity(requests(pool)).values())
        assert not predict(requests(pool)).applicable
    capped = predict(requests({"keep_alive": False, "max_per_host": 4})).note
    assert "max_per_host" in capped
    retried = predict(requests("none").with_changes({"workloads.0.retry": {"max": 2}})).note
    assert "retries add attempts" in retried
    assert "max_per_host" not in retried  # a connection per request with retries: no pool to wait at
    path = tmp_path / "t.csv"
    path.write_text("start,duration,destination\n0,1,10.0.0.1:80\n1,1,10.0.0.1:80\n")
    traced = make_scenario(workload={"arrivals": {"kind": "trace", "file": str(path)}, "duration": None})
    assert all(c.reason == TRACE_REASON and c.sustainable_rate is None for c in capacity(traced).values())


def two_groups(make_scenario: Callable[..., Scenario], web_to: str = "10.0.0.9", **batch_host: object) -> Scenario:
    """2 hosts at 5/s (16 ports, TIME_WAIT 2 s: 15 erlangs each) and 3 hosts at 1/s toward ``web_to`` with the
    server closing first (1 erlang each); ``batch_host``: the first group's own host keys."""
    w = {**BASE_WORKLOAD, "name": "batch"}
    web = {**BASE_WORKLOAD, "name": "web", "arrivals": {"kind": "poisson", "rate": 1.0}, "close": "server"}
    web["destinations"] = [{"address": web_to, "port": 443 if web_to == "10.0.0.9" else 80}]
    batch: dict[str, object] = {"name": "batch", "count": 2, "workloads": ["batch"]}
    if batch_host:
        batch["host"] = batch_host
    return make_scenario(workloads=[w, web], hosts=[batch, {"name": "web", "count": 3, "workloads": ["web"]}])


def test_several_host_groups_get_each_groups_erlang_b_combined_by_rate(
    make_scenario: Callable[..., Scenario],
) -> None:
    s = two_groups(make_scenario)
    p = predict(s)
    batch, web = p.groups["batch"], p.groups["web"]
    assert (batch.offered_load, batch.ports, batch.pools) == (15.0, 16, 1)
    assert batch.blocking_probability == pytest.approx(erlang_b(16, 15.0))
    assert web.offered_load == 1.0
    assert web.blocking_probability == pytest.approx(erlang_b(16, 1.0))
    # attempts per second: 2 x 5 in batch, 3 x 1 in web
    expected = (10 * erlang_b(16, 15.0) + 3 * erlang_b(16, 1.0)) / 13
    assert p.blocking_probability == pytest.approx(expected)
    assert (p.offered_load, p.pools, p.rate) == (2 * 15.0 + 3 * 1.0, 5, 13.0)
    assert p.applicable
    assert p.exact
    assert "per host group" in p.note
    assert p.per_destination["10.0.0.1:80"]["offered_load"] == 30.0
    assert p.per_destination["10.0.0.9:443"]["blocking_probability"] == pytest.approx(erlang_b(16, 1.0))
    assert capacity(s) == {}  # no one capacity for the fleet: each group's is its own
    cap = capacity(s.group_scenario("batch"))["10.0.0.1:80"]
    assert cap.sustainable_rate == pytest.approx(erlang_b_load(16, 0.01) / 3.0)


def test_a_groups_own_host_sets_its_pools_and_its_reasons_name_it(make_scenario: Callable[..., Scenario]) -> None:
    p = predict(two_groups(make_scenario, port_range=[50000, 50031]))
    assert (p.groups["batch"].ports, p.groups["web"].ports) == (32, 16)
    assert p.blocking_probability == pytest.approx((10 * erlang_b(32, 15.0) + 3 * erlang_b(16, 1.0)) / 13)
    odd = predict(two_groups(make_scenario, policy="random_pick"))
    assert not odd.applicable
    assert not odd.destination_applicable["10.0.0.1:80"]
    assert odd.destination_applicable["10.0.0.9:443"]
    assert odd.note.startswith("not applicable: host group batch: random_pick may give up")
    assert "host group web" not in odd.note
    shared = predict(two_groups(make_scenario, web_to="10.0.0.1", policy="random_pick"))
    assert not shared.destination_applicable["10.0.0.1:80"]  # one group's reason holds for the destination
    entry = shared.per_destination["10.0.0.1:80"]
    assert entry["offered_load"] == 2 * 15.0 + 3 * 1.0
