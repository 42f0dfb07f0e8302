"""The trace file: rows read as a stream and checked, every bad row named by file and line."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from sim.core import trace as trace_module
from sim.core.arrivals import Trace
from sim.core.trace import DEFAULT_CLOSE, MAX_LINE, Row, TraceError, TraceReader, destination_label, scan
from sim.core.transitions import CLOSES


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages show files relative to the current folder."""
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str | bytes, name: str = "conns.csv") -> str:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    return str(path)


def rows(path: str) -> list[Row]:
    return list(TraceReader(path).rows())


def test_columns_in_any_order_with_end_or_duration(tmp_path: Path) -> None:
    path = write(tmp_path, "destination,close,end,start\n10.0.0.1:80,server,3.5,1\n[2001:DB8::0:1]:443,,4,4\n")
    assert rows(path) == [
        (2, 1.0, 2.5, "10.0.0.1:80", CLOSES.index("server")),
        (3, 4.0, 0.0, "[2001:db8::1]:443", DEFAULT_CLOSE),
    ]


def test_byte_order_mark_crlf_blank_lines_and_spaces_are_read(tmp_path: Path) -> None:
    text = b"\xef\xbb\xbfstart , duration,destination\r\n\r\n1, 0.5 , 10.0.0.1:80 \r\n\n2,1,10.0.0.1:80"
    assert [r[:4] for r in rows(write(tmp_path, text))] == [
        (3, 1.0, 0.5, "10.0.0.1:80"),
        (5, 2.0, 1.0, "10.0.0.1:80"),
    ]


HEADER = "start,duration,destination,close\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "conns.csv:1: no header"),
        ("\n1,1,10.0.0.1:80\n", "conns.csv:1: no header"),
        ("start,duration,destination,port\n", "conns.csv:1: unknown column 'port'"),
        ("start,start,duration,destination\n", "conns.csv:1: column 'start' appears twice"),
        ("start,destination\n", "conns.csv:1: the header needs exactly one of 'duration' and 'end'"),
        ("start,duration,end,destination\n", "conns.csv:1: the header needs exactly one of 'duration' and 'end'"),
        ("duration,destination\n", "conns.csv:1: the header has no 'start' column"),
        (HEADER + "1,1,10.0.0.1:80\n", "conns.csv:2: 3 fields; the header has 4"),
        (HEADER + "1,1,10.0.0.1:80,client\n0.5,1,10.0.0.1:80,client\n", "conns.csv:3: rows out of order: start 0.5"),
        (HEADER + "x,1,10.0.0.1:80,client\n", "conns.csv:2: start 'x' is not a number"),
        (HEADER + "-1,1,10.0.0.1:80,client\n", r"conns.csv:2: start \(-1\) is negative"),
        (HEADER + "nan,1,10.0.0.1:80,client\n", r"conns.csv:2: start \(nan\) must be a number of seconds"),
        (HEADER + "1,-0.5,10.0.0.1:80,client\n", r"conns.csv:2: duration \(-0.5\) is negative"),
        (HEADER + "1,inf,10.0.0.1:80,client\n", r"conns.csv:2: duration \(inf\) must be a number of seconds"),
        (HEADER + "1,2e9,10.0.0.1:80,client\n", r"conns.csv:2: duration \(2e\+09\) must be a number of seconds"),
        (HEADER + "1,,10.0.0.1:80,client\n", "conns.csv:2: duration '' is not a number"),
        ("start,end,destination\n2,1.5,10.0.0.1:80\n", r"conns.csv:2: end \(1.5\) is before start \(2\)"),
        (HEADER + "1,1,10.0.0.1,client\n", "conns.csv:2: destination '10.0.0.1' is not address:port"),
        (HEADER + "1,1,10.0.0.300:80,client\n", "conns.csv:2: destination '10.0.0.300:80': '10.0.0.300' is not an"),
        (HEADER + "1,1,10.0.0.1:0,client\n", "conns.csv:2: destination '10.0.0.1:0': the port must be"),
        (HEADER + "1,1,10.0.0.1:http,client\n", "conns.csv:2: destination '10.0.0.1:http': the port must be"),
        (HEADER + "1,1,2001:db8::1:80,client\n", "conns.csv:2: destination '2001:db8::1:80': an IPv6 address goes"),
        (HEADER + "1,1,[10.0.0.1]:80,client\n", "conns.csv:2: destination '.10.0.0.1.:80': brackets are for IPv6"),
        (HEADER + "1,1,10.0.0.1:80,both\n", "conns.csv:2: close 'both' is not one of client, server, reset, half"),
        (HEADER + "1,1,10.0.0.1:80,client\n2,1,10.0.0.1:80,\xe9\n", r"conns.csv:3: not ASCII text \(byte 0xc3\)"),
        (HEADER + "1,1," + "9" * MAX_LINE + ",client\n", f"conns.csv:2: line longer than {MAX_LINE} bytes"),
        (HEADER + "1,1,10.0.0.1:80,client\n" + "9" * (MAX_LINE * 300), f"conns.csv:3: line longer than {MAX_LINE}"),
    ],
)
def test_every_bad_row_is_named_by_file_and_line(text: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(TraceError, match=f"^{message}"):
        rows(write(tmp_path, text))


def test_files_that_are_not_traces(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match=r"^missing\.csv: no such file$"):
        rows(str(tmp_path / "missing.csv"))
    (tmp_path / "folder").mkdir()
    with pytest.raises(TraceError, match=r"folder: is a directory"):
        rows(str(tmp_path / "folder"))
    with pytest.raises(TraceError, match=r"^/dev/zero: not a regular file$"):
        rows("/dev/zero")
    with pytest.raises(TraceError, match=r"conns\.csv: has a header but no rows"):
        scan(write(tmp_path, HEADER))


def test_bounds_on_rows_bytes_and_destinations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, HEADER + "".join(f"{i},1,10.0.0.{i + 1}:80,\n" for i in range(5)))
    monkeypatch.setattr(trace_module, "MAX_ROWS", 3)
    with pytest.raises(TraceError, match=r"conns\.csv:5: more than 3 rows"):
        scan(path)
    monkeypatch.setattr(trace_module, "MAX_ROWS", 100)
    monkeypatch.setattr(trace_module, "MAX_DESTINATIONS", 4)
    with pytest.raises(TraceError, match=r"conns\.csv:6: more than 4 distinct destinations"):
        scan(path)
    monkeypatch.setattr(trace_module, "MAX_BYTES", 50)
    with pytest.raises(TraceError, match=r"conns\.csv: larger than 0 GiB"):
        scan(path)


