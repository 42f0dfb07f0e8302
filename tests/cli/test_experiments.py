"""portsim sweep, capacity and remedies as a user runs them: files, tables, resumption, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sim.cli.main import main
from tests.conftest import BASE, merge


def _exit(args: list[str]) -> int:
    """The exit status of ``portsim ARGS`` (argparse's own errors included)."""
    try:
        return main(args)
    except SystemExit as exc:
        return int(exc.code or 0)


def _scenario(tmp_path: Path, **changes: object) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(merge(BASE, dict(changes))))
    return path


def test_sweep_writes_its_files_and_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _scenario(tmp_path, sweep={"workloads.w.arrivals.rate": {"from": 2, "to": 6, "steps": 3}})
    out = tmp_path / "out"
    code = main(["sweep", str(path), "--over", "host.time_wait=1,2", "--replications", "2", "--out", str(out)])
    assert code == 0
    assert {"sweep.yaml", "sweep.csv", "sweep.json", "sweep.png", "cache"} <= {p.name for p in out.iterdir()}
    assert len(list((out / "cache").glob("*.json"))) == 12
    text = capsys.readouterr().out
    assert "6 points, 2 replication(s) each" in text
    assert "workloads.w.arrivals.rate  host.time_wait  blocking" in text
    data = json.loads((out / "sweep.json").read_text())
    assert data["keys"] == ["workloads.w.arrivals.rate", "host.time_wait"]


def test_a_sweep_keeps_the_runs_files_and_a_run_keeps_the_sweeps(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    out = str(tmp_path / "out")
    assert main(["run", str(path), "--out", out, "--quiet", "--no-plots"]) == 0
    assert main(["sweep", str(path), "--over", "host.time_wait=1,2", "--out", out, "--quiet", "--no-plots"]) == 0
    names = {p.name for p in Path(out).iterdir()}
    assert {"summary.json", "timeseries.csv", "sweep.csv", "cache"} <= names
    assert main(["run", str(path), "--out", out, "--quiet", "--no-plots"]) == 0
    assert {"summary.json", "sweep.csv", "sweep.json", "cache"} <= {p.name for p in Path(out).iterdir()}


def test_fresh_runs_everything_again(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    out = tmp_path / "out"
    args = ["sweep", str(path), "--over", "host.time_wait=1,2", "--out", str(out), "--quiet", "--no-plots"]
    assert main(args) == 0
    entry = sorted((out / "cache").glob("*.json"))[0]
    entry.write_text("{}")  # damaged: a miss, run again
    assert main(args) == 0
    assert json.loads(entry.read_text())["scenario"] == "tiny"
    before = entry.stat().st_mtime_ns
    assert main([*args, "--fresh"]) == 0
    assert entry.stat().st_mtime_ns > before


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (["--over", "host.tme_wait=1,2"], "unknown key"),
        (["--over", "host.time_wait=1:2:1"], "greater than or equal to 2"),
        (["--over", "host.time_wait=a:b:3"], "number"),
        (["--over", "seed=1,2"], "cannot be swept"),
        (["--over", "host.time_wait=1,2", "--workers", "0"], "between 1 and 1024"),
        (["--over", "host.time_wait=1,2", "--scheduler", "nonsense"], "not a scheduler address"),
        (["--over", "host.time_wait=1,2", "--variant", "nope"], "has no variants"),
        ([], "nothing to sweep"),
    ],
)
def test_bad_sweeps_are_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], problem: str
) -> None:
    path = _scenario(tmp_path)
    assert _exit(["sweep", str(path), "--out", str(tmp_path / "o"), *extra]) == 2
    err = capsys.readouterr().err
    assert problem in err
    assert err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_a_large_grid_asks_for_yes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _scenario(tmp_path)
    code = main(
        [
            "sweep",
            str(path),
            "--over",
            "host.time_wait=0.5:2:200",
            "--over",
            "warmup=0.0:1.0:60",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "12,000 points" in err
    assert "add --yes" in err


def test_capacity_writes_json_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _scenario(tmp_path, duration=200.0, warmup=20.0)
    out = tmp_path / "out"
    assert main(["capacity", str(path), "--target", "5%", "--out", str(out)]) == 0
    data = json.loads((out / "capacity.json").read_text())
    assert data["target"] == 0.05
    assert data["rate"] > 0
    assert data["ci95"][0] <= data["rate"] <= data["ci95"][1]
    assert data["simulation_runs"] == sum(len(e["runs"]) for e in data["evaluations"])
    assert (out / "capacity.png").is_file()
    assert "conn/s" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (["--target", "0"], "strictly between 0 and 1"),
        (["--target", "150%"], "strictly between 0 and 1"),
        (["--target", "x"], "not a number"),
        (["--workload", "nope"], 'workload "nope": not in the scenario'),
        (["--destination", "10.9.9.9:1"], "not in the scenario"),
        (["--replications", "2"], "between 3 and 64"),
    ],
)
def test_bad_capacity_input_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], problem: str
) -> None:
    path = _scenario(tmp_path)
    assert _exit(["capacity", str(path), "--out", str(tmp_path / "o"), *extra]) == 2
    err = capsys.readouterr().err
    assert problem in err
    assert err.count("\n") == 1


