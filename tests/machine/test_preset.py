"""Which presets' ranges hold a port, and which preset this machine is closest to."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.config.presets import PRESETS
from sim.machine.preset import closest_preset, presets_holding
from sim.machine.settings import MachineSettings, Setting, read_settings


@pytest.mark.parametrize(
    ("port", "names"),
    [
        (22, []),
        (8080, []),
        (10000, ["freebsd"]),
        (40000, ["linux", "linux-5.12", "linux-4.6", "freebsd"]),
        (60999, ["linux", "linux-5.12", "linux-4.6", "iana", "windows", "macos", "freebsd", "netbsd"]),
        (61000, ["iana", "windows", "macos", "freebsd", "netbsd"]),
    ],
)
def test_presets_holding_a_port(port: int, names: list[str]) -> None:
    assert sorted(presets_holding(port)) == sorted(names)


def test_presets_are_listed_in_their_own_order() -> None:
    assert presets_holding(60316) == list(PRESETS)


def machine(system: str, release: str = "", port_range: tuple[int, int] | None = None) -> MachineSettings:
    base = read_settings(system="Windows", release="")  # every value unknown
    return MachineSettings(
        system,
        release,
        Setting(port_range, "test"),
        *(base.reserved, base.tw_reuse, base.timestamps, base.fin_timeout, base.max_tw_buckets, base.time_wait),
        root=True,
    )


@pytest.mark.parametrize(
    ("release", "preset"),
    [
        ("6.18.44-fc-v657", "linux"),
        ("5.18.0", "linux"),
        ("5.17.15", "linux-5.12"),
        ("5.12.0", "linux-5.12"),
        ("5.11.22", "linux-4.6"),
        ("4.19.0-26-amd64", "linux-4.6"),
        ("3.10.0-1160.el7", "linux-4.6"),
        ("weird", "linux"),
    ],
)
def test_a_linux_machine_is_closest_to_the_preset_of_its_release(release: str, preset: str) -> None:
    assert closest_preset(machine("Linux", release))[0] == preset


@pytest.mark.parametrize(
    ("system", "port_range", "preset"),
    [
        ("Darwin", (49152, 65535), "macos"),
        ("FreeBSD", (10000, 65535), "freebsd"),
        ("SunOS", (10000, 65535), "freebsd"),
        ("SunOS", (32768, 65535), "iana"),
        ("Haiku", None, "iana"),
    ],
)
def test_other_systems_by_name_then_by_range(system: str, port_range: tuple[int, int] | None, preset: str) -> None:
    name, why = closest_preset(machine(system, "", port_range))
    assert name == preset
    assert why


def test_a_fake_proc_tree_does_not_change_the_system(tmp_path: Path) -> None:
    assert closest_preset(read_settings(system="Linux", release="5.15.0", proc=tmp_path))[0] == "linux-5.12"
