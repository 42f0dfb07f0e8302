"""Hypothesis strategies: random valid scenarios built from the schema's own choices."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from sim.config.presets import PRESET_NAMES
from sim.core.policies import POLICIES

ADDRESSES = ["10.0.0.1", "10.0.0.2", "127.0.0.1", "::1", "192.168.7.7"]


@st.composite
def arrivals(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["poisson", "constant", "onoff"]))
    if kind == "poisson":
        return {"kind": kind, "rate": draw(st.sampled_from([0.5, 3.0, 10.0, 40.0]))}
    if kind == "constant":
        return {"kind": kind, "interval": draw(st.sampled_from([0.05, 0.25, 1.0]))}
    return {
        "kind": kind,
        "rate": draw(st.sampled_from([5.0, 30.0])),
        "mean_on": draw(st.sampled_from([0.5, 2.0])),
        "mean_off": draw(st.sampled_from([0.5, 3.0])),
    }


@st.composite
def durations(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["fixed", "exponential", "lognormal", "uniform", "pareto"]))
    if kind == "fixed":
        return {"kind": kind, "value": draw(st.sampled_from([0.0, 0.3, 1.0]))}
    if kind == "exponential":
        return {"kind": kind, "mean": draw(st.sampled_from([0.2, 1.0]))}
    if kind == "lognormal":
        return {"kind": kind, "mean": 0.5, "sigma": draw(st.sampled_from([0.5, 1.5]))}
    if kind == "uniform":
        return {"kind": kind, "low": 0.0, "high": draw(st.sampled_from([0.5, 2.0]))}
    return {"kind": kind, "shape": draw(st.sampled_from([1.5, 3.0])), "mean": 0.6}


@st.composite
def workloads(draw: st.DrawFn, name: str, duration: float) -> dict[str, Any]:
    dests = draw(st.lists(st.sampled_from(ADDRESSES), min_size=1, max_size=3, unique=True))
    ports = draw(st.lists(st.sampled_from([80, 443]), min_size=len(dests), max_size=len(dests)))
    workload: dict[str, Any] = {
        "name": name,
        "arrivals": draw(arrivals()),
        "duration": draw(durations()),
        "close": draw(st.sampled_from(["client", "server", "reset", "half"])),
        "bind": draw(st.sampled_from([False, "no_port", True])),
        "reuseaddr": draw(st.booleans()),
        "destinations": [
            {"address": a, "port": p, "weight": draw(st.sampled_from([1.0, 3.0]))}
            for a, p in zip(dests, ports, strict=True)
        ],
    }
    if draw(st.booleans()):
        start = draw(st.sampled_from([0.0, duration / 4]))
        workload["start"] = start
        if draw(st.booleans()):
            workload["stop"] = start + duration / 2
    return workload


@st.composite
def hosts(draw: st.DrawFn) -> dict[str, Any]:
    low = draw(st.sampled_from([40000, 40001]))
    size = draw(st.integers(min_value=1, max_value=48))
    host: dict[str, Any] = {
        "preset": draw(st.sampled_from(PRESET_NAMES)),
        "port_range": [low, low + size - 1],
        "source_addresses": draw(st.integers(min_value=1, max_value=3)),
        "time_wait": draw(st.sampled_from([0.0, 0.5, 2.0, 5.0])),
    }
    options: dict[str, Any] = {
        "policy": st.sampled_from(sorted(POLICIES)),
        "sharing": st.sampled_from(["per_destination", "none"]),
        "time_wait_granularity": st.sampled_from([0.0, 0.7, 2.048]),
        "tw_reuse": st.sampled_from([0, 1, 2]),
        "tw_reuse_delay": st.sampled_from([0.0, 0.5, 1.0]),
        "timestamps": st.booleans(),
        "max_tw_buckets": st.sampled_from(["unlimited", 0, 3, 20]),
        "fin_timeout": st.sampled_from([0.5, 3.0]),
        "reserved_ports": st.sampled_from([[], [low], [f"{low + 1}-{low + 3}"]]),
    }
    for key, strategy in options.items():
        if draw(st.booleans()):
            host[key] = draw(strategy)
    if size == 1 and host.get("reserved_ports"):
        del host["reserved_ports"]
    return host


@st.composite
def scenarios(draw: st.DrawFn, variants: bool = False) -> dict[str, Any]:
    """A random valid scenario: small ranges, short durations, every preset, policy and close side."""
    duration = draw(st.sampled_from([5.0, 20.0, 40.0]))
    n = draw(st.integers(min_value=1, max_value=3))
    raw: dict[str, Any] = {
        "name": "random",
        "duration": duration,
        "seed": draw(st.integers(min_value=0, max_value=2**32)),
        "warmup": draw(st.sampled_from([0.0, duration / 4])),
        "host": draw(hosts()),
        "workloads": [draw(workloads(f"w{i}", duration)) for i in range(n)],
    }
    if draw(st.booleans()):
        raw["sample_interval"] = draw(st.sampled_from([0.5, 1.0, duration]))
    if variants and draw(st.booleans()):
        raw["variants"] = [
            {"name": "a", "set": {"host.time_wait": 1.0}},
            {"name": "b", "set": {"workloads.0.close": "server"}},
        ]
    return raw


@st.composite
def covered_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A random scenario, most often one the compiled path covers (``sim.model.compiled.uncovered``): connect()
    with the linux, random_start or sequential policy, closes by the client, the server or an RST, no
    tcp_tw_reuse; busier loads; at times a max_tw_buckets that makes it hand over to the Python model mid-run, or
    a workload it does not cover."""
    raw = draw(scenarios())
    host = raw["host"]
    host["policy"] = draw(st.sampled_from(["linux", "random_start", "sequential"]))
    low, high = host["port_range"]
    if host["policy"] == "linux" and (high - low) % 2 == 0 and draw(st.sampled_from([True, True, False])):
        host["port_range"] = [low, high + 1]  # an even-sized range, which the compiled linux policy needs
    host["tw_reuse"] = 0
    host["time_wait"] = draw(st.sampled_from([0.5, 2.0, 5.0]))
    host["max_tw_buckets"] = draw(st.sampled_from(["unlimited", "unlimited", 3, 20]))
    uncovered = draw(st.sampled_from([False, False, False, True]))
    for i, workload in enumerate(raw["workloads"]):
        covered_close = draw(st.sampled_from(["client", "client", "server", "reset"]))
        workload["close"] = covered_close if not uncovered or i else draw(st.sampled_from(["half", covered_close]))
        workload["bind"] = False if not uncovered or i else draw(st.sampled_from(["no_port", True]))
        if workload["arrivals"]["kind"] == "poisson":
            workload["arrivals"]["rate"] *= draw(st.sampled_from([1, 10]))
    return raw