def test_a_file_larger_than_a_chunk_keeps_its_line_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace_module, "CHUNK", 64)
    body = "".join(f"{i},0.5,10.0.0.1:80,client\n" for i in range(40))
    path = write(tmp_path, HEADER + body + "39,1,10.0.0.1:80,nobody\n")
    with pytest.raises(TraceError, match=r"conns\.csv:42: close 'nobody'"):
        rows(path)
    path = write(tmp_path, HEADER + body)
    assert [r[1] for r in rows(path)] == [float(i) for i in range(40)]


def test_scan_reports_what_the_file_holds(tmp_path: Path) -> None:
    text = HEADER + "0.5,1,10.0.0.1:80,client\n0.5,3,[::1]:443,half\n2.5,2,10.0.0.1:80,\n"
    path = write(tmp_path, text)
    facts = scan(path)
    assert facts.rows == 3
    assert (facts.first_start, facts.last_start, facts.mean_duration) == (0.5, 2.5, 2.0)
    assert facts.destinations == ["10.0.0.1:80", "[::1]:443"]
    assert facts.destination_lines == [2, 3]
    assert facts.sides == ["client", "half"]
    assert facts.size == len(text)
    assert facts.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert scan(write(tmp_path, "start,duration,destination\n1,1,10.0.0.1:80\n", "plain.csv")).sides == []


def test_destination_labels_are_canonical() -> None:
    assert destination_label("[2001:0db8:0000::0001]:0443") == "[2001:db8::1]:443"
    assert destination_label("192.0.2.1:65535") == "192.0.2.1:65535"
    with pytest.raises(ValueError, match="port must be"):
        destination_label("192.0.2.1:65536")


def test_the_trace_spec_gives_rates_times_and_speed(tmp_path: Path) -> None:
    path = write(tmp_path, "start,duration,destination\n" + "".join(f"{t},0.5,10.0.0.1:80\n" for t in range(1, 11)))
    spec = Trace(file=path, checked=scan(path))
    assert spec.mean_rate == 10 / 9
    assert spec.steps(5.0) == pytest.approx(50 / 9)
    assert spec.steps(1000.0) == 10
    assert spec.holding.expected == 0.5
    assert not spec.is_poisson
    rng = np.random.default_rng(0)
    assert list(spec.times(rng, 3.0, 6.0)) == [3.0, 4.0, 5.0]
    faster = spec.model_copy(update=spec.scaled(2.0))
    assert faster.speed == 2.0
    assert faster.mean_rate == 20 / 9
    assert list(faster.times(rng, 0.0, 3.0)) == [0.5, 1.0, 1.5, 2.0, 2.5]
