"""Shipped scenarios found from wherever a notebook runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.teach.scenarios import CHECKOUT, scenario
from tests.conftest import ROOT


def test_found_from_the_notebooks_and_their_solutions() -> None:
    expected = ROOT / "scenarios" / "quickstart.yaml"
    assert scenario("quickstart", ROOT / "notebooks") == expected
    assert scenario("quickstart.yaml", ROOT / "notebooks" / "solutions") == expected


def test_the_nearest_copy_wins(tmp_path: Path) -> None:
    (tmp_path / "scenarios").mkdir()
    mine = tmp_path / "scenarios" / "quickstart.yaml"
    mine.write_text("name: mine\n")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    assert scenario("quickstart", tmp_path / "deep" / "er") == mine


def test_elsewhere_the_checkout_portsim_runs_from(tmp_path: Path) -> None:
    assert CHECKOUT == ROOT
    assert scenario("quickstart", tmp_path) == ROOT / "scenarios" / "quickstart.yaml"


def test_a_missing_scenario_names_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"scenarios/nothing-here\.yaml: not found in"):
        scenario("nothing-here", tmp_path)
