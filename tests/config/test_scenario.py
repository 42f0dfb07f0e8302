"""Scenario files: validation, presets, overrides, errors that name file, line and key."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from sim.config.errors import ScenarioError
from sim.config.host import parse_reserved
from sim.config.load import load_scenario
from sim.config.presets import PRESETS
from sim.config.scenario import Scenario, auto_sample_interval
from tests.conftest import ROOT

QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def edited(tmp_path: Path, old: str, new: str) -> Path:
    text = QUICKSTART.read_text()
    assert old in text
    return write(tmp_path, text.replace(old, new))


def test_quickstart_is_the_contract_example() -> None:
    s = load_scenario(QUICKSTART)
    assert s.name == "quickstart"
    assert s.duration == 600
    assert s.seed == 1
    assert s.host.port_range == (49152, 65535)
    assert (s.host.policy, s.host.time_wait, s.host.source_addresses) == ("random_start", 60.0, 1)
    w = s.workloads[0]
    assert (w.arrivals.kind, w.arrivals.mean_rate) == ("poisson", 300.0)
    assert (w.duration.kind, w.duration.expected) == ("exponential", 1.0)
    assert (w.close, w.bind) == ("client", False)
    assert w.destinations[0].endpoint == ("10.0.0.5", 443)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_fill_what_the_file_leaves_out(name: str, make_scenario: Callable[..., Scenario]) -> None:
    s = make_scenario(host={"preset": name, "port_range": None, "time_wait": None})
    preset = PRESETS[name]
    assert s.host.port_range == preset.port_range
    assert s.host.time_wait == preset.time_wait
    assert s.host.policy == preset.policy
    assert s.host.sharing == preset.sharing


def test_preset_values_are_the_real_defaults() -> None:
    assert PRESETS["linux"].port_range == (32768, 60999)
    assert PRESETS["linux"].size == 28232
    assert PRESETS["iana"].size == 16384
    assert PRESETS["windows"].time_wait == 120
    assert PRESETS["macos"].time_wait == 30
    assert PRESETS["macos"].sharing == "none"
    assert PRESETS["freebsd"].port_range == (10000, 65535)


def test_explicit_values_beat_the_preset(make_scenario: Callable[..., Scenario]) -> None:
    s = make_scenario(host={"preset": "macos", "time_wait": 5, "sharing": "per_destination", "policy": "random_pick"})
    assert (s.host.time_wait, s.host.sharing, s.host.policy) == (5.0, "per_destination", "random_pick")


def test_resolved_yaml_round_trips(tmp_path: Path) -> None:
    s = load_scenario(QUICKSTART)
    again = load_scenario(write(tmp_path, s.to_yaml()))
    assert again == s
    assert yaml.safe_load(s.to_yaml())["host"]["preset"] == "iana"


def test_overrides_by_index_and_by_name() -> None:
    s = load_scenario(
        QUICKSTART,
        ["host.time_wait=30", "workloads.api.arrivals.rate=120", "workloads.0.close=server", "seed=9"],
    )
    assert s.host.time_wait == 30
    assert s.workloads[0].arrivals.mean_rate == 120
    assert s.workloads[0].close == "server"
    assert s.seed == 9
    changed = s.with_changes({"host.preset": "linux", "host.port_range": None})
    assert changed.host.port_range == (32768, 60999)


def test_sample_interval_defaults_to_a_round_step() -> None:
    assert auto_sample_interval(600) == 0.5
    assert auto_sample_interval(86400) == 60
    assert auto_sample_interval(1) == 0.01
    assert load_scenario(QUICKSTART).step == 0.5


def test_reserved_ports_like_the_sysctl() -> None:
    assert parse_reserved(["40000-40003,40008", 40010]) == {40000, 40001, 40002, 40003, 40008, 40010}
    with pytest.raises(ValueError, match="neither a port"):
        parse_reserved(["forty"])


def test_reserved_ports_reduce_the_usable_pool(make_scenario: Callable[..., Scenario]) -> None:
    s = make_scenario(host={"reserved_ports": ["50000-50003", 50008, 1234]})
    assert s.host.reserved_offsets == {0, 1, 2, 3, 8}
    assert s.host.usable_ports == 11


# One test per bad-input case. Each error is one line naming the file, the line, the key path, the problem.
BAD_EDITS = [
    (
        "unknown key",
        "rate: 300",
        "rat: 300",
        r"s\.yaml:\d+: workloads\[0\]\.arrivals\.rat: unknown key \(did you mean 'rate'\?\)",
    ),
    ("wrong type", "rate: 300", "rate: fast", r"s\.yaml:\d+: workloads\[0\]\.arrivals\.rate: .*valid number.*fast"),
    ("wrong type: bool", "bind: false", "bind: 'yes'", r"workloads\[0\]\.bind: .*valid boolean"),
    (
        "low > high",
        "[49152, 65535]",
        "[60000, 50000]",
        r"s\.yaml:\d+: host\.port_range: low \(60000\) is greater than high \(50000\)",
    ),
    (
        "port out of range",
        "port: 443",
        "port: 70000",
        r"workloads\[0\]\.destinations\[0\]\.port: .*less than or equal to 65535",
    ),
    ("port zero", "port: 443", "port: 0", r"workloads\[0\]\.destinations\[0\]\.port: .*greater than or equal to 1"),
    ("range port", "[49152, 65535]", "[49152, 65536]", r"host\.port_range\[1\]: .*less than or equal to 65535"),
    ("negative rate", "rate: 300", "rate: -5", r"workloads\[0\]\.arrivals\.rate: .*greater than 0 \(got -5\)"),
    ("negative duration", "mean: 1.0", "mean: -1.0", r"workloads\[0\]\.duration\.mean: .*greater than 0"),
    ("negative run duration", "duration: 600", "duration: -600", r"s\.yaml:\d+: duration: .*greater than 0"),
    (
        "unknown preset",
        "preset: iana",
        "preset: solaris",
        r'host\.preset: unknown preset "solaris" \(known: iana, linux, .*netbsd\)',
    ),
    (
        "unknown policy",
        "policy: random_start",
        "policy: magic",
        r"host\.policy: unknown policy 'magic' \(known: .*random_start",
    ),
    ("unknown kind", "kind: poisson", "kind: bursty", r'workloads\[0\]\.arrivals\.kind: unknown kind "bursty"'),
    (
        "bad address",
        "address: 10.0.0.5",
        "address: 10.0.0.500",
        r'destinations\[0\]\.address: "10\.0\.0\.500" is not an IPv4 or IPv6',
    ),
    ("bad close", "close: client", "close: whoever", r"workloads\[0\]\.close: .*'client', 'server', 'reset' or 'half'"),
]


@pytest.mark.parametrize(("case", "old", "new", "pattern"), BAD_EDITS, ids=[c[0] for c in BAD_EDITS])
def test_bad_input_gives_one_clear_line(tmp_path: Path, case: str, old: str, new: str, pattern: str) -> None:
    path = edited(tmp_path, old, new)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert re.search(pattern, message), message


def test_error_points_at_the_right_line(tmp_path: Path) -> None:
    path = edited(tmp_path, "rate: 300", "rate: -5")
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "rate: -5" in text)
    with pytest.raises(ScenarioError, match=rf"s\.yaml:{line}: "):
        load_scenario(path)


def test_malformed_yaml(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"s\.yaml:3:1: malformed YAML: .*flow sequence"):
        load_scenario(write(tmp_path, "name: x\nduration: [1, 2\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"nope\.yaml: no such file"):
        load_scenario(tmp_path / "nope.yaml")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="is a directory"):
        load_scenario(tmp_path)


def test_duplicate_keys_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"s\.yaml:2: name: duplicate key"):
        load_scenario(write(tmp_path, "name: a\nname: b\nduration: 1\n"))


def test_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="must be a YAML mapping"):
        load_scenario(write(tmp_path, "- just\n- a list\n"))
    with pytest.raises(ScenarioError, match="must be a YAML mapping"):
        load_scenario(write(tmp_path, ""))


def test_missing_required_keys(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"s\.yaml:1: workloads: required key is missing"):
        load_scenario(write(tmp_path, "name: x\nduration: 10\n"))


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"warmup": 30}, "warmup .* must be shorter than duration"),
        ({"sample_interval": 50}, "sample_interval .* is longer than duration"),
        ({"name": "has space"}, r"name: String should match pattern"),
        ({"host": {"reserved_ports": ["50000-50015"]}}, "every port of port_range is reserved"),
        ({"host": {"source_addresses": 0}}, r"host\.source_addresses: .*greater than or equal to 1"),
    ],
)
def test_inconsistent_scenarios(
    changes: dict[str, object], pattern: str, make_scenario: Callable[..., Scenario]
) -> None:
    with pytest.raises(ScenarioError, match=pattern):
        make_scenario(**changes)


def test_unknown_key_lists_what_is_allowed_there(make_scenario: Callable[..., Scenario]) -> None:
    with pytest.raises(ScenarioError, match=r"duration\.mean: unknown key \(allowed here: kind, low, high\)"):
        make_scenario(workload={"duration": {"kind": "uniform", "low": 1.0, "high": 2.0, "mean": 1.5}})
    with pytest.raises(ScenarioError, match=r"host\.time_wiat: unknown key \(did you mean 'time_wait'\?\)"):
        make_scenario(host={"time_wiat": 3})


def test_workload_checks(make_scenario: Callable[..., Scenario]) -> None:
    with pytest.raises(ScenarioError, match=r"workloads\[0\]\.duration\.low: low \(2\) is greater than high"):
        make_scenario(workload={"duration": {"kind": "uniform", "low": 2.0, "high": 1.0}})
    with pytest.raises(ScenarioError, match=r"workloads\[0\]\.stop: stop \(1\) must be after start \(5\)"):
        make_scenario(workload={"start": 5.0, "stop": 1.0})
    with pytest.raises(ScenarioError, match=r"destinations: List should have at least 1 item"):
        make_scenario(workload={"destinations": []})


def test_bad_overrides() -> None:
    with pytest.raises(ScenarioError, match=r"expected key\.path=value"):
        load_scenario(QUICKSTART, ["host.time_wait"])
    with pytest.raises(
        ScenarioError, match=r'^--set workloads\.nope\.close=server: workloads\.nope: no list item "nope"'
    ):
        load_scenario(QUICKSTART, ["workloads.nope.close=server"])
    with pytest.raises(
        ScenarioError, match=r"^--set host\.time_wait=-1: host\.time_wait: .*greater than or equal to 0"
    ):
        load_scenario(QUICKSTART, ["host.time_wait=-1"])
    with pytest.raises(ScenarioError, match=r"host\.colour: unknown key"):
        load_scenario(QUICKSTART, ["host.colour=blue"])


def test_json_schema_describes_the_format() -> None:
    schema = Scenario.model_json_schema()
    json.dumps(schema)
    assert {"name", "duration", "host", "workloads", "seed"} <= set(schema["properties"])
    assert schema["required"] == ["name", "duration", "workloads"]
    assert "Poisson" in schema["$defs"]
    assert "Pareto" in schema["$defs"]
    assert schema["$defs"]["Host"]["additionalProperties"] is False


def test_scientific_notation_is_a_number(tmp_path: Path) -> None:
    s = load_scenario(edited(tmp_path, "duration: 600", "duration: 6e2"), ["workloads.api.arrivals.rate=3E2"])
    assert (s.duration, s.workloads[0].arrivals.mean_rate) == (600.0, 300.0)
    assert load_scenario(QUICKSTART, ["seed=7"]).seed == 7  # integers stay integers


@pytest.mark.parametrize("value", [".inf", ".nan", "-.inf"])
def test_infinite_duration_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ScenarioError, match=r"duration: "):
        load_scenario(edited(tmp_path, "duration: 600", f"duration: {value}"))


def test_time_series_rows_are_capped(make_scenario: Callable[..., Scenario]) -> None:
    with pytest.raises(ScenarioError, match=r"would write 1,000,000,000 time-series rows"):
        make_scenario(duration=1000.0, sample_interval=1e-6)


def test_reserved_ports_as_one_string(make_scenario: Callable[..., Scenario]) -> None:
    s = make_scenario(host={"reserved_ports": "50000-50003,50008"})
    assert s.host.reserved_offsets == {0, 1, 2, 3, 8}


def test_errors_in_set_values_name_the_set() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(QUICKSTART, ["workloads.api.arrivals.rate=-3"])
    assert str(info.value).startswith("--set workloads.api.arrivals.rate=-3: workloads[0].arrivals.rate:")
    with pytest.raises(ScenarioError) as info:
        load_scenario(QUICKSTART, ["duration=60"])
    # a problem between two keys blames the one the command line changed
    assert str(info.value) == "--set duration=60: warmup: warmup (120) must be shorter than duration (60)"


def test_duplicate_workload_names_point_at_the_workloads(make_scenario: Callable[..., Scenario]) -> None:
    base = make_scenario()
    twice = [base.workloads[0].model_dump()] * 2
    with pytest.raises(ScenarioError, match=r"workloads\[1\]\.name: workload name 'w' is used twice"):
        base.with_changes(workloads=twice)


def test_with_changes_accepts_dotted_keys(make_scenario: Callable[..., Scenario]) -> None:
    s = make_scenario().with_changes(**{"host.time_wait": 30, "duration": 50})
    assert (s.host.time_wait, s.duration) == (30.0, 50.0)
    with pytest.raises(ScenarioError, match=r"<scenario>: host\.time_wait=-1"):
        s.with_changes(**{"host.time_wait": -1})


def test_warnings(make_scenario: Callable[..., Scenario]) -> None:
    assert make_scenario().warnings() == []
    notes = make_scenario(host={"source_addresses": 4, "reserved_ports": [80]}).warnings()
    assert any("uses the first address only" in n for n in notes)
    assert any("outside port_range" in n for n in notes)
    assert make_scenario(host={"source_addresses": 4}, workload={"bind": "no_port"}).warnings() == []
    big = make_scenario(duration=100000.0, workload={"arrivals": {"kind": "poisson", "rate": 1000.0}})
    assert any("expect a long run" in n for n in big.warnings())


def test_changing_the_preset_changes_what_the_file_did_not_pin(make_scenario: Callable[..., Scenario]) -> None:
    pinned = load_scenario(QUICKSTART, ["host.preset=linux"])
    assert pinned.host.port_range == (49152, 65535)  # quickstart.yaml writes its range out
    assert pinned.host.policy == "random_start"
    assert pinned.host.tw_reuse == 2  # not written in the file: from the new preset
    free = load_scenario(ROOT / "scenarios" / "one-backend-exhaustion.yaml").with_changes({"host.preset": "windows"})
    assert (free.host.port_range, free.host.time_wait, free.host.policy) == ((49152, 65535), 120.0, "random_start")


def test_resolved_scenarios_keep_every_value() -> None:
    resolved = load_scenario(ROOT / "scenarios" / "one-backend-exhaustion.yaml")
    again = Scenario.model_validate(resolved.to_dict())
    assert again == resolved
    assert again.with_changes({"host.preset": "windows"}).host.time_wait == 60.0  # now pinned


def test_variants_expand_into_scenarios() -> None:
    s = load_scenario(ROOT / "scenarios" / "os-comparison.yaml")
    variants = s.expand()
    assert list(variants) == ["linux", "windows", "macos", "freebsd"]
    assert variants["macos"].host.sharing == "none"
    assert variants["windows"].host.time_wait == 120
    assert all(v.variants == [] for v in variants.values())
    assert load_scenario(QUICKSTART).expand() == {"quickstart": load_scenario(QUICKSTART)}
    with pytest.raises(ScenarioError, match='no variant "solaris"'):
        s.variant("solaris")


def test_bad_variants_are_reported(make_scenario: Callable[..., Scenario]) -> None:
    with pytest.raises(
        ScenarioError,
        match=r"<test>: variants\[0\]\.set\.host\.time_wait: Input should be greater than or equal to 0 \(got -1\)",
    ):
        make_scenario(variants=[{"name": "slow", "set": {"host.time_wait": -1}}])
    with pytest.raises(ScenarioError, match=r"variants\[1\]\.name: variant name .* is used twice"):
        make_scenario(variants=[{"name": "a"}, {"name": "a"}])


def test_short_measured_windows_are_warned(make_scenario: Callable[..., Scenario]) -> None:
    assert make_scenario(duration=20.0).warnings() == []  # TIME_WAIT 2 s: 20 s is plenty
    short = make_scenario(duration=100.0, warmup=50.0, host={"time_wait": 60})
    assert any("shorter than three TIME_WAIT cycles" in n for n in short.warnings())


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [
        ("policy: random_start", "policy: {name: linux, resalt_period: .inf}", r"host\.policy: .*resalt_period"),
        ("policy: random_start", "policy: {name: linux, resalt_period: 5e-324}", r"must be 0 \(never\) or at least"),
        ("time_wait: 60 ", "time_wait_granularity: 1e-308\n  time_wait: 60 ", r"granularity: must be 0"),
        ("weight: 1}", "weight: 1e-308}", r"weight: Input should be greater than or equal to 0\.000000001"),
        ("weight: 1}", "weight: 1e308}", r"weight: Input should be less than or equal to 1000000000"),
        ("duration: 600 ", "duration: 1e300 ", r"duration: Input should be less than or equal to 1000000000"),
    ],
)
def test_extreme_values_are_refused_with_file_and_line(tmp_path: Path, old: str, new: str, pattern: str) -> None:
    """Values that validated before and then overflowed or divided by zero in the run (issue 7, defect 6)."""
    path = edited(tmp_path, old, new)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert re.match(rf"{re.escape(str(path))}:\d+: ", message), message
    assert re.search(pattern, message), message


@pytest.mark.parametrize("name", ["comparison.json", "plots", "summary.json"])
def test_variants_cannot_be_named_like_portsims_files(name: str, make_scenario: Callable[..., Scenario]) -> None:
    with pytest.raises(ScenarioError, match=r"variants\[0\]\.name: .* is the name of a file portsim writes"):
        make_scenario(variants=[{"name": name}])


def test_every_error_has_a_line(tmp_path: Path) -> None:
    """Missing keys, cross-field checks and variants' set values point at a line of the file."""
    text = QUICKSTART.read_text()
    missing = write(tmp_path, text.replace("name: quickstart\n", ""), "missing.yaml")
    with pytest.raises(ScenarioError, match=r"missing\.yaml:\d+: name: required key is missing"):
        load_scenario(missing)
    late = write(tmp_path, text.replace("warmup: 120", "warmup: 900"), "late.yaml")
    line = next(i for i, t in enumerate(late.read_text().splitlines(), 1) if t.startswith("warmup"))
    with pytest.raises(ScenarioError, match=rf"late\.yaml:{line}: warmup: warmup \(900\) must be shorter"):
        load_scenario(late)
    variants = text + "variants:\n  - name: slow\n    set:\n      host.time_wait: -5\n"
    path = write(tmp_path, variants, "variants.yaml")
    line = len(variants.splitlines())
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"{path}:{line}: variants[0].set.host.time_wait: Input should be greater")
    bad_path = write(tmp_path, text + "variants:\n  - name: x\n    set: {nothing.here: 1}\n", "path.yaml")
    with pytest.raises(ScenarioError, match=r"path\.yaml:\d+: variants\[0\]\.set\.nothing\.here: nothing: unknown key"):
        load_scenario(bad_path)


