"""The translator kinds as data: their documented defaults, the real services' limits, Azure's port table."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from sim.nat.kinds import NAT_KINDS, AzureLbOutbound, AzureNatGateway, GcpCloudNat, LinuxSnat


def test_every_kind_is_registered_with_its_error_name() -> None:
    assert list(NAT_KINDS) == [
        "linux-snat",
        "aws-nat-gateway",
        "azure-lb-outbound",
        "azure-nat-gateway",
        "gcp-cloud-nat",
    ]
    errors = {name: cls.error for name, cls in NAT_KINDS.items()}
    assert errors["aws-nat-gateway"] == "ErrorPortAllocation"
    assert errors["gcp-cloud-nat"] == "OUT_OF_RESOURCES"
    assert all(cls().kind == name for name, cls in NAT_KINDS.items())  # type: ignore[attr-defined]


def test_documented_defaults() -> None:
    assert (LinuxSnat().time_wait, LinuxSnat().close) == (120.0, 10.0)  # measured on 6.18: docs/nat-kernel.md
    azure = AzureNatGateway()
    assert (azure.ports_per_address, azure.per_destination, azure.cooldown_fin, azure.cooldown_rst) == (
        64_512,
        50_000,
        65.0,
        16.0,
    )
    gcp = GcpCloudNat()
    assert (gcp.min_ports_per_host, gcp.time_wait, gcp.established_idle, gcp.transitory_idle) == (
        64,
        120.0,
        1200.0,
        30.0,
    )


@pytest.mark.parametrize(
    ("hosts", "addresses", "ports"),
    [
        (1, 1, 1024),
        (50, 1, 1024),
        (51, 1, 512),
        (100, 1, 512),
        (101, 1, 256),
        (400, 1, 128),
        (800, 1, 64),
        (1000, 1, 32),
        (100, 2, 1024),
        (300, 4, 512),
    ],
)
def test_azure_load_balancers_default_table(hosts: int, addresses: int, ports: int) -> None:
    """Ports per instance by pool size, times the frontend addresses, at most 1,024."""
    assert AzureLbOutbound(frontend_addresses=addresses).ports_for(hosts) == ports


@pytest.mark.parametrize(
    ("kind", "values", "problem"),
    [
        ("aws-nat-gateway", {"addresses": 9}, "less than or equal to 8"),
        ("azure-nat-gateway", {"addresses": 17}, "less than or equal to 16"),
        ("azure-nat-gateway", {"idle_timeout": 60}, "greater than or equal to 240"),
        ("azure-lb-outbound", {"ports_per_host": 100}, "100 is not a multiple of 8"),
        ("gcp-cloud-nat", {"min_ports_per_host": 100}, "100 is not a power of two"),
        ("gcp-cloud-nat", {"dynamic": True, "min_ports_per_host": 16}, "at least 32"),
        ("gcp-cloud-nat", {"dynamic": True, "endpoint_independent": True}, "exclude each other"),
        ("linux-snat", {"ports": [2000, 1000]}, "is empty"),
    ],
)
def test_values_the_real_service_does_not_allow_are_refused(kind: str, values: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        NAT_KINDS[kind].model_validate(values)


def test_azure_manual_ports_must_fit_the_frontend_addresses() -> None:
    assert AzureLbOutbound(ports_per_host=1024).ports_for(62) == 1024
    with pytest.raises(ValueError, match="above the 1 frontend address"):
        AzureLbOutbound(ports_per_host=1024).ports_for(63)  # 64,512 > 64,000
    with pytest.raises(ValueError, match="default table stops at 1,000"):
        AzureLbOutbound().ports_for(1001)
