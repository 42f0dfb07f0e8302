"""Side-by-side check of the ``linux`` preset against the live Linux kernel.

``sim.kernel.measure`` runs small socket experiments in private network namespaces; this module
replays the same experiments on a simulated host (``SocketHost`` with the ``linux`` preset and the
same sysctls), compares them row by row, each row with its tolerance and a pass or fail, and writes
``validation.json`` and ``validation.png``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from ..model.sockets import SocketHost
from .measure import EXPERIMENTS, kernel_support, measure

Z999 = 3.29
DESTINATIONS = [("127.0.0.1", 5001), ("127.0.0.1", 5002), ("127.0.0.2", 5001), ("127.0.0.3", 5001)]
A, B = DESTINATIONS[0], DESTINATIONS[1]


@dataclass
class Check:
    """One row of the comparison."""

    name: str
    kernel: str
    simulator: str
    tolerance: str
    passed: bool


# --------------------------------------------------------------------------- the simulator's side


def _host(seed: int, **overrides: Any) -> SocketHost:
    return SocketHost("linux", seed=seed, **overrides)


def simulate(seed: int = 0, tw_reuse_delay_ms: float = 1000.0) -> dict[str, Any]:
    """The kernel experiments replayed on the ``linux`` preset; the same keys as ``kernel.measure``."""
    out: dict[str, Any] = {}
    runs = []
    for k in (1, 2, 4):
        host = _host(seed + k, port_range=(40000, 40063))
        ports: list[list[int]] = [[] for _ in range(k)]
        failed = [False] * k
        errno = None
        while not all(failed):
            for i in range(k):
                if failed[i]:
                    continue
                sock = host.connect(*DESTINATIONS[i])
                if sock.ok:
                    assert sock.port is not None
                    ports[i].append(sock.port)
                else:
                    failed[i], errno = True, sock.errno
        new = host.connect("127.0.0.9", 5009)
        runs.append(
            {
                "k": k,
                "destinations": [list(d) for d in DESTINATIONS[:k]],
                "ports": ports,
                "errno": errno,
                "new_destination_ok": new.ok,
            }
        )
    out["per_destination"] = {"range": [40000, 40063], "runs": runs}

    host = _host(seed + 10)
    sequence = []
    for _ in range(2000):
        sock = host.connect(*A)
        assert sock.port is not None
        sequence.append(sock.port)
        host.close(sock, "reset")
    out["increments"] = {"range": [32768, 60999], "ports": sequence}

    host = _host(seed + 11, port_range=(40000, 40063), source_addresses=2)
    bound = []
    while True:
        sock = host.connect(*A, bind=True)
        if not sock.ok:
            bind_errno = sock.errno
            break
        assert sock.port is not None
        bound.append(sock.port)
    plain = host.connect(*B)
    out["bind_exhaustion"] = {
        "range": [40000, 40063],
        "ports": bound,
        "errno": bind_errno,
        "connect_new_destination_errno": plain.errno,
        "other_address_bind_ok": host.connect(*A, bind=True, source=1).ok,
    }

    host = _host(seed + 12, port_range=(40000, 40015), tw_reuse=0)
    for _ in range(16):
        host.close(host.connect(*A), "client")
    same, other = host.connect(*A), host.connect(*B)
    out["time_wait_scope"] = {
        "range": [40000, 40015],
        "time_wait": host.time_wait,
        "same_destination_errno": same.errno,
        "other_destination_ok": other.ok,
        "other_destination_port": other.port,
    }

    delay = tw_reuse_delay_ms / 1000
    host = _host(seed + 13, port_range=(40000, 40015), tw_reuse=1, tw_reuse_delay=delay)
    for _ in range(16):
        host.close(host.connect(*A), "client")
    first = last_failure = None
    reused = attempts = 0
    t = max(0.0, delay - 0.05)
    while reused < 16 and t < delay + 0.5:
        attempts += 1
        sock = host.connect(*A, at=t)
        if sock.ok:
            reused += 1
            first = first if first is not None else t * 1000
        elif first is None:
            last_failure = t * 1000
        t += 0.0001
    out["tw_reuse"] = {
        "tw_reuse": 1,
        "delay_ms": tw_reuse_delay_ms,
        "reused": reused,
        "first_success_age_ms": first,
        "last_failure_age_ms": last_failure,
        "attempts": attempts,
    }
    return out


# --------------------------------------------------------------------------- comparison


def _parity_order(ports: list[int]) -> str:
    half = len(ports) // 2
    first, second = {p % 2 for p in ports[:half]}, {p % 2 for p in ports[half:]}
    names = {0: "even", 1: "odd"}
    if len(first) == 1 and len(second) == 1 and first != second:
        return f"{half} {names[first.pop()]}, then {len(ports) - half} {names[second.pop()]}"
    return "mixed"


def _increments(ports: list[int], size: int = 28232) -> np.ndarray:
    return np.diff(np.array(ports)) % size


def compare(kernel: dict[str, Any], sim: dict[str, Any]) -> list[Check]:
    """Row-by-row comparison of kernel and simulator results (same schema)."""
    checks: list[Check] = []

    def add(name: str, k: Any, s: Any, tolerance: str, passed: bool) -> None:
        checks.append(Check(name, str(k), str(s), tolerance, bool(passed)))

    def broken(name: str) -> bool:
        if "error" in kernel.get(name, {"error": "not measured"}):
            add(name, kernel.get(name, {}).get("error", "not measured"), "-", "-", False)
            return True
        return False

    if not broken("per_destination"):
        k_runs = {r["k"]: r for r in kernel["per_destination"]["runs"]}
        s_runs = {r["k"]: r for r in sim["per_destination"]["runs"]}
        one_k, one_s = k_runs[1], s_runs[1]
        add(
            "connections to one destination until failure (64-port range)",
            f"{len(one_k['ports'][0])}, then {one_k['errno']}",
            f"{len(one_s['ports'][0])}, then {one_s['errno']}",
            "exact",
            len(one_k["ports"][0]) == len(one_s["ports"][0]) == 64 and one_k["errno"] == one_s["errno"],
        )
        for k in (2, 4):
            kt = sum(len(p) for p in k_runs[k]["ports"])
            st = sum(len(p) for p in s_runs[k]["ports"])
            kd = len({p for ports in k_runs[k]["ports"] for p in ports})
            sd = len({p for ports in s_runs[k]["ports"] for p in ports})
            add(
                f"sharing across {k} destinations",
                f"{kt} connections on {kd} ports",
                f"{st} connections on {sd} ports",
                "exact",
                kt == st == 64 * k and kd == sd == 64,
            )
        k_order = {_parity_order(p) for r in k_runs.values() for p in r["ports"]}
        s_order = {_parity_order(p) for r in s_runs.values() for p in r["ports"]}
        add(
            "parity order, every destination",
            " / ".join(sorted(k_order)),
            " / ".join(sorted(s_order)),
            "exact",
            k_order == s_order == {"32 even, then 32 odd"},
        )
        add(
            "a new destination after exhaustion",
            "OK" if all(r["new_destination_ok"] for r in k_runs.values()) else "failed",
            "OK" if all(r["new_destination_ok"] for r in s_runs.values()) else "failed",
            "exact",
            all(r["new_destination_ok"] for r in [*k_runs.values(), *s_runs.values()]),
        )

    if not broken("increments"):
        k_steps, s_steps = _increments(kernel["increments"]["ports"]), _increments(sim["increments"]["ports"])
        allowed = set(range(2, 17, 2))
        k_in, s_in = np.isin(k_steps, list(allowed)).mean(), np.isin(s_steps, list(allowed)).mean()
        se = math.sqrt(k_steps.var(ddof=1) / k_steps.size + s_steps.var(ddof=1) / s_steps.size)
        k_counts = np.array([(k_steps == v).sum() for v in sorted(allowed)])
        s_counts = np.array([(s_steps == v).sum() for v in sorted(allowed)])
        table = np.vstack([k_counts, s_counts])
        table = table[:, table.sum(axis=0) > 0]
        usable = table.shape[1] > 1 and (table.sum(axis=1) > 0).all()
        p_value = float(scipy_stats.chi2_contingency(table)[1]) if usable else 0.0
        add(
            "port increments (2000 connects, one destination)",
            f"mean {k_steps.mean():.2f}, {k_in:.1%} in {{2..16}}",
            f"mean {s_steps.mean():.2f}, {s_in:.1%} in {{2..16}}",
            f"≥ 99% in {{2..16}}; means within {Z999 * se:.2f} (99.9% CI); χ² p = {p_value:.3f} > 0.001",
            k_in >= 0.99 and s_in >= 0.99 and abs(k_steps.mean() - s_steps.mean()) < Z999 * se and p_value > 0.001,
        )

    if not broken("bind_exhaustion"):
        kb, sb = kernel["bind_exhaustion"], sim["bind_exhaustion"]

        def describe(r: dict[str, Any]) -> str:
            return (
                f"{len(r['ports'])} ({_parity_order(r['ports'])}), then bind() {r['errno']}; "
                f"connect() elsewhere {r['connect_new_destination_errno'] or 'OK'}; "
                f"other address {'OK' if r['other_address_bind_ok'] else 'failed'}"
            )

        add(
            "bind(0) exhaustion (64-port range)",
            describe(kb),
            describe(sb),
            "exact",
            describe(kb) == describe(sb)
            and len(sb["ports"]) == 64
            and sb["errno"] == "EADDRINUSE"
            and _parity_order(sb["ports"]).startswith("32 odd"),
        )

    if not broken("time_wait_scope"):
        kt, st = kernel["time_wait_scope"], sim["time_wait_scope"]

        def scope(r: dict[str, Any]) -> str:
            other = "OK" if r["other_destination_ok"] else "failed"
            return f"{r['time_wait']} TIME_WAIT; same destination {r['same_destination_errno'] or 'OK'}; other {other}"

        add(
            "TIME_WAIT blocks only its own 4-tuple (16 ports)",
            scope(kt),
            scope(st),
            "exact",
            scope(kt) == scope(st) == "16 TIME_WAIT; same destination EADDRNOTAVAIL; other OK",
        )

    if not broken("tw_reuse"):
        kr, sr = kernel["tw_reuse"], sim["tw_reuse"]
        delay = float(kr["delay_ms"])
        k_first, k_last = kr["first_success_age_ms"], kr["last_failure_age_ms"]
        # the kernel's threshold lies between its last refusal and its first reuse; the simulator's is the
        # delay itself, which the kernel's clock of whole milliseconds may round up by up to 1 ms
        ok = (
            k_first is not None
            and k_first > delay
            and (k_last is None or k_last < delay + 1.0)
            and sr["first_success_age_ms"] is not None
            and sr["first_success_age_ms"] > delay
            and kr["reused"] == sr["reused"] == 16
        )
        add(
            f"tw_reuse=1 threshold (delay {delay:g} ms)",
            f"refused at {_ms(k_last)}, reused at {_ms(k_first)}, {kr['reused']}/16",
            f"refused at {_ms(sr['last_failure_age_ms'])}, reused at {_ms(sr['first_success_age_ms'])}, "
            f"{sr['reused']}/16",
            "the kernel's threshold (between its last refusal and first reuse) overlaps (delay, delay + 1 ms]",
            ok,
        )
    return checks


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


# --------------------------------------------------------------------------- report


def plot(kernel: dict[str, Any], sim: dict[str, Any], checks: list[Check]) -> Any:
    """Increments and allocation order, kernel beside simulator."""
    from ..output.plots import PlotFigure

    fig = PlotFigure(figsize=(12, 4.6), dpi=110, layout="constrained")
    passed = sum(c.passed for c in checks)
    fig.suptitle(
        f"portsim 'linux' preset against the live kernel ({kernel.get('meta', {}).get('kernel', '?')}): "
        f"{passed}/{len(checks)} checks pass",
        fontsize=12,
        fontweight="bold",
    )
    left, middle, right = fig.subplots(1, 3)
    values = np.arange(2, 17, 2)
    if "ports" in kernel.get("increments", {}):
        kd, sd = _increments(kernel["increments"]["ports"]), _increments(sim["increments"]["ports"])
        left.bar(values - 0.4, [(kd == v).sum() for v in values], width=0.8, label="kernel", color="#333333")
        left.bar(values + 0.4, [(sd == v).sum() for v in values], width=0.8, label="portsim", color="#2b7bba")
        left.legend(fontsize=8, loc="lower right", framealpha=0.9)
    left.set_title("increment between consecutive ports", fontsize=10)
    left.set_xlabel("next port − previous port")
    left.set_ylabel("connections (of 2000)")
    left.set_xticks(values)
    rows = ["kernel: even port", "kernel: odd port", "portsim: even port", "portsim: odd port"]
    for ax, key, title in (
        (middle, "per_destination", "connect(): parity of each port"),
        (right, "bind_exhaustion", "bind(0): parity of each port"),
    ):
        for row, (source, color) in enumerate(((kernel, "#333333"), (sim, "#2b7bba"))):
            data = source.get(key, {})
            ports = data.get("runs", [{}])[0].get("ports", [[]])[0] if key == "per_destination" else data.get("ports")
            if ports:
                y = [2 * row + (p % 2) for p in ports]
                ax.scatter(range(len(ports)), y, s=12, marker="|", color=color)
        ax.set_yticks(range(4), rows, fontsize=8)
        ax.set_ylim(-0.7, 3.7)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("connection number (64-port range)")
        ax.grid(True, axis="x", alpha=0.3)
    return fig


def run(out: Path, seed: int = 0) -> tuple[list[Check], dict[str, Any]]:
    """Measure the kernel, replay on the simulator, compare, and write validation.json and validation.png."""
    reason = kernel_support()
    if reason is not None:
        raise RuntimeError(reason)
    kernel = measure(EXPERIMENTS)
    delay = kernel.get("tw_reuse", {}).get("delay_ms", 1000.0)
    sim = simulate(seed, tw_reuse_delay_ms=delay)
    checks = compare(kernel, sim)
    data = {"checks": [asdict(c) for c in checks], "kernel": kernel, "simulator": sim, "seed": seed}
    write(out, data, plot(kernel, sim, checks))
    return checks, data


def write(out: Path, data: dict[str, Any], figure: Any) -> None:
    """Replace ``out`` with validation.json (``data``) and validation.png (``figure``), swapped in whole."""
    from ..output.folders import staged_folder

    with staged_folder(out) as tmp:
        (tmp / "validation.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        figure.savefig(tmp / "validation.png")