def test_set_with_an_empty_key_names_the_set() -> None:
    with pytest.raises(ScenarioError, match=r"^--set host\.\.time_wait: empty key in the key path$"):
        load_scenario(QUICKSTART, ["host..time_wait=1"])


def test_timer_grid_follows_the_preset_and_timer_hz(make_scenario: Callable[..., Scenario]) -> None:
    """Linux expires TIME_WAIT on its timer wheel by default (issue 7, defect 4)."""
    linux = make_scenario(host={"preset": "linux", "time_wait": None, "port_range": None})
    assert linux.host.resolved.time_wait_granularity == pytest.approx(2.048)
    for hz, grid in ((100, 5.12), (250, 2.048), (300, 512 / 300), (1000, 4.096)):
        host = make_scenario(host={"preset": "linux", "timer_hz": hz, "time_wait": None}).host.resolved
        assert host.time_wait_granularity == pytest.approx(grid)
    exact = make_scenario(host={"preset": "linux", "time_wait_granularity": 0})
    assert exact.host.resolved.time_wait_granularity == 0
    assert make_scenario(host={"preset": "iana"}).host.resolved.time_wait_granularity == 0
    assert make_scenario(host={"preset": "windows", "timer_hz": 1000}).host.resolved.time_wait_granularity == 0
    switched = linux.with_changes({"host.preset": "macos"})
    assert switched.host.resolved.time_wait_granularity == 0  # derived, so it follows the new preset


def test_port_range_as_the_sysctl_writes_it(make_scenario: Callable[..., Scenario]) -> None:
    assert make_scenario(host={"port_range": "40000-40099"}).host.port_range == (40000, 40099)
    with pytest.raises(ScenarioError, match="port_range: Input should be a valid tuple"):
        make_scenario(host={"port_range": "40000 to 40099"})


def test_bidirectional_overrides_are_escaped_in_messages(tmp_path: Path) -> None:
    path = write(tmp_path, QUICKSTART.read_text().replace("seed: 1", '"se\\u202eed": 1'))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "\u202e" not in str(info.value)
    assert "\\u202e" in str(info.value)