@st.composite
def nat_kinds(draw: st.DrawFn) -> dict[str, Any]:
    """A translator of any kind with small limits and short timers, so that runs of a few seconds fill it, drop
    SYNs, free mappings after closes and cooldowns, and drop idle ones."""
    kind = draw(
        st.sampled_from(["linux-snat", "aws-nat-gateway", "azure-lb-outbound", "azure-nat-gateway", "gcp-cloud-nat"])
    )
    nat: dict[str, Any] = {"kind": kind, "connect_timeout": draw(st.sampled_from([0.5, 3.0, 133.5]))}
    if kind == "linux-snat":
        low = draw(st.integers(1024, 60000))
        nat.update(
            addresses=draw(st.integers(1, 3)),
            ports=[low, low + draw(st.sampled_from([7, 31, 200, 5000]))],
            mode=draw(st.sampled_from(["default", "random", "fully-random", "persistent"])),
            time_wait=draw(st.sampled_from([0.0, 1.0, 5.0])),
            close=draw(st.sampled_from([0.0, 0.5, 3.0])),
            evict=draw(st.sampled_from([0.0, 0.5, 1.0])),
            established=draw(st.sampled_from([1.0, 4.0, 1e6])),
        )
    elif kind == "aws-nat-gateway":
        nat.update(
            addresses=draw(st.integers(1, 3)),
            per_destination=draw(st.sampled_from([2, 10, 55_000])),
            idle_timeout=draw(st.sampled_from([1.0, 4.0, 350.0])),
            hold_after_close=draw(st.sampled_from([0.0, 1.0, 3.0])),
        )
    elif kind == "azure-lb-outbound":
        nat.update(
            ports_per_host=draw(st.sampled_from([8, 16, 64])),
            hold_after_close=draw(st.sampled_from([0.0, 1.0, 3.0])),
        )
    elif kind == "azure-nat-gateway":
        nat.update(
            addresses=draw(st.integers(1, 2)),
            ports_per_address=draw(st.sampled_from([8, 40, 64_512])),
            per_destination=draw(st.sampled_from([4, 20, 50_000])),
            cooldown_fin=draw(st.sampled_from([0.0, 1.0, 5.0])),
            cooldown_rst=draw(st.sampled_from([0.0, 0.5, 2.0])),
            cooldown_counts=draw(st.booleans()),
        )
    else:
        dynamic = draw(st.booleans())
        nat.update(
            min_ports_per_host=draw(st.sampled_from([32] if dynamic else [2, 4, 32])),
            dynamic=dynamic,
            endpoint_independent=not dynamic and draw(st.booleans()),
            time_wait=draw(st.sampled_from([1.0, 5.0])),
            established_idle=draw(st.sampled_from([1.0, 4.0, 1200.0])),
        )
        if dynamic:
            nat["max_ports_per_host"] = draw(st.sampled_from([32, 64, 128]))
    return nat


@st.composite
def covered_fleet_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """``covered_scenarios`` run by a fleet (one or two groups of a few hosts), most often behind a translator
    (``nat_kinds``)."""
    raw = draw(covered_scenarios())
    names = [w["name"] for w in raw["workloads"]]
    if len(names) > 1 and draw(st.booleans()):
        split = draw(st.integers(1, len(names) - 1))
        raw["hosts"] = [
            {"name": "a", "count": draw(st.integers(1, 4)), "workloads": names[:split]},
            {"name": "b", "count": draw(st.integers(1, 4)), "workloads": names[split:]},
        ]
    else:
        raw["hosts"] = [{"name": "fleet", "count": draw(st.integers(1, 6)), "workloads": names}]
    if draw(st.sampled_from([True, True, True, False])):
        raw["nat"] = draw(nat_kinds())
    return raw