def test_remedies_rank_the_fixes_and_list_those_that_do_not_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scenario(tmp_path, duration=150.0, warmup=20.0)
    out = tmp_path / "out"
    code = main(
        ["remedies", str(path), "--target", "5%", "--fix", "server-closes-first", "--fix", "bind-no-port",
         "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    data = json.loads((out / "remedies.json").read_text())
    names = [r["name"] for r in data["remedies"]]
    assert names == ["as-is", "server-closes-first", "bind-no-port"]
    as_is, server, bind = data["remedies"]
    assert server["changes"] == {"workloads.0.close": "server"}
    assert server["capacity"]["rate"] > as_is["capacity"]["rate"]
    assert server["gain"] == pytest.approx(server["capacity"]["rate"] / as_is["capacity"]["rate"])
    assert not bind["applies"]
    assert "no workload binds" in bind["reason"]
    assert (out / "remedies.png").is_file()
    text = capsys.readouterr().out
    assert "does not apply: no workload binds" in text
    assert "what each fix sets\n  server-closes-first   the server closes first" in text  # the ones that apply
    assert "  bind-no-port  " not in text.split("what each fix sets")[1]


def test_unknown_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["remedies", str(_scenario(tmp_path)), "--fix", "magic", "--out", str(tmp_path / "o")]) == 2
    assert "fix 'magic': unknown" in capsys.readouterr().err


def test_ctrl_c_stops_every_worker_and_the_rerun_does_only_what_is_missing(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    portsim = Path(sys.executable).parent / "portsim"
    # long enough (about a second per task on the compiled path) that Ctrl-C comes before the sweep ends
    busy = {**BASE["workloads"][0], "arrivals": {"kind": "poisson", "rate": 1500.0}}
    path = _scenario(tmp_path, duration=600.0, host={"port_range": [50000, 51023]}, workloads=[busy])
    out = tmp_path / "out"
    args = [str(portsim), "sweep", str(path), "--over", "host.time_wait=1:8:8", "--replications", "2"]
    args += ["--workers", "2", "--out", str(out), "--no-plots"]
    child = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background child ignores it otherwise
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "cache").glob("*.json"))) < 2:
        time.sleep(0.2)
    os.killpg(child.pid, signal.SIGINT)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 130
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("portsim: interrupted")
    time.sleep(0.5)
    leftovers = subprocess.run(["pgrep", "-s", str(child.pid)], capture_output=True, text=True).stdout.split()
    assert leftovers == []  # every worker of the session is gone
    done = len(list((out / "cache").glob("*.json")))
    assert 2 <= done < 16
    assert not (out / "sweep.csv").exists()
    again = subprocess.run([*args, "--quiet"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert len(list((out / "cache").glob("*.json"))) == 16
    assert (out / "sweep.csv").read_text().count("\n") == 17


def test_sweep_and_capacity_warn_as_run_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _scenario(tmp_path, duration=5.0)  # shorter than three 3 s cycles of connection and TIME_WAIT
    assert main(["sweep", str(path), "--over", "host.time_wait=1,2", "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert "warning: the measured window" in capsys.readouterr().err
    args = ["capacity", str(path), "--target", "50%", "--out", str(tmp_path / "b"), "--quiet", "--workers", "1"]
    main(args)
    assert "warning: the measured window" in capsys.readouterr().err


def test_without_plots_the_table_names_no_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _scenario(tmp_path, sweep={"host.time_wait": [1.0, 2.0]})
    assert main(["sweep", str(path), "--out", str(tmp_path / "o"), "--no-plots"]) == 0
    assert "(sweep.csv, sweep.json)" in capsys.readouterr().out
    assert not (tmp_path / "o" / "sweep.png").exists()


def test_the_remedies_table_keeps_its_columns_for_the_longest_fix_name() -> None:
    from sim.cli.remedies import remedies_text
    from sim.report.remedies import RemediesReport, Remedy

    report = RemediesReport(
        scenario="s",
        seed=1,
        version="0",
        target=0.01,
        destination=None,
        workloads=["w"],
        load=10.0,
        remedies=[
            Remedy(name="as-is", description="", applies=True),
            Remedy(name="dynamic-port-allocation", description="", applies=False, reason="no Cloud NAT"),
            Remedy(name="tw-reuse", description="", applies=False, reason="no TIME_WAIT"),
        ],
    )
    head, _, *rows = remedies_text(report, Path("out")).splitlines()[1:5]
    ends = {row.index("-  does not apply") + 1 for row in rows}
    assert ends == {head.index("capacity conn/s") + len("capacity conn/s")}  # the "-" under the capacity column
