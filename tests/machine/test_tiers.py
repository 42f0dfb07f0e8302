"""The IANA tiers of RFC 6335 section 6, and port numbers as users type them."""

from __future__ import annotations

import pytest

from sim.machine.tiers import MAX_PORT, TIERS, PortError, parse_port, tier_of


@pytest.mark.parametrize(
    ("port", "tier"),
    [
        (0, "system"),
        (22, "system"),
        (443, "system"),
        (1023, "system"),
        (1024, "user"),
        (8080, "user"),
        (32768, "user"),
        (49151, "user"),
        (49152, "dynamic"),
        (60316, "dynamic"),
        (65535, "dynamic"),
    ],
)
def test_each_port_is_in_its_rfc_6335_tier(port: int, tier: str) -> None:
    assert tier_of(port).name == tier
    assert port in tier_of(port)


def test_the_tiers_cover_every_port_exactly_once() -> None:
    edges = [(t.low, t.high) for t in TIERS]
    assert edges == [(0, 1023), (1024, 49151), (49152, 65535)]
    assert sum(1 for port in range(MAX_PORT + 1) for t in TIERS if port in t) == MAX_PORT + 1


@pytest.mark.parametrize("port", [-1, 65536, 100_000])
def test_numbers_outside_0_65535_are_not_ports(port: int) -> None:
    with pytest.raises(PortError, match="not a port number"):
        tier_of(port)


@pytest.mark.parametrize(("text", "port"), [("22", 22), (" 443 ", 443), ("0", 0), ("065535", 65535), ("00022", 22)])
def test_typed_ports_are_read(text: str, port: int) -> None:
    assert parse_port(text) == port


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("65536", "TCP ports are 0-65535"),
        ("9" * 5000, "TCP ports are 0-65535"),
        ("-1", "give a whole number"),
        ("http", "give a whole number"),
        ("", "give a whole number"),
        ("4.5", "give a whole number"),
        ("\u0663", "give a whole number"),  # an Arabic-Indic digit: isdigit() but not a port
    ],
)
def test_anything_else_is_refused_in_one_line(text: str, problem: str) -> None:
    with pytest.raises(PortError, match=problem) as info:
        parse_port(text)
    assert "\n" not in str(info.value)
    assert len(str(info.value)) < 120
