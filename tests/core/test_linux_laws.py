"""The laws of docs/kernel.md section 3 (measured on Linux 6.18) in the ``linux`` preset.

One test per law that a simulator can show, numbered as in kernel.md. Not simulated: fact 19
(explicit bind() to a chosen port; portsim binds port 0 only) and fact 23 (throughput, a property
of the CPU). Statistical expectations are derived from the algorithm, in closed form or by a Monte
Carlo of the idealised law, and compared with confidence intervals.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from sim.config.presets import PRESETS
from sim.model.sockets import SocketHost
from tests.theory import Z, binomial_agrees, fits, proportions_agree, t_quantile

A = ("127.0.0.1", 5001)
B = ("127.0.0.1", 5002)
NO_RESALT = {"name": "linux", "resalt_period": 0}


def linux(**overrides: object) -> SocketHost:
    return SocketHost("linux", **overrides)  # type: ignore[arg-type]


def fill(host: SocketHost, destination: tuple[str, int] = A, limit: int = 100_000) -> list[int]:
    """connect() to ``destination`` keeping every socket open until it fails; the ports in order."""
    ports = []
    for _ in range(limit):
        sock = host.connect(*destination)
        if not sock.ok:
            assert sock.errno == "EADDRNOTAVAIL"
            return ports
        assert sock.port is not None
        ports.append(sock.port)
    raise AssertionError("never failed")


def increments(ports: list[int], size: int) -> np.ndarray:
    return np.diff(np.array(ports)) % size


# --------------------------------------------------------------------------- connect() without bind()


def test_fact_01_range_and_size() -> None:
    assert PRESETS["linux"].port_range == (32768, 60999)
    assert PRESETS["linux"].size == 28232
    assert linux().host.size == 28232


@pytest.mark.parametrize(("low", "first_parity"), [(40000, 0), (40001, 1)])
def test_fact_02_low_parity_first(low: int, first_parity: int) -> None:
    ports = fill(linux(port_range=(low, low + 63), seed=low))
    assert len(ports) == 64
    assert {p % 2 for p in ports[:32]} == {first_parity}
    assert {p % 2 for p in ports[32:]} == {1 - first_parity}


def test_fact_02_default_range_stays_even() -> None:
    host = linux(seed=4)
    ports = [host.connect(*A).port for _ in range(2000)]
    assert all(p is not None and p % 2 == 0 for p in ports)


def test_fact_03_increments_are_uniform_on_2_to_16() -> None:
    host = linux(seed=9, policy=NO_RESALT)
    ports = []
    for _ in range(6001):
        sock = host.connect(*A)
        assert sock.port is not None
        ports.append(sock.port)
        host.close(sock, "reset")
    d = increments(ports, 28232)
    assert set(np.unique(d)) == set(range(2, 17, 2))
    # uniform on {2,...,16}: mean 9, sd 4.58; i.i.d.: chi-square and lag-1 autocorrelation
    assert abs(d.mean() - 9) < Z * math.sqrt(21 / d.size)
    counts = np.bincount(d // 2 - 1, minlength=8)
    assert fits(scipy_stats.chisquare(counts).pvalue)
    assert abs(np.corrcoef(d[:-1], d[1:])[0, 1]) < Z / math.sqrt(d.size)


def test_fact_04_monotone_with_wraparound() -> None:
    host = linux(seed=12, policy=NO_RESALT)
    ports = [host.connect(*A).port for _ in range(2000)]
    span = int(increments(ports, 28232).sum())  # type: ignore[arg-type]
    # 1999 steps of mean 9 and sd 4.58
    assert abs(span - 1999 * 9) < Z * 4.58 * math.sqrt(1999)
    assert len(set(ports)) == 2000


def test_fact_05_cursor_is_per_destination_and_survives_close() -> None:
    host = linux(seed=5, policy=NO_RESALT)
    destinations = [A, B, ("127.0.0.2", 5001), ("127.1.2.3", 5001)]
    sequences: dict[tuple[str, int], list[int]] = {d: [] for d in destinations}
    for i in range(2000):
        d = destinations[i % 4]
        sock = host.connect(*d)
        assert sock.port is not None
        sequences[d].append(sock.port)
        if i % 3 == 0:
            host.close(sock, "reset")  # closing does not reset the cursor
    for ports in sequences.values():
        assert set(increments(ports, 28232)) <= set(range(2, 17, 2))
    starts = {ports[0] for ports in sequences.values()}
    assert len(starts) == 4  # independent pseudo-random starting points


def test_fact_05_hash_is_resalted_every_ten_seconds() -> None:
    """secure_seq.c hashes jiffies / (10 * HZ): the sequence jumps when the 10 s epoch changes."""
    host = linux(seed=6)
    before = [host.connect(*A, at=9.0 + i * 1e-3).port for i in range(50)]
    after = [host.connect(*A, at=10.5 + i * 1e-3).port for i in range(50)]
    assert set(increments(before, 28232)) <= set(range(2, 17, 2))
    assert set(increments(after, 28232)) <= set(range(2, 17, 2))
    assert (after[0] - before[-1]) % 28232 not in range(2, 17)  # a fresh table entry and offset


def _idealised_first_reissue(rng: np.random.Generator, size: int = 28232) -> tuple[int, int]:
    """Steps uniform on {2..16} around a ring of ``size``: (connection of the first repeat, its distance)."""
    position, seen, i = 0, {0: 0}, 0
    while True:
        i += 1
        position = (position + 2 * int(rng.integers(1, 9))) % size
        if position in seen:
            return i, i - seen[position]
        seen[position] = i


@pytest.mark.slow
def test_fact_06_freed_ports_wait_for_the_cursor_to_lap() -> None:
    """Every connection RST-closed at once, yet no port comes back before the cursor has lapped.

    A lap is 28,232 / 9 = 3,137 connections on average; the worst case, every step 16, is 1,765.
    The kernel re-issued its first port at connection #3124.
    """
    firsts = []
    for seed in range(25):
        host = linux(seed=seed, policy=NO_RESALT)
        seen: dict[int, int] = {}
        for i in range(5000):
            sock = host.connect(*A)
            assert sock.port is not None
            if sock.port in seen:
                assert i - seen[sock.port] >= 1765
                firsts.append(i)
                break
            seen[sock.port] = i
            host.close(sock, "reset")
    ideal = np.array([_idealised_first_reissue(np.random.default_rng(1000 + k))[0] for k in range(400)])
    sim, theory = np.array(firsts), ideal.mean()
    se = math.sqrt(sim.var(ddof=1) / sim.size + ideal.var(ddof=1) / ideal.size)
    assert abs(sim.mean() - theory) < t_quantile(sim.size - 1) * se, (sim.mean(), theory)
    assert abs(3124 - theory) < Z * ideal.std(ddof=1)  # the kernel's observation is a typical draw


def test_fact_07_skip_rule_advances_by_the_distance_scanned() -> None:
    host = linux(port_range=(40000, 40063), seed=3, policy=NO_RESALT)
    policy = host.policy
    first = host.connect(*A)
    h = policy.destination_hash(0, 0, 0.0)  # type: ignore[attr-defined]
    index = h & policy.mask  # type: ignore[attr-defined]
    before = policy.table[index]  # type: ignore[attr-defined]
    assert first.port is not None
    held = [host.connect(*A) for _ in range(12)]
    assert all(s.ok for s in held)
    advanced = (policy.table[index] - before) % 2**32  # type: ignore[attr-defined]
    assert 12 * 2 <= advanced <= 12 * 16  # each step max(i, 2*U{0..7}) + 2 with i = 0 here
    # Now free nothing and take a port after a run of 20 occupied candidates: the step is i + 2 = 42.
    view = host.pool.view(0, 0)
    offset = ((policy.table[index] + (h >> 32)) % policy.remaining) & ~1  # type: ignore[attr-defined]
    slots = [(offset // 2 + k) % 32 for k in range(21)]
    saved = {s: view[s] for s in slots}
    for s in slots[:20]:
        view[s] = 1
    view[slots[20]] = 0
    before = policy.table[index]  # type: ignore[attr-defined]
    slot, probes = policy.connect(view, 0, 0, 0.0)
    assert (slot, probes) == (slots[20], 21)
    assert (policy.table[index] - before) % 2**32 == 42  # type: ignore[attr-defined]
    for s, value in saved.items():
        view[s] = value


@pytest.mark.slow
def test_fact_07_skip_rule_reproduces_the_4096_port_fill() -> None:
    """kernel.md 2.8: fill 4,096 ports with 200 RST-closed probes at each occupancy level."""
    segments = [(0, 1000), (1000, 2000), (1900, 2047), (2048, 3000), (3000, 4095)]
    model_mean = [9.07, 15.00, 50.6, 10.94, 27.39]  # the kernel transcription, 20 seeds
    model_tail = [0.016, 0.177, 0.451, 0.022, 0.190]
    means, tails = [], []
    for seed in range(20):
        host = linux(port_range=(40000, 44095), seed=seed, policy=NO_RESALT)
        kept: list[int] = []
        for level in (0, 0.25, 0.45, 0.50, 0.55, 0.75, 0.90, 0.95, 0.99):
            while len(kept) < int(level * 4096):
                port = host.connect(*A).port
                assert port is not None
                kept.append(port)
            for _ in range(200):
                probe = host.connect(*A)
                if probe.ok:
                    host.close(probe, "reset")
        kept += fill(host)
        assert len(kept) == 4096
        d = increments(kept, 4096)
        means.append([d[a:b].mean() for a, b in segments])
        tails.append([(d[a:b] > 16).mean() for a, b in segments])
    # both sides are means of 20 seeds with about the same spread: a two-sample t bound at LEVEL
    for values, kernel in ((means, model_mean), (tails, model_tail)):
        m, s = np.mean(values, axis=0), np.std(values, axis=0, ddof=1)
        for k in range(5):
            assert abs(m[k] - kernel[k]) < t_quantile(38) * s[k] * math.sqrt(2 / 20), (k, m[k], kernel[k])


def test_fact_08_exhaustion_is_per_destination() -> None:
    host = linux(port_range=(40000, 40063), seed=8)
    assert len(fill(host)) == 64
    again = host.connect(*A)
    assert (again.ok, again.errno) == (False, "EADDRNOTAVAIL")
    assert host.connect(*B).ok


@pytest.mark.slow
@pytest.mark.parametrize(("low", "high", "kernel_rate"), [(40000, 40064, 3 / 30), (40001, 40063, 5 / 30)])
def test_fact_09_odd_sized_ranges_can_lose_an_edge_port(low: int, high: int, kernel_rate: float) -> None:
    size = high - low + 1
    results = [len(fill(linux(port_range=(low, high), seed=seed))) for seed in range(300)]
    assert set(results) <= {size, size - 1}
    lost = sum(1 for r in results if r == size - 1)
    # the kernel lost one port in 3/30 and 5/30 reps: compare two binomial proportions exactly
    assert lost > 0
    assert proportions_agree(lost, len(results), round(kernel_rate * 30), 30), (lost, kernel_rate)


def test_fact_09_even_sized_ranges_always_give_all_ports() -> None:
    for seed in range(50):
        assert len(fill(linux(port_range=(40000, 40063), seed=seed))) == 64


@pytest.mark.parametrize("k", [1, 2, 4, 8])
def test_fact_10_sharing_across_destinations(k: int) -> None:
    host = linux(port_range=(40000, 40063), seed=k)
    destinations = [(f"127.0.0.{1 + i // 2}", 5001 + i % 2) for i in range(k)]
    per_destination = {d: fill(host, d) for d in destinations}
    assert all(len(p) == 64 for p in per_destination.values())
    assert host.pool.ports_in_use == 64
    assert all(host.pool.refs[0][slot] == k for slot in range(64))


def test_fact_11_reserved_ports_are_skipped() -> None:
    host = linux(port_range=(40000, 40015), reserved_ports=["40000-40003,40008"], seed=11)
    ports = fill(host)
    assert sorted(ports) == [p for p in range(40000, 40016) if p not in {40000, 40001, 40002, 40003, 40008}]
    bound = linux(port_range=(40000, 40015), reserved_ports=["40000-40003,40008"], seed=12)
    binds = [bound.connect(*A, bind=True) for _ in range(12)]
    assert sum(s.ok for s in binds) == 11
    assert binds[-1].errno == "EADDRINUSE"


# --------------------------------------------------------------------------- bind(0) and IP_BIND_ADDRESS_NO_PORT


def test_fact_12_bind_picks_random_ports_of_the_other_parity() -> None:
    host = linux(seed=13)
    ports = np.array([host.connect(*A, bind=True).port for _ in range(2000)])
    assert (ports % 2 == 1).all()
    d = np.diff(ports)
    assert binomial_agrees(int((d > 0).sum()), d.size, 0.5)
    # uniform over the odd ports: the mean of (delta mod range) is about range / 2
    assert abs((d % 28232).mean() - 28232 / 2) < Z * 28232 / math.sqrt(12 * d.size)


def test_fact_12_so_reuseaddr_prefers_the_lower_half() -> None:
    host = linux(seed=14)
    ports = [host.connect(*A, bind=True, reuseaddr=True).port for _ in range(2000)]
    assert all(p is not None and 32768 <= p < 32768 + 2 * (28232 // 4) for p in ports)
    small = linux(port_range=(40000, 40063), seed=15)
    binds = [small.connect(*A, bind=True).port for _ in range(64)]
    assert {p % 2 for p in binds[:32]} == {1}  # type: ignore[operator]
    assert {p % 2 for p in binds[32:]} == {0}  # type: ignore[operator]


def test_fact_13_bind_exhaustion_is_per_local_address() -> None:
    host = linux(port_range=(40000, 40063), source_addresses=2, seed=16)
    destinations = [A, B, ("127.0.0.2", 5001), ("127.0.0.3", 5001)]
    binds = [host.connect(*destinations[i % 4], bind=True) for i in range(65)]
    assert sum(s.ok for s in binds) == 64
    assert binds[-1].errno == "EADDRINUSE"
    assert host.connect("127.0.0.9", 5009).errno == "EADDRNOTAVAIL"  # bound ports are never shared
    assert host.connect(*A, bind=True, source=1).ok  # another local address


def test_fact_13_bound_and_connected_ports_exclude_each_other() -> None:
    host = linux(port_range=(40000, 40063), seed=17)
    bound = [host.connect(*A, bind=True).port for _ in range(32)]
    to_b = fill(host, B)
    assert len(to_b) == 32
    assert not set(bound) & set(to_b)
    more_a = fill(host, A)
    assert len(more_a) == 32
    assert set(more_a) == set(to_b)  # plain connects share ports with each other, not with bound ones
    other = linux(port_range=(40000, 40063), source_addresses=2, seed=18)
    fill(other, A)
    assert other.connect(*A, bind=True).errno == "EADDRINUSE"
    assert other.connect(*A, bind=True, source=1).ok


def test_fact_14_bind_address_no_port_keeps_connect_sharing() -> None:
    """IP_BIND_ADDRESS_NO_PORT: bind the address, choose the port at connect() as connect() would."""
    host = linux(port_range=(40000, 40063), source_addresses=4, seed=19)
    destinations = [A, B, ("127.0.0.2", 5001), ("127.0.0.3", 5001)]
    assert sum(len(fill(host, d)) for d in destinations) == 256  # 4 x 64 on source 0
    per_source = linux(port_range=(40000, 40063), source_addresses=4, seed=20)
    total = 0
    for source in range(4):
        while per_source.connect(*A, source=source).ok:
            total += 1
    assert total == 256


# --------------------------------------------------------------------------- TIME_WAIT and reuse


def time_waits(host: SocketHost, n: int, destination: tuple[str, int] = A, spacing: float = 0.25) -> list[int]:
    ports = []
    for i in range(n):
        sock = host.connect(*destination, at=host.now + (spacing if i else 0.0))
        assert sock.port is not None
        ports.append(sock.port)
        host.close(sock, "client")
    return ports


def test_fact_15_time_wait_blocks_only_its_own_4_tuple() -> None:
    host = linux(port_range=(40000, 40015), tw_reuse=0, seed=21)
    ports = time_waits(host, 16)
    assert host.time_wait == 16
    assert host.connect(*A).errno == "EADDRNOTAVAIL"
    other = host.connect(*B)
    assert other.ok
    assert other.port in ports


def test_fact_16_time_wait_lasts_sixty_seconds_plus_a_timer_slot() -> None:
    exact = linux(port_range=(40000, 40015), tw_reuse=0, time_wait_granularity=0, seed=22)
    time_waits(exact, 16)
    exact.advance(60.0 + 3.75 - 1e-9)
    assert exact.time_wait == 1  # entered at 3.75: still there just before 63.75
    exact.advance(60.0 + 3.75)
    assert exact.time_wait == 0
    wheel = linux(port_range=(40000, 40015), tw_reuse=0, seed=23)  # the default: HZ 250's 2.048 s grid
    time_waits(wheel, 16)
    left = []
    for t in np.arange(59.0, 66.0, 0.05):
        wheel.advance(float(t))
        left.append(wheel.time_wait)
    # expiries come in batches on the 2.048 s grid (61.44, 63.49, 65.54 s here), 60 to 62.048 s after entry
    drops = [round(59.0 + 0.05 * i, 2) for i in range(1, len(left)) if left[i] < left[i - 1]]
    assert all(abs(t - round(t / 2.048) * 2.048) < 0.051 for t in drops)
    assert len(drops) == 3
    assert left[0] == 16


@pytest.mark.parametrize(
    ("overrides", "destination", "reused"),
    [
        ({"tw_reuse": 0}, A, False),
        ({"tw_reuse": 1}, A, True),
        ({"tw_reuse": 2}, A, True),  # loopback destination
        ({"tw_reuse": 2}, ("10.0.0.1", 80), False),  # not loopback
        ({"tw_reuse": 1, "timestamps": False}, A, False),
    ],
    ids=["off", "on", "loopback", "not-loopback", "no-timestamps"],
)
def test_fact_17_tw_reuse(overrides: dict[str, object], destination: tuple[str, int], reused: bool) -> None:
    host = linux(port_range=(40000, 40015), seed=24, **overrides)
    time_waits(host, 16, destination, spacing=0.0)
    host.advance(0.999)
    assert host.connect(*destination).errno == "EADDRNOTAVAIL"  # younger than tcp_tw_reuse_delay
    host.advance(1.001)
    sock = host.connect(*destination)
    assert sock.ok is reused
    if reused:
        assert host.time_wait == 15  # the TIME_WAIT socket is destroyed on reuse
        taken = [host.connect(*destination) for _ in range(16)]
        assert sum(s.ok for s in taken) == 15
        assert host.time_wait == 0


def test_fact_17_reuse_delay_follows_the_sysctl() -> None:
    host = linux(port_range=(40000, 40015), tw_reuse=1, tw_reuse_delay=0.2, seed=25)
    time_waits(host, 16, spacing=0.0)
    host.advance(0.2)
    assert not host.connect(*A).ok  # the age must exceed the delay
    assert host.connect(*A, at=0.2001).ok


def test_fact_18_fin_wait2_orphans_are_never_reused() -> None:
    host = linux(port_range=(40000, 40015), tw_reuse=1, fin_timeout=10.0, seed=26)
    for _ in range(16):
        host.close(host.connect(*A), "half")
    assert host.fin_wait2 == 16
    assert host.connect(*A, at=5.0).errno == "EADDRNOTAVAIL"
    host.advance(9.99)
    assert host.fin_wait2 == 16
    host.advance(10.0)
    assert host.fin_wait2 == 0
    assert host.connect(*A).ok


@pytest.mark.parametrize("how", ["server", "reset"])
def test_facts_20_21_server_close_and_rst_leave_no_time_wait(how: str) -> None:
    host = linux(port_range=(40000, 40015), tw_reuse=0, seed=27)
    ports = []
    for i in range(64):
        sock = host.connect(*A, at=i * 0.01)
        assert sock.port is not None
        ports.append(sock.port)
        host.close(sock, how)  # type: ignore[arg-type]
    assert host.time_wait == 0
    assert len(set(ports)) == 8  # only the 8 even ports, each free again at once
    assert all(p % 2 == 0 for p in ports)


def test_fact_21_a_graceful_close_keeps_time_wait() -> None:
    host = linux(port_range=(40000, 40015), tw_reuse=0, seed=28)
    time_waits(host, 16, spacing=0.01)
    assert host.connect(*A).errno == "EADDRNOTAVAIL"


# --------------------------------------------------------------------------- cost


def test_fact_22_connect_cost_steps_at_half_occupancy() -> None:
    """Probes stay near one until the first parity is full, then jump past 2,048 (4,096-port range)."""
    host = linux(port_range=(40000, 44095), seed=29)
    base, per_probe = host.host.connect_base_us, host.host.probe_cost_ns
    assert (base, per_probe) == (12.5, 50.0)
    probes: dict[int, list[int]] = {}
    other: list[int] = []
    kept = 0
    for level in (0, 25, 45, 50, 75, 90, 99):
        while kept < level * 4096 // 100:
            assert host.connect(*A).ok
            kept += 1
        probes[level] = []
        for _ in range(200):
            sock = host.connect(*A)
            probes[level].append(sock.probes)
            host.close(sock, "reset")
        sock = host.connect(*B)
        other.append(sock.probes)
        host.close(sock, "reset")
    # kernel.md 2.7: below 50% the extra cost over a first-candidate connect() stays within the
    # measured p10-p90 spread (µs) at that level...
    spread = {0: 12.5 - 12.1, 25: 13.0 - 12.2, 45: 14.3 - 12.2}
    for level, width in spread.items():
        assert (np.median(probes[level]) - 1) * per_probe / 1000 <= width, level
    # ...and from 50% on, the measured p10-p90 band of connect() latency (µs) at each level
    measured = {50: (114.1, 125.9), 75: (114.6, 138.4), 90: (112.8, 117.1), 99: (113.0, 134.8)}
    for level, (p10, p90) in measured.items():
        assert min(probes[level]) > 2048
        latency = base + np.median(probes[level]) * per_probe / 1000
        assert p10 <= latency <= p90, (level, latency)
    assert max(other) <= 2  # another destination stays cheap (12 µs)


# --------------------------------------------------------------------------- predictability (issue: reuse distance)


def _idealised_mean_distance(rng: np.random.Generator, n: int, size: int = 28232) -> float:
    """Mean distance between uses of a port over ``n`` connections of the idealised law."""
    positions = np.cumsum(2 * rng.integers(1, 9, n)) % size
    last: dict[int, int] = {}
    total = count = 0
    for i, p in enumerate(positions.tolist()):
        if p in last:
            total += i - last[p]
            count += 1
        last[p] = i
    return total / count


@pytest.mark.slow
def test_reuse_distance_and_guessing_for_one_uncontended_destination() -> None:
    """One destination, RST closes, no re-salt.

    The mean distance between two uses of a port is the number of even ports, 14,116 (the cursor
    lands on a given port once every 4.5 laps of 3,137); no distance is below the worst-case lap,
    28,232 / 16 = 1,765; guessing "previous port + commonest increment" succeeds 1 time in 8.
    """
    import sim

    overrides = [
        "host.preset=linux",
        "host.port_range=null",
        "host.time_wait=null",
        "host.policy={name: linux, resalt_period: 0}",
        "warmup=0",
        "duration=40",
        "workloads.api.arrivals={kind: poisson, rate: 5000}",
        "workloads.api.duration={kind: fixed, value: 0}",
        "workloads.api.close=reset",
    ]
    scenario = sim.load_scenario(Path(__file__).parents[2] / "scenarios" / "quickstart.yaml", overrides)
    means, sizes = [], []
    for seed in range(4):
        entry = sim.run(scenario, seed=seed).summary["destinations"]["10.0.0.5:443"]
        assert entry["reuse_distance"]["min"] >= 1765
        means.append(entry["reuse_distance"]["mean"])
        sizes.append(entry["attempts"])
        guess = entry["next_port_guess"]
        assert guess["increment"] in range(2, 17, 2)
        hits = round(guess["success_rate"] * guess["observed"])
        assert binomial_agrees(hits, guess["observed"], 1 / 8), guess
    # the idealised law over runs of the same length (a finite run biases the observed mean down alike)
    rng = np.random.default_rng(77)
    ideal = [_idealised_mean_distance(rng, int(np.mean(sizes))) for _ in range(12)]
    se = math.sqrt(np.var(means, ddof=1) / len(means) + np.var(ideal, ddof=1) / len(ideal))
    assert abs(np.mean(means) - np.mean(ideal)) < t_quantile(5) * se, (np.mean(means), np.mean(ideal))


def test_sockethost_rejects_bad_arguments() -> None:
    host = linux(port_range=(40000, 40015), source_addresses=2)
    with pytest.raises(ValueError, match=r"source 5: the host has source addresses 0\.\.1"):
        host.connect(*A, source=5)
    sock = host.connect(*A)
    with pytest.raises(ValueError, match="close 'foo': expected one of client, server, reset, half"):
        host.close(sock, "foo")  # type: ignore[arg-type]
    host.close(sock, "reset")
    with pytest.raises(ValueError, match="not open"):
        host.close(sock, "reset")
    with pytest.raises(ValueError, match="time goes forward only"):
        host.advance(-1.0)
