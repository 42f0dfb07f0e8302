"""Trace replay from the command line: bad traces in one line and exit 2, and ``portsim trace --from-ss``."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest

from sim.cli.main import main
from sim.config import snapshots
from sim.config.snapshots import convert
from sim.core import trace as trace_module
from tests.conftest import ROOT

SNAPSHOTS = ROOT / "tests" / "data" / "ss-snapshots.log"
"""A real capture: five ``ss -tanH`` snapshots of 40 loopback connections (tests/data/capture_ss.py)."""

SCENARIO = """\
name: replay
duration: 30
host: {{preset: linux}}
workloads:
  - name: w
    arrivals: {{kind: trace, file: {file}}}
    destinations:
      - {{address: 127.0.0.1, port: 8080}}
      - {{address: 10.0.0.1, port: 443}}
"""
HEADER = "start,duration,destination,close\n"
GOOD = "1,1,10.0.0.1:443,client\n"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def run(tmp_path: Path, trace: str | None, *extra: str) -> int:
    (tmp_path / "s.yaml").write_text(SCENARIO.format(file="conns.csv"))
    if trace is not None:
        (tmp_path / "conns.csv").write_text(trace)
    return main(["run", "s.yaml", "--out", str(tmp_path / "out"), "--no-plots", "--quiet", "--workers", "1", *extra])


@pytest.mark.parametrize(
    ("trace", "problem"),
    [
        (HEADER + "2,1,10.0.0.1:443,client\n1,1,10.0.0.1:443,client\n", "conns.csv:3: rows out of order"),
        (HEADER + GOOD + "2,1,10.0.0.9:443,client\n", "conns.csv:3: destination 10.0.0.9:443 is not one of the"),
        (HEADER + GOOD + "2,-1,10.0.0.1:443,client\n", r"conns.csv:3: duration \(-1\) is negative"),
        (HEADER + GOOD + "2,soon,10.0.0.1:443,client\n", "conns.csv:3: duration 'soon' is not a number"),
        ("start,end,destination\n2,1,10.0.0.1:443\n", r"conns.csv:2: end \(1\) is before start \(2\)"),
        (HEADER + GOOD + "2,1,10.0.0.1:443,peer\n", "conns.csv:3: close 'peer' is not one of client, server"),
        (HEADER + GOOD + "2,1,10.0.0.1:443," + "x" * 2000 + "\n", "conns.csv:3: line longer than 1024 bytes"),
        (None, "conns.csv: no such file"),
    ],
)
def test_a_bad_trace_is_one_line_naming_file_row_and_key(
    trace: str | None, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, trace) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("portsim: error: s.yaml:6: workloads[0].arrivals.file: "), err
    assert re.search(problem, err), err
    assert not (tmp_path / "out").exists()


def test_too_many_rows_or_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trace_module, "MAX_ROWS", 2)
    assert run(tmp_path, HEADER + GOOD * 3) == 2
    assert "s.yaml:6: workloads[0].arrivals.file: conns.csv:4: more than 2 rows" in capsys.readouterr().err
    monkeypatch.setattr(trace_module, "MAX_BYTES", 40)
    assert run(tmp_path, HEADER + GOOD * 3) == 2
    assert "conns.csv: larger than" in capsys.readouterr().err


def test_a_trace_runs_from_any_folder_and_rows_past_the_end_are_not_replayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "s.yaml").write_text(SCENARIO.format(file="conns.csv"))
    (tmp_path / "conns.csv").write_text(HEADER + "".join(f"{t},1,10.0.0.1:443,\n" for t in range(40)))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["run", "../s.yaml", "--out", "out", "--no-plots", "--workers", "1"]) == 0
    assert "attempts             30" in capsys.readouterr().out  # rows at 30 s and after lie beyond the run
    assert main(["run", "out/scenario.yaml", "--out", "again", "--no-plots", "--quiet", "--workers", "1"]) == 0


def test_snapshots_of_a_real_kernel_become_a_trace_that_replays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trace", "--from-ss", str(SNAPSHOTS), "-o", "conns.csv"]) == 0
    said = capsys.readouterr().out
    assert said.startswith("portsim trace: 28 connection(s) this host opened, to 1 destination(s), from 5 snapshot")
    assert "3 still open in the last" in said
    assert "16 seen only closing (duration 0)" in said
    assert "24 accepted on a listening port" in said
    with (tmp_path / "conns.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 28
    assert {r["destination"] for r in rows} == {"127.0.0.1:8080"}
    assert sorted(float(r["start"]) for r in rows) == [float(r["start"]) for r in rows]
    assert {r["close"] for r in rows} == {"client", ""}
    assert run(tmp_path, None, "--set", "duration=5") == 0
    summary = (tmp_path / "out" / "summary.json").read_text()
    assert '"attempts": 28' in summary


def test_the_conversions_guesses(tmp_path: Path) -> None:
    """Starts and ends halfway between snapshots, the close side from the states seen, accepted ones left out."""
    log = tmp_path / "ss.log"
    log.write_text(
        "100.0\n"
        "LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\n"
        "ESTAB 0 0 10.0.0.2:40000 10.0.0.1:443\n"  # open before the first: start 0
        "ESTAB 0 0 10.0.0.2:22 10.0.0.9:51000\n"  # accepted: left out
        "102.0\n"
        "FIN-WAIT-2 0 0 10.0.0.2:40000 10.0.0.1:443\n"  # client closes: end 1 (halfway 100-102)
        'ESTAB 0 0 10.0.0.2:40002 [2001:db8::1]:443 users:(("curl",pid=1,fd=3))\n'  # start 1
        "SYN-SENT 0 1 10.0.0.2:40004 10.0.0.1:443\n"
        "104.0\n"
        "CLOSE-WAIT 1 0 10.0.0.2:40002 [2001:db8::1]:443\n"  # server closes: end 3
        "ESTAB 0 0 10.0.0.2:40006 10.0.0.1:443\n"  # start 3, gone next: guessed server, end 5
        "ESTAB 0 0 10.0.0.2:1000 10.0.0.1:443\n"  # outside the ephemeral range
        "106.0\n"
        "TIME-WAIT 0 0 10.0.0.2:40008 10.0.0.1:443\n"  # only closing: start 5, duration 0, client
        "ESTAB 0 0 10.0.0.2:40010 10.0.0.1:443\n"  # still open at the end
    )
    out = convert([str(log)])
    assert [(r.start, r.duration, r.destination, r.close) for r in out.rows] == [
        (0.0, 1.0, "10.0.0.1:443", "client"),
        (1.0, 2.0, "[2001:db8::1]:443", "server"),
        (3.0, 2.0, "10.0.0.1:443", "server"),
        (5.0, 0.0, "10.0.0.1:443", "client"),
        (5.0, 1.0, "10.0.0.1:443", ""),
    ]
    assert (out.snapshots, out.span, out.origin) == (4, 6.0, 100.0)
    assert (out.before_first, out.still_open, out.never_established, out.vanished) == (1, 1, 1, 1)
    assert (out.accepted, out.outside, out.opening) == (1, 1, 1)
    assert (out.client, out.server) == (2, 2)


def test_one_file_per_snapshot_with_an_interval(tmp_path: Path) -> None:
    estab, closing = "ESTAB 0 0 10.0.0.2:40000 10.0.0.1:443\n", "TIME-WAIT 0 0 10.0.0.2:40000 10.0.0.1:443\n"
    for k, text in enumerate([estab, estab, closing, ""]):
        (tmp_path / f"snap{k}.txt").write_text(text)
    out = convert([str(tmp_path / f"snap{k}.txt") for k in range(4)], interval=2.0)
    assert [(r.start, r.duration, r.close) for r in out.rows] == [(0.0, 3.0, "client")]
    assert (out.snapshots, out.span) == (4, 6.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ESTAB 0 0 10.0.0.2:40000 10.0.0.1:443\n", "ss.log:1: ss output before any time line"),
        ("5.0\n4.0\n", r"ss.log:2: snapshot time 4.000 is not after the previous one \(5.000\)"),
        ("5.0\nsoon\n", "ss.log:2: 'soon' is neither a time nor ss output"),
        ("5.0\nESTAB 0 0 10.0.0.2:40000\n", "ss.log:2: 4 fields; ss -tanH gives state"),
        ("5.0\nOPEN 0 0 10.0.0.2:40000 10.0.0.1:443\n", "ss.log:2: unknown TCP state 'OPEN'"),
        ("5.0\nESTAB 0 0 10.0.0.2:40000 10.0.0.1\n", "ss.log:2: '10.0.0.1' is not address:port"),
        ("5.0\nESTAB 0 0 10.0.0.2:40000 10.0.0.1:*\n", "ss.log:2: destination '10.0.0.1:.': the port must be"),
        ("5.0\n" + "x" * 5000 + "\n", "ss.log:2: line longer than 4096 bytes"),
        ("5.0\nESTAB 0 0 10.0.0.2:22 10.0.0.1:443\nLISTEN 0 1 *:22 *:*\n", "ss.log: no connection this host opened"),
    ],
)
def test_bad_snapshots_are_one_line_with_file_and_line(
    text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ss.log").write_text(text)
    assert main(["trace", "--from-ss", "ss.log", "-o", "conns.csv"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert re.search(f"^portsim: error: {message}", err), err
    assert not (tmp_path / "conns.csv").exists()


def test_trace_never_replaces_a_file_unasked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(SNAPSHOTS, tmp_path / "ss.log")
    (tmp_path / "conns.csv").write_text("mine\n")
    assert main(["trace", "--from-ss", "ss.log", "-o", "conns.csv"]) == 2
    assert "conns.csv: exists; --overwrite replaces it" in capsys.readouterr().err
    assert (tmp_path / "conns.csv").read_text() == "mine\n"
    assert main(["trace", "--from-ss", "ss.log", "-o", "ss.log", "--overwrite"]) == 2
    assert "is one of the snapshot files" in capsys.readouterr().err
    assert main(["trace", "--from-ss", "ss.log", "-o", "conns.csv", "--overwrite"]) == 0
    assert (tmp_path / "conns.csv").read_text().startswith(HEADER)
    assert main(["trace", "--from-ss", "missing.log", "-o", "new.csv"]) == 2
    assert "portsim: error: missing.log: cannot read: No such file or directory" in capsys.readouterr().err


def test_bounds_on_snapshots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ss.log").write_text(
        "1\nESTAB 0 0 10.0.0.2:40000 10.0.0.1:443\nESTAB 0 0 10.0.0.2:40001 10.0.0.1:443\n"
    )
    monkeypatch.setattr(snapshots, "MAX_CONNECTIONS", 1)
    with pytest.raises(snapshots.SnapshotError, match=r"ss\.log:3: more than 1 connections"):
        convert(["ss.log"])
    monkeypatch.setattr(snapshots, "MAX_INPUT_BYTES", 10)
    with pytest.raises(snapshots.SnapshotError, match=r"ss\.log:2: larger than"):
        convert(["ss.log"])
