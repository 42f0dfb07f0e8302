"""The exercise checks: one line each, right or not yet, and a student's answer never raises."""

from __future__ import annotations

import math

import nbformat
import numpy as np
import pytest

from sim.teach.check import MISSING, NOT_YET, RIGHT, check, check_range, check_that, outcomes


def printed(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out


def test_a_right_answer_prints_one_line_and_is_true(capsys: pytest.CaptureFixture[str]) -> None:
    verdict = check(12200, 200 * 61, what="ports held")
    assert verdict
    assert verdict.passed
    assert printed(capsys) == f"{RIGHT}ports held\n"
    assert verdict.line == f"{RIGHT}ports held"


def test_a_wrong_number_says_which_way_and_gives_the_hint(capsys: pytest.CaptureFixture[str]) -> None:
    assert not check(300, 270, what="capacity", hint="use sim.find_capacity")
    assert printed(capsys) == f"{NOT_YET}capacity: got 300, too high (hint: use sim.find_capacity)\n"
    assert not check(200, 270, what="capacity")
    assert printed(capsys) == f"{NOT_YET}capacity: got 200, too low\n"


@pytest.mark.parametrize(
    "answer",
    [..., None, "270", [270], {"a": 1}, float("nan"), True, object()],
    ids=["ellipsis", "none", "text", "list", "dict", "nan", "bool", "object"],
)
def test_no_answer_of_any_kind_raises_against_a_number(answer: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert not check(answer, 270, what="capacity")
    assert check_range(answer, 0, 1, what="blocking").passed is False
    lines = printed(capsys).splitlines()
    assert len(lines) == 2
    assert all(line.startswith(NOT_YET) for line in lines)


def test_a_blank_answer_is_named_as_missing(capsys: pytest.CaptureFixture[str]) -> None:
    check(..., 1, what="x")
    check([..., ...], ["a", "b"], what="y")
    check_that(..., lambda a: a > 0, what="z")
    out = printed(capsys)
    assert out.count(MISSING) == 3


def test_tolerances() -> None:
    assert check(101, 100, rel=0.02, what="rel")
    assert not check(103, 100, rel=0.02, what="rel")
    assert check(0.0004, 0.0, abs=0.001, what="abs")
    assert not check(0.1 + 0.2 + 1e-6, 0.3, what="exact by default")
    assert check(0.1 + 0.2, 0.3, what="float rounding is not a mistake")
    assert check(np.float64(0.5), 0.5, what="numpy numbers are numbers")
    assert check(np.int64(7), 7, what="numpy ints too")
    with pytest.raises(ValueError, match="must not be negative"):
        check(1, 1, rel=-1, what="bad check")


def test_text_ignores_case_and_surrounding_spaces() -> None:
    assert check(" Server ", "server", what="close side")
    assert not check("reset", "server", what="close side")
    assert not check(1, "server", what="close side")


def test_booleans_are_not_numbers() -> None:
    assert check(True, True, what="t")
    assert check(np.bool_(False), False, what="numpy bool")
    assert not check(1, True, what="1 is not True here")
    assert not check(True, 1, what="True is not 1 here")


def test_sets_say_how_many_are_missing_or_extra(capsys: pytest.CaptureFixture[str]) -> None:
    assert check(["macos", "netbsd"], {"netbsd", "macos"}, what="a list is taken as a set")
    capsys.readouterr()
    assert not check({"macos", "linux"}, {"macos", "netbsd"}, what="presets")
    assert "1 missing, 1 too many" in printed(capsys)
    assert not check("macos", {"macos"}, what="a string is not a set of names")


def test_sequences_and_mappings_compare_item_by_item(capsys: pytest.CaptureFixture[str]) -> None:
    assert check(np.array([1.0, 2.0]), [1, 2], what="an array is a list")
    assert check((1, "a"), [1, "A"], what="a tuple is a list")
    assert not check([1, 3], [1, 2], what="list")
    assert "item 1: got 3, too high" in printed(capsys)
    assert not check([1], [1, 2], what="length")
    assert "expected 2 items, got 1" in printed(capsys)
    assert not check(np.zeros((2, 2)), [0, 0], what="a 2-D array is not a list")
    assert check({"a": 1.0, "b": "x"}, {"a": 1, "b": "X"}, what="mapping")
    assert not check({"a": 1}, {"a": 1, "b": 2}, what="keys")
    assert not check({"a": 2}, {"a": 1}, what="value")
    assert "['a']: got 2" in printed(capsys)


def test_other_values_compare_with_equality_and_a_failing_comparison_is_not_yet() -> None:
    class Odd:
        def __eq__(self, other: object) -> bool:
            raise TypeError("no")

        __hash__ = object.__hash__

    assert check(range(3), range(3), what="ranges")
    assert not check(Odd(), complex(1, 1), what="odd")


def test_check_range_is_inclusive(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_range(0.0, 0.0, 0.001, what="low edge")
    assert check_range(0.001, 0.0, 0.001, what="high edge")
    capsys.readouterr()
    assert not check_range(0.002, 0.0, 0.001, what="above")
    assert "too high" in printed(capsys)
    assert not check_range(-math.inf, 0.0, 1.0, what="below")
    assert "too low" in printed(capsys)
    with pytest.raises(ValueError, match="empty range"):
        check_range(1, 2, 1, what="bad check")


def test_check_that_turns_a_raising_condition_into_not_yet(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_that(32, lambda n: n % 2 == 0, what="even")
    assert not check_that(31, lambda n: n % 2 == 0, what="even")
    assert not check_that("32", lambda n: n % 2 == 0, what="even")
    out = printed(capsys)
    assert "could not be checked (TypeError" in out
    assert "31 does not do it yet" in out


def test_long_answers_are_shortened(capsys: pytest.CaptureFixture[str]) -> None:
    check("x" * 500, 1, what="long")
    line = printed(capsys).strip()
    assert len(line) < 150
    assert "xxx..." in line


def test_outcomes_read_the_lines_back_from_a_notebook() -> None:
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(f"{RIGHT}in markdown is not a check"),
            nbformat.v4.new_code_cell(
                "x",
                outputs=[
                    nbformat.v4.new_output("stream", name="stdout", text=f"hello\n{RIGHT}one\n{NOT_YET}two: got 3\n"),
                    nbformat.v4.new_output("stream", name="stderr", text=f"{RIGHT}stderr is not a check\n"),
                    nbformat.v4.new_output("execute_result", data={"text/plain": f"{RIGHT}a value is not one"}),
                ],
            ),
            nbformat.v4.new_code_cell(
                "y", outputs=[{"output_type": "stream", "name": "stdout", "text": [f"{RIGHT}three\n"]}]
            ),
        ]
    )
    assert outcomes(notebook) == [(True, "one"), (False, "two: got 3"), (True, "three")]
    assert outcomes({}) == []


def test_a_verdict_shows_nothing_more_in_a_notebook(capsys: pytest.CaptureFixture[str]) -> None:
    verdict = check(1, 1, what="once")
    assert verdict._ipython_display_() is None
    assert printed(capsys) == f"{RIGHT}once\n"
