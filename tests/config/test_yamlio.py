"""Untrusted scenario files are bounded before any object is built from them (issue 7, defect 6)."""

from __future__ import annotations

import re
import resource
from pathlib import Path

import pytest

from sim.config.errors import ScenarioError
from sim.config.load import load_scenario
from sim.config.yamlio import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, line_map, parse, read_text
from tests.conftest import ROOT

QUICKSTART = (ROOT / "scenarios" / "quickstart.yaml").read_text()
ONE_LINE = re.compile(r"^[^\n]{1,300}$")


def refused(tmp_path: Path, text: str, pattern: str) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert ONE_LINE.match(message), message
    assert re.search(pattern, message), message
    return message


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    before = peak_rss_mib()
    refused(
        tmp_path, "\n".join(lines) + "\n", rf"s\.yaml:\d+: more than {MAX_NODES:,} values once aliases are expanded"
    )
    assert peak_rss_mib() - before < 100  # ten levels of ten would be 10**10 values


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    refused(tmp_path, "name: &a [*a]\n", r"s\.yaml:1: recursive alias")


def test_deep_nesting_is_refused_without_recursing(tmp_path: Path) -> None:
    refused(tmp_path, "a: " + "[" * 500 + "]" * 500 + "\n", rf"s\.yaml:1: nested more than {MAX_DEPTH} levels")
    refused(tmp_path, "a: " + "{b: " * 30 + "1" + "}" * 30 + "\n", rf"nested more than {MAX_DEPTH} levels")


def test_aliases_cannot_build_depth_the_events_do_not_show(tmp_path: Path) -> None:
    lines = ["l0: &l0 [x]"] + [f"l{i}: &l{i} [*l{i - 1}]" for i in range(1, 40)]
    refused(tmp_path, "\n".join(lines) + "\n", rf"nested more than {MAX_DEPTH} levels deep once aliases are expanded")


def test_large_files_and_endless_devices_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * MAX_FILE_BYTES + "\n")
    with pytest.raises(ScenarioError, match=r"big\.yaml: larger than 1024 KiB"):
        load_scenario(big)
    with pytest.raises(ScenarioError, match=r"^/dev/zero: larger than 1024 KiB; not a scenario file$"):
        read_text("/dev/zero", "/dev/zero")


def test_complex_keys_are_refused(tmp_path: Path) -> None:
    refused(tmp_path, "? [a, b]\n: 1\n", r"s\.yaml:1: \(top level\): a key must be a plain name")


def test_integer_literals_are_bounded(tmp_path: Path) -> None:
    refused(
        tmp_path,
        QUICKSTART.replace("seed: 1", "seed: " + "9" * 5000),
        r"s\.yaml:\d+:\d+: malformed YAML: .*integer literal longer",
    )


def test_non_utf8_and_control_characters_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: \xff\n")
    with pytest.raises(ScenarioError, match=r"s\.yaml:1: not UTF-8 text \(byte 0xff\)"):
        load_scenario(path)
    refused(tmp_path, "name: a\x00b\n", r"s\.yaml:1: malformed YAML: character U\+0000 is not allowed")


def test_keys_with_newlines_and_huge_keys_are_echoed_short(tmp_path: Path) -> None:
    text = QUICKSTART.replace("seed: 1", '"bad\\nkey": 1\n' + '? "' + "k" * 100_000 + '"\n: 2')
    message = refused(tmp_path, text, r"s\.yaml:\d+: .*unknown key")
    assert len(message) < 300


def test_the_line_map_has_every_key_and_list_item() -> None:
    data, lines = parse("a: 1\nb:\n  - c: 2\n  - 3\n", "s")
    assert data == {"a": 1, "b": [{"c": 2}, 3]}
    assert lines == {(): 1, ("a",): 1, ("b",): 2, ("b", 0): 3, ("b", 0, "c"): 3, ("b", 1): 4}
    import yaml

    assert line_map(yaml.compose("x: 1"), "s") == {(): 1, ("x",): 1}
