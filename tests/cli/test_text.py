"""The text a run prints: figures agree with summary.json at the precision shown."""

from __future__ import annotations

import pytest

from sim.cli.text import capacity_line, erlang, fmt, group_capacity, group_erlang, sig3
from sim.report.records import Capacity, ErlangB


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.797, "1.8"), (0.01234, "0.0123"), (269.6, "270"), (1797.2, "1,800"), (123456.0, "123,000")],
)
def test_rates_show_three_significant_figures(value: float, text: str) -> None:
    """Issue 7, defect 5: 'capacity 2 conn/s' was printed for 1.797."""
    assert sig3(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(16384.0, "16,384"), (9999.0, "9999"), (0.1037, "0.1037"), (1e-12, "< 1e-9"), (None, "-"), (3, "3")],
)
def test_figures_show_four_significant_digits_and_large_ones_whole(value: float | None, text: str) -> None:
    """A mean over replications of 16,384 probes was printed as 1.638e+04."""
    assert fmt(value) == text


def test_capacity_lines_name_what_they_ignore_or_why_there_is_none() -> None:
    cap = Capacity(sustainable_rate=1.797, offered_rate=3.0, ports=16, source_addresses=1, mean_hold_s=3.0)
    assert capacity_line("10.0.0.1:80", cap).split()[:6] == ["capacity", "1.8", "conn/s", "to", "10.0.0.1:80", "at"]
    assert "ignores" not in capacity_line("d", cap)
    assert "; ignores tw_reuse)" in capacity_line("d", cap.model_copy(update={"ignores": "tw_reuse"}))
    none = cap.model_copy(update={"sustainable_rate": None, "reason": "pools are coupled"})
    assert capacity_line("d", none).endswith("d: not computable (pools are coupled)")


def test_erlang_b_says_approximate_or_not_applicable() -> None:
    base = {"offered_load": 1.0, "ports": 16, "pools": 1, "blocking_probability": 0.25}
    assert erlang(ErlangB(**base, applicable=True, note="exact")) == "Erlang B: 0.25"
    approximate = ErlangB(**base, applicable=True, exact=False, note="approximate: grid")
    assert erlang(approximate) == "Erlang B: 0.25 (approximate: timer grid)"
    off = ErlangB(**{**base, "blocking_probability": None}, applicable=False, note="not applicable: a; b")
    assert erlang(off) == "Erlang B: n/a, a and 1 more reason(s) in summary.json"
    assert erlang(off.model_copy(update={"note": "not applicable: only one"})) == "Erlang B: n/a, only one"


def test_a_groups_reason_already_given_reads_as_above() -> None:
    base = {"offered_load": 1.0, "ports": 16, "pools": 1, "blocking_probability": None}
    off = ErlangB(**base, applicable=False, note="not applicable: pooled")
    said: set[str] = set()
    assert group_erlang(off, said) == "Erlang B: n/a, pooled"
    assert group_erlang(off, said) == "Erlang B: n/a (as above)"
    assert group_erlang(off.model_copy(update={"note": "not applicable: other"}), said) == "Erlang B: n/a, other"
    none = Capacity(sustainable_rate=None, offered_rate=3.0, ports=16, source_addresses=1, mean_hold_s=3.0, reason="r")
    assert group_capacity({"d": none}, said) == ", capacity n/a (r)"
    assert group_capacity({"d": none}, said) == ", capacity n/a (as above)"
    assert group_capacity({"d": none}) == ", capacity n/a (r)"  # nothing said: in full
