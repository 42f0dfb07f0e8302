"""Registered service names come from the table portsim ships, not from this machine's /etc/services."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from sim.machine.services import TABLE, service_name, service_table
from sim.machine.tiers import tier_of
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("port", "name"), [(22, "ssh"), (25, "smtp"), (53, "domain"), (80, "http"), (443, "https"), (8080, "http-alt")]
)
def test_well_known_ports_have_their_iana_names(port: int, name: str) -> None:
    assert service_name(port) == name


@pytest.mark.parametrize("port", [0, 49152, 60316, 65535, 5001])
def test_ports_without_a_registered_service_have_none(port: int) -> None:
    assert service_name(port) is None


def test_the_table_never_names_a_dynamic_port() -> None:
    # RFC 6335: IANA never assigns ports in 49152-65535; an entry there would be a table error
    table = service_table()
    assert len(table) > 100
    assert [p for p in table if tier_of(p).name == "dynamic"] == []


def test_the_table_is_package_data_shipped_with_portsim() -> None:
    assert resources.files("sim.machine").joinpath(TABLE).is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert f"machine/{TABLE}" in config["tool"]["setuptools"]["package-data"]["sim"]


def test_the_table_says_where_it_comes_from() -> None:
    header = resources.files("sim.machine").joinpath(TABLE).read_text().splitlines()[:8]
    assert any("IANA" in line for line in header)
    assert any("netbase" in line for line in header)
