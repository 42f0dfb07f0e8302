"""The portsim command line, as a user runs it."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.cli.main import main
from sim.output import plots
from tests.conftest import ROOT

SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
COMPARISONS = {"os-comparison", "tw-reuse-comparison"}  # scenarios with variants, run by their own test
CLIENT_COMPARISONS = {"go-default-pool", "nginx-no-keepalive", "retry-storm"}  # variants of clients, own test
NAT_SCENARIOS = {
    "k8s-node-masquerade",
    "aws-nat-gateway",
    "azure-lb-default-snat",
    "azure-nat-fin-vs-rst",
    "gcp-cloud-nat-defaults",
    "mixed-fleet-nat",
    "aws-nat-stale-keepalive",
}  # fleets behind a translator, with variants, run by their own test
SWEEPS = {"knee-sweep"}  # scenarios with a sweep: section, run by their own test
EVERY_RUN_PLOTS = [*plots.PLOTS, "port_map"]  # with the port map's still, drawn for every run
PORTSIM = Path(sys.executable).parent / "portsim"


def portsim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PORTSIM), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_scenarios_are_shipped() -> None:
    names = {p.stem for p in SCENARIOS}
    assert {
        "quickstart",
        "one-backend-exhaustion",
        "four-backends-sharing",
        "close-side",
        "bind-before-connect",
    } <= names
    for path in SCENARIOS:
        assert path.read_text().startswith("#"), f"{path.name} must open with a comment saying what it answers"


def test_every_scenario_is_run_by_a_test() -> None:
    with_variants = {p.stem for p in SCENARIOS if "variants" in yaml.safe_load(p.read_text())}
    assert with_variants == COMPARISONS | CLIENT_COMPARISONS | NAT_SCENARIOS
    assert set(NAT_ANSWERS) == NAT_SCENARIOS
    assert set(CLIENT_ANSWERS) == CLIENT_COMPARISONS
    with_sweeps = {p.stem for p in SCENARIOS if "sweep" in yaml.safe_load(p.read_text())}
    assert with_sweeps == SWEEPS
    assert {p.stem for p in SCENARIOS} - COMPARISONS - CLIENT_COMPARISONS - SWEEPS - NAT_SCENARIOS == set(ANSWERS)


ANSWERS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "quickstart": lambda s: s["failures"] > 0 and s["first_failure_time_s"] < 60,
    "one-backend-exhaustion": lambda s: s["errors"]["EADDRNOTAVAIL"] > 0,
    "four-backends-sharing": lambda s: s["failures"] == 0,
    "bind-before-connect": lambda s: s["errors"]["EADDRINUSE"] > 0 and s["errors"]["EADDRNOTAVAIL"] == 0,
    "close-side": lambda s: (
        s["workloads"]["client-closes"]["failures"] > 0
        and s["workloads"]["server-closes"]["failures"] == 0
        and s["workloads"]["reset"]["failures"] == 0
    ),
    "incident-mixed-bind": lambda s: (
        s["errors"]["EADDRNOTAVAIL"] > 0
        and s["errors"]["EADDRINUSE"] > 0
        and not s["erlang_b"]["applicable"]
        and all(c["sustainable_rate"] is None for c in s["capacity_at_1pct_blocking"].values())
    ),
    "diurnal": lambda s: (
        s["failures"] > 0 and 150 < s["first_failure_time_s"] < 300 and not s["erlang_b"]["applicable"]
    ),  # runs out in the morning of the compressed day (noon at 300 s), though the mean load fits
}
"""What each shipped scenario's opening comment promises."""


@pytest.mark.parametrize(
    "path",
    [p for p in SCENARIOS if p.stem not in COMPARISONS | CLIENT_COMPARISONS | SWEEPS | NAT_SCENARIOS],
    ids=lambda p: p.stem,
)
def test_every_shipped_scenario_answers_its_question_on_the_default_path(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Plots on, as a user runs it (the default path crashed on unseen scenarios before: issue 7, defect 1)."""
    out = tmp_path / path.stem
    assert main(["run", str(path), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == yaml.safe_load(path.read_text())["name"]
    assert ANSWERS[path.stem](summary), summary
    assert sorted(p.name for p in (out / "plots").iterdir()) == sorted(f"{name}.png" for name in EVERY_RUN_PLOTS)
    printed = capsys.readouterr()
    assert "blocking probability" in printed.out
    assert "warning" not in printed.err  # a shipped scenario runs clean


@pytest.mark.parametrize(
    ("name", "failing", "passing"),
    [
        ("os-comparison", {"windows", "macos"}, {"linux", "freebsd"}),
        ("tw-reuse-comparison", {"reuse-off", "no-timestamps", "remote-backend"}, {"reuse-loopback", "reuse-all"}),
    ],
)
def test_comparisons_answer_their_questions(name: str, failing: set[str], passing: set[str], tmp_path: Path) -> None:
    out = tmp_path / name
    assert main(["run", str(ROOT / "scenarios" / f"{name}.yaml"), "--out", str(out), "--quiet"]) == 0
    table = json.loads((out / "comparison.json").read_text())
    assert set(table) == failing | passing
    assert {v for v, row in table.items() if row["failures"] > 0} == failing
    for variant in table:
        assert (out / variant / "summary.json").is_file()
    assert (out / "comparison.png").stat().st_size > 20_000
    if name == "tw-reuse-comparison":
        assert table["reuse-loopback"]["time_wait_recycled"] > 0
        assert table["remote-backend"]["time_wait_recycled"] == 0


def nat(summary: dict[str, Any]) -> dict[str, Any]:
    figures: dict[str, Any] = summary["nat"]
    return figures


def requests_of(summary: dict[str, Any], workload: str) -> dict[str, Any]:
    figures: dict[str, Any] = summary["workloads"][workload]["requests"]
    return figures


NAT_ANSWERS: dict[str, Callable[[dict[str, dict[str, Any]]], bool]] = {
    "k8s-node-masquerade": lambda v: (
        v["steady"]["failures"] == 0
        and 0 < nat(v["busier"])["failures"] < 0.01 * v["busier"]["attempts"]
        and 0.01 < nat(v["full"])["failure_probability"] < 0.06
        and nat(v["full"])["failed_with_free_ports"] == nat(v["full"])["failures"]
        and nat(v["full"])["evicted"] > 1000
        and v["full-fully-random"]["failures"] == v["full"]["failures"]
        and v["full"]["errors"]["insert_failed"] == v["full"]["failures"]
    ),
    "aws-nat-gateway": lambda v: (
        abs(nat(v["one-address"])["failure_probability"] - nat(v["one-address"])["erlang_b"][0]["blocking_probability"])
        < 0.02
        and 0.05 < nat(v["two-addresses"])["failure_probability"] < 0.2
        and v["three-addresses"]["failures"] == 0
        and v["one-address"]["errors"]["ErrorPortAllocation"] == v["one-address"]["failures"]
    ),
    "azure-lb-default-snat": lambda v: (
        nat(v["default-table"])["groups"]["batch"]["hosts_failed_with_room"] == 10
        and nat(v["default-table"])["groups"]["web"]["translator_failures"] == 0
        and 0.15 < v["default-table"]["workloads"]["storage-hot"]["blocking_probability"] < 0.3
        and nat(v["default-table"])["pool_size"] == 512
        and v["manual-1024"]["failures"] == 0
    ),
    "azure-nat-fin-vs-rst": lambda v: (
        0.25 < nat(v["fin"])["failure_probability"] < 0.42
        and abs(nat(v["fin"])["sustainable_rate"] - 50_000 / 65.5) < 1
        and abs(nat(v["rst"])["sustainable_rate"] - 50_000 / 16.5) < 1
        and v["rst"]["failures"] == v["fin-two-addresses"]["failures"] == 0
    ),
    "gcp-cloud-nat-defaults": lambda v: (
        abs(nat(v["defaults"])["failure_probability"] - nat(v["defaults"])["erlang_b"][0]["blocking_probability"])
        < 0.05
        and nat(v["defaults"])["groups"]["nodes"]["hosts_failed"] == 30
        and v["tw-30s"]["failures"] == v["dynamic"]["failures"] == 0
        and v["defaults"]["errors"]["OUT_OF_RESOURCES"] == v["defaults"]["failures"]
    ),
    "mixed-fleet-nat": lambda v: (
        0.07 < v["baseline"]["workloads"]["batch-api"]["blocking_probability"] < 0.12
        and v["baseline"]["workloads"]["web-api"]["failures"] == 0
        and v["baseline"]["errors"]["EADDRNOTAVAIL"] == v["baseline"]["failures"]
        and nat(v["baseline"])["failures"] == 0
        and v["baseline"]["pool"]["groups"]["batch"]["preset"] == "windows"
        and round(v["baseline"]["groups"]["batch"]["erlang_b"]["blocking_probability"], 3) == 0.094
        and v["baseline"]["groups"]["batch"]["ports_in_use"]["peak"] == 2 * 16384
        and v["baseline"]["groups"]["web"]["ports_in_use"]["peak"] < 1000
        and v["windows-tw-30"]["pool"]["groups"]["batch"]["time_wait_s"] == 30
        and v["batch-on-linux"]["pool"]["groups"]["batch"]["port_range"] == [32768, 60999]
        and v["windows-tw-30"]["failures"] == v["batch-on-linux"]["failures"] == 0
    ),
    "aws-nat-stale-keepalive": lambda v: (
        0.11 < requests_of(v["urllib3"], "partner-api")["failure_probability"] < 0.2
        and requests_of(v["urllib3"], "partner-api")["failures_by_cause"]["reset"]
        == requests_of(v["urllib3"], "partner-api")["failures"]
        == requests_of(v["urllib3"], "partner-api")["closed"]["nat_idle"]
        <= nat(v["urllib3"])["idle_timeouts"]  # and the connections idle past 350 s at the end
        and all(requests_of(v[name], "partner-api")["failures"] == 0 for name in ("idle-300", "go-pool", "retry-once"))
        and requests_of(v["retry-once"], "partner-api")["retries"]
        == requests_of(v["retry-once"], "partner-api")["closed"]["nat_idle"]
        > 0
        and nat(v["idle-300"])["idle_timeouts"] == 0
    ),
}
"""What each shipped NAT scenario's opening comment promises, from each variant's summary.json."""


@pytest.mark.parametrize("name", sorted(NAT_ANSWERS))
def test_nat_scenarios_answer_their_questions(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Plots on, as a user runs it."""
    out = tmp_path / name
    assert main(["run", str(ROOT / "scenarios" / f"{name}.yaml"), "--out", str(out)]) == 0
    table = json.loads((out / "comparison.json").read_text())
    summaries = {v: json.loads((out / v / "summary.json").read_text()) for v in table}
    assert NAT_ANSWERS[name](summaries), {v: s["nat"] for v, s in summaries.items()}
    for variant in table:
        plotted = {p.name for p in (out / variant / "plots").iterdir()}
        assert {"occupancy.png", "nat.png"} <= plotted
    printed = capsys.readouterr()
    assert "warning" not in printed.err  # a shipped scenario runs clean


CLIENT_ANSWERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], bool]] = {
    "go-default-pool": lambda table, requests: (
        table["default-pool"]["failures"] > 0
        and 40 < table["default-pool"]["first_failure_time_s"] < 50
        and table["sized-pool"]["failures"] == 0
        and requests["sized-pool"]["api"]["new_connections"] < 300
        and 0.2 < requests["default-pool"]["api"]["failure_probability"] < 0.35
        and 2.8 < requests["default-pool"]["api"]["reuse_ratio"] < 3.4  # k + 1 = 3 requests per connection
    ),
    "nginx-no-keepalive": lambda table, requests: (
        table["no-keepalive"]["failures"] == table["keepalive"]["failures"] == 0
        and 38_000 < table["no-keepalive"]["time_wait_mean"] < 43_000
        and table["keepalive"]["time_wait_mean"] < 0.02 * table["no-keepalive"]["time_wait_mean"]
        and requests["no-keepalive"]["upstream"]["reuse_ratio"] == 1.0
    ),
    "retry-storm": lambda table, requests: (
        table["retries"]["seconds_failing"] > 1.5 * table["no-retries"]["seconds_failing"] > 0
        and table["backoff-jitter"]["seconds_failing"] >= table["no-retries"]["seconds_failing"]
        and table["retries"]["failures"] > 5 * table["no-retries"]["failures"]
        and requests["retries"]["client"]["retries"] > 0
        and requests["retries"]["client"]["amplification"] > 1.5
    ),
}
"""What each shipped client scenario's opening comment promises: (comparison.json, each variant's requests)."""


@pytest.mark.parametrize("name", sorted(CLIENT_ANSWERS))
def test_client_scenarios_answer_their_questions(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """On the default path (plots on), every variant with the requests plot, and no warning."""
    out = tmp_path / name
    assert main(["run", str(ROOT / "scenarios" / f"{name}.yaml"), "--out", str(out), "--quiet"]) == 0
    assert "warning" not in capsys.readouterr().err
    table = json.loads((out / "comparison.json").read_text())
    requests = {}
    for variant in table:
        summary = json.loads((out / variant / "summary.json").read_text())
        requests[variant] = {w: f["requests"] for w, f in summary["workloads"].items() if "requests" in f}
        plotted = {p.name for p in (out / variant / "plots").iterdir()}
        assert plotted == {f"{p}.png" for p in EVERY_RUN_PLOTS} | ({"requests.png"} if requests[variant] else set())
    assert CLIENT_ANSWERS[name](table, requests), (table, requests)


def test_the_knee_sweep_shows_the_cliff_moving_with_time_wait(tmp_path: Path) -> None:
    out = tmp_path / "knee"
    args = ["sweep", str(ROOT / "scenarios" / "knee-sweep.yaml"), "--out", str(out), "--quiet"]
    shorter = ["--set", "duration=250", "--set", "warmup=100", "--replications", "1"]
    assert main([*args, *shorter, "--over", "workloads.api.arrivals.rate=150,400"]) == 0
    points = json.loads((out / "sweep.json").read_text())["points"]
    blocking = {
        (p["values"]["workloads.api.arrivals.rate"], p["values"]["host.time_wait"]): p["mean"]["blocking_probability"]
        for p in points
    }
    assert blocking[(150, 60)] == 0
    assert blocking[(400, 60)] > 0.25  # past the knee near 270 conn/s
    assert blocking[(400, 30)] == 0  # a 30 s TIME_WAIT moves the knee to about 530 conn/s
    assert (out / "sweep.png").stat().st_size > 20_000


def test_console_script_writes_the_default_folder_with_plots(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text((ROOT / "scenarios" / "quickstart.yaml").read_text())
    done = portsim("run", "s.yaml", "--set", "duration=200", "--set", "warmup=0", "--seed", "4", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no warning here, and no progress bar when stderr is not a terminal
    out = tmp_path / "results" / "quickstart"
    assert sorted(p.name for p in (out / "plots").iterdir()) == sorted(f"{name}.png" for name in EVERY_RUN_PLOTS)
    resolved = yaml.safe_load((out / "scenario.yaml").read_text())
    assert (resolved["seed"], resolved["duration"], resolved["warmup"]) == (4, 200.0, 0.0)
    assert "results/quickstart/" in done.stdout


def test_the_readme_shows_what_make_run_prints(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    shown = readme.split("`make run` prints this and writes `results/quickstart/`:\n\n```\n", 1)[1].split("```", 1)[0]
    done = portsim("run", str(ROOT / "scenarios" / "quickstart.yaml"), "--no-plots", "--out", "q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = done.stdout.replace("results              q/", "results              results/quickstart/")
    assert printed.splitlines()[-9:] == shown.splitlines()


def test_python_dash_m_sim() -> None:
    done = subprocess.run([sys.executable, "-m", "sim", "presets"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    for name in ("iana", "linux", "windows", "macos", "freebsd"):
        assert name in done.stdout
    assert "32768-60999" in done.stdout


BAD = [
    ("rate: 300", "rate: -5"),
    ("rate: 300", "rat: 300"),
    ("preset: iana", "preset: solaris"),
    ("policy: random_start", "policy: magic"),
    ("[49152, 65535]", "[65535, 49152]"),
    ("port: 443", "port: 99999"),
    ("rate: 300", "rate: [1"),
]


@pytest.mark.parametrize(("old", "new"), BAD)
def test_bad_input_exits_2_with_one_line(old: str, new: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text((ROOT / "scenarios" / "quickstart.yaml").read_text().replace(old, new))
    done = portsim("run", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"portsim: error: {path}:")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.yaml"], "missing.yaml: no such file"),
        (["run", "QUICK", "--replications", "0"], "--replications 0: must be between 1 and 1000"),
        (["run", "QUICK", "--seed", "-1"], "--seed -1: must be zero or positive"),
        (["run", "QUICK", "--set", "host.time_wait"], "--set host.time_wait: expected key.path=value"),
        (["validate", "QUICK", "--set", "host.shape=1"], "host.shape: unknown key"),
        (["plot", "."], "not a portsim results folder"),
    ],
)
def test_bad_options_exit_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = [str(ROOT / "scenarios" / "quickstart.yaml") if a == "QUICK" else a for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_out_must_not_clobber_other_things(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    quick = str(ROOT / "scenarios" / "quickstart.yaml")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert main(["run", quick, "--out", str(a_file)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert a_file.read_text() == "mine"
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "thesis.tex").write_text("mine")
    assert main(["run", quick, "--out", str(folder)]) == 2
    assert "holds files portsim did not write (thesis.tex)" in capsys.readouterr().err
    assert (folder / "thesis.tex").read_text() == "mine"


def test_validate_prints_the_resolved_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(ROOT / "scenarios" / "one-backend-exhaustion.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# ")
    resolved = yaml.safe_load(out)
    assert resolved["host"]["port_range"] == [32768, 60999]
    assert resolved["host"]["time_wait"] == 60.0
    assert resolved["host"]["policy"] == "linux"
    assert resolved["host"]["tw_reuse"] == 2


def test_schema_is_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "workloads" in schema["properties"]


def test_policies_lists_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policies"]) == 0
    out = capsys.readouterr().out
    assert "random_start" in out
    assert "RFC 6056" in out


def test_plot_redraws_from_the_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    quick = str(ROOT / "scenarios" / "quickstart.yaml")
    assert (
        main(["run", quick, "--out", str(out), "--no-plots", "--quiet", "--set", "duration=60", "--set", "warmup=0"])
        == 0
    )
    assert not (out / "plots").exists()
    assert main(["plot", str(out)]) == 0
    assert len(list((out / "plots").glob("*.png"))) == len(EVERY_RUN_PLOTS)


def interruptible() -> None:
    """In the child: Ctrl-C stops it, as in a terminal (a shell's background job starts with SIGINT ignored,
    and Python keeps it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def started(folder: Path, proc: subprocess.Popen[str], limit: float = 60.0) -> None:
    """Wait until the run in ``proc`` has made its staging folder in ``folder`` (it is simulating): a fixed
    sleep raced the imports on a busy machine."""
    deadline = time.monotonic() + limit
    while not any(p.name.startswith(".portsim-") for p in folder.iterdir()):
        assert proc.poll() is None, "portsim ended before it started simulating"
        assert time.monotonic() < deadline, "portsim did not start simulating in time"
        time.sleep(0.05)
    time.sleep(0.3)


def long_run(tmp_path: Path) -> Path:
    scenario = tmp_path / "long.yaml"
    text = (ROOT / "scenarios" / "quickstart.yaml").read_text().replace("duration: 600", "duration: 100000")
    scenario.write_text(text)
    return scenario


def test_ctrl_c_keeps_the_previous_results(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "summary.json").write_text('{"previous": true}')
    proc = subprocess.Popen(
        [str(PORTSIM), "run", str(long_run(tmp_path)), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    started(tmp_path, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted" in err
    assert "Traceback" not in err
    assert json.loads((out / "summary.json").read_text()) == {"previous": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.yaml", "run"]


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [str(PORTSIM), "run", str(long_run(tmp_path)), "--out", str(tmp_path / "out")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env={**os.environ, "COLUMNS": "120", "TERM": "xterm"},
        preexec_fn=interruptible,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 30
    try:
        while b"conn/s" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(leader, 4096)
                except OSError:  # the child closed the terminal
                    break
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    os.close(leader)
    text = seen.decode(errors="replace")
    assert "simulating" in text
    assert "conn/s" in text
    assert "of 100,000 s" in text
    assert "simulated" in text


def test_broken_pipe_is_quiet() -> None:
    done = subprocess.run(f"{PORTSIM} schema | head -1", shell=True, capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "{"
    assert done.stderr == ""


@pytest.mark.parametrize(
    ("out", "message"),
    [("", "the results folder path is empty"), ("notes.txt/x", "notes.txt is a file, not a folder")],
)
def test_bad_out_paths(out: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    target = out if out == "" else str(tmp_path / out)
    assert main(["run", str(ROOT / "scenarios" / "quickstart.yaml"), "--out", target]) == 2
    assert message in capsys.readouterr().err


def test_notes_in_a_results_folder_are_not_lost(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    quick = [str(ROOT / "scenarios" / "quickstart.yaml"), "--out", str(out), "--no-plots", "--quiet"]
    assert main(["run", *quick, "--set", "duration=130"]) == 0
    (out / "notes.txt").write_text("my analysis")
    assert main(["run", *quick, "--set", "duration=130"]) == 2
    assert "holds files portsim did not write (notes.txt)" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "my analysis"


def test_classroom_demo_with_only_zero_reuse_intervals(tmp_path: Path) -> None:
    """Constant arrivals, fixed durations, server close: every 4-tuple is reused the instant it is freed."""
    scenario = tmp_path / "demo.yaml"
    scenario.write_text(
        "name: demo\nduration: 20\nhost: {port_range: [50000, 50000]}\n"
        "workloads:\n  - name: w\n    arrivals: {kind: constant, interval: 1}\n"
        "    duration: {kind: fixed, value: 1}\n    close: server\n"
        "    destinations: [{address: 10.0.0.1, port: 80}]\n"
    )
    assert main(["run", str(scenario), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["reuse_interval_s"]["min"] == 0.0
    assert main(["plot", str(tmp_path / "out")]) == 0


def test_plot_on_a_damaged_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    quick = str(ROOT / "scenarios" / "quickstart.yaml")
    assert main(["run", quick, "--out", str(out), "--no-plots", "--quiet", "--set", "duration=130"]) == 0
    (out / "summary.json").write_text("{")
    assert main(["plot", str(out)]) == 2
    assert "summary.json: cannot read" in capsys.readouterr().err


def test_text_summary_lists_workloads_and_capacity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(ROOT / "scenarios" / "close-side.yaml"), "--out", str(tmp_path / "o"), "--no-plots"]) == 0
    out = capsys.readouterr().out
    for name in ("client-closes", "server-closes", "reset"):
        assert f"workload {name}" in out
    assert "conn/s to 10.2.0.1:443 at 1% blocking" in out


def test_set_wins_over_a_variants_own_set(tmp_path: Path) -> None:
    scenario = tmp_path / "v.yaml"
    scenario.write_text(
        (ROOT / "scenarios" / "quickstart.yaml").read_text()
        + "variants:\n  - {name: long, set: {host.time_wait: 120}}\n  - {name: short, set: {host.time_wait: 10}}\n"
    )
    out = tmp_path / "out"
    args = ["run", str(scenario), "--out", str(out), "--quiet", "--no-plots", "--set", "duration=130"]
    assert main([*args, "--set", "host.time_wait=5"]) == 0
    for variant in ("long", "short"):
        resolved = yaml.safe_load((out / variant / "scenario.yaml").read_text())
        assert resolved["host"]["time_wait"] == 5.0
        assert json.loads((out / variant / "summary.json").read_text())["variant"] == variant


def test_variant_selection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    comparison = str(ROOT / "scenarios" / "os-comparison.yaml")
    fast = ["--set", "duration=40", "--set", "warmup=0", "--quiet", "--no-plots"]
    out = tmp_path / "two"
    assert main(["run", comparison, "--variant", "macos", "--variant", "linux", "--out", str(out), *fast]) == 0
    assert set(json.loads((out / "comparison.json").read_text())) == {"macos", "linux"}
    out = tmp_path / "one"
    assert main(["run", comparison, "--variant", "windows", "--out", str(out), *fast]) == 0
    assert yaml.safe_load((out / "scenario.yaml").read_text())["host"]["time_wait"] == 120.0
    assert main(["run", str(ROOT / "scenarios" / "quickstart.yaml"), "--variant", "x", *fast]) == 2
    assert "quickstart: has no variants" in capsys.readouterr().err


def test_plot_redraws_a_comparison(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    args = ["run", str(ROOT / "scenarios" / "os-comparison.yaml"), "--out", str(out), "--quiet", "--no-plots"]
    assert main([*args, "--set", "duration=40", "--set", "warmup=0"]) == 0
    assert main(["plot", str(out)]) == 0
    assert (out / "comparison.png").is_file()
    assert (out / "linux" / "plots" / "occupancy.png").is_file()


def test_a_masked_preset_change_is_warned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    quick = str(ROOT / "scenarios" / "quickstart.yaml")
    args = ["run", quick, "--out", str(tmp_path / "o"), "--quiet", "--no-plots"]
    assert main([*args, "--set", "duration=130", "--set", "host.preset=linux"]) == 0
    err = capsys.readouterr().err
    assert "--set host.preset: the scenario file sets host policy, port_range, time_wait itself" in err


def test_the_crash_of_issue_7_now_writes_everything(tmp_path: Path) -> None:
    """400/s with a 200 s warm-up: the probes plot broadcast error lost the whole run."""
    out = tmp_path / "out"
    args = ["--set", "workloads.requests.arrivals.rate=400", "--set", "warmup=200", "--out", str(out), "--quiet"]
    assert main(["run", str(ROOT / "scenarios" / "one-backend-exhaustion.yaml"), *args]) == 0
    assert (out / "plots" / "probes.png").stat().st_size > 10_000


def test_a_failing_plot_keeps_the_data_and_names_the_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(result: object) -> None:
        raise ValueError("could not broadcast")

    monkeypatch.setitem(plots.PLOTS, "probes", broken)
    out = tmp_path / "out"
    assert main(["run", str(ROOT / "scenarios" / "quickstart.yaml"), "--set", "duration=130", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines()[-1] == (
        f"portsim: error: {out}: data written, but plot probes.png: ValueError: could not broadcast"
    )
    assert "blocking probability" in captured.out
    for name in ("scenario.yaml", "summary.json", "timeseries.csv", "histograms.json"):
        assert (out / name).is_file()
    assert sorted(p.name for p in (out / "plots").iterdir()) == [
        "failures.png",
        "latency.png",
        "occupancy.png",
        "port_map.png",
        "reuse_intervals.png",
    ]


def variants_file(tmp_path: Path) -> Path:
    text = (ROOT / "scenarios" / "quickstart.yaml").read_text().replace("duration: 600", "duration: 30")
    text = text.replace("warmup: 120", "warmup: 0")
    text += "variants:\n" + "".join(
        f"  - name: {n}\n    set: {{host.preset: {n}}}\n" for n in ("linux", "macos", "windows")
    )
    path = tmp_path / "v.yaml"
    path.write_text(text)
    return path


def test_a_subset_of_variants_after_a_full_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Defect 2: the variant folders of a full run are portsim's own, not foreign files."""
    path, out = variants_file(tmp_path), tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--no-plots", "--quiet"]) == 0
    before = (out / "windows" / "summary.json").read_text()
    assert main(["run", str(path), "--out", str(out), "--variant", "macos", "--variant", "linux", "--quiet"]) == 0
    assert "error" not in capsys.readouterr().err
    assert set(json.loads((out / "comparison.json").read_text())) == {"linux", "macos"}
    assert (out / "windows" / "summary.json").read_text() == before  # kept, untouched
    assert (out / "macos" / "plots" / "occupancy.png").is_file()


def test_the_output_place_is_checked_before_simulating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim.model.model import PortModel
    from sim.output import folders

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("simulated before checking the output place")

    monkeypatch.setattr(PortModel, "run", never)
    quick = str(ROOT / "scenarios" / "quickstart.yaml")
    for out, message in (
        ("/proc/self/portsim-results", "/proc/self/portsim-results: cannot write there: "),
        (str(tmp_path / ("x" * 300)), "cannot write there: File name too long"),
    ):
        assert main(["run", quick, "--out", out]) == 2
        err = capsys.readouterr().err.splitlines()[-1]
        assert err.startswith(f"portsim: error: {out[:39]}"), err
        assert message in err, err
    monkeypatch.setattr(folders, "_free_bytes", lambda folder: 1000.0)
    assert main(["run", quick, "--out", str(tmp_path / "full")]) == 2
    assert "MiB free on that disk; the results need about" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == []  # no staging folder left behind


def test_out_through_a_symlink_and_into_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    quick = [str(ROOT / "scenarios" / "quickstart.yaml"), "--set", "duration=130", "--no-plots", "--quiet"]
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    assert main(["run", *quick, "--out", str(tmp_path / "link")]) == 0
    assert (real / "summary.json").is_file()
    assert (tmp_path / "link").is_symlink()
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    assert main(["run", *quick, "--out", "."]) == 0
    assert main(["run", *quick, "--out", "."]) == 0  # again, replacing its own results
    assert (here / "summary.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here", "link", "real"]  # no .portsim-* left


def test_a_folder_that_cannot_be_renamed_is_replaced_entry_by_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mount point cannot be renamed (EBUSY): its entries are replaced one by one."""
    from sim.output import folders

    quick = [str(ROOT / "scenarios" / "quickstart.yaml"), "--set", "duration=130", "--no-plots", "--quiet"]
    out = tmp_path / "mount"
    assert main(["run", *quick, "--out", str(out)]) == 0
    (out / "plots").mkdir()  # from an earlier run with plots: gone after a run without
    rename = os.rename

    def busy(src: object, dst: object) -> None:
        if Path(str(src)) == out:
            raise OSError(16, "Device or resource busy")
        rename(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(folders, "_exchange", lambda a, b: False)
    monkeypatch.setattr(folders.os, "rename", busy)
    assert main(["run", *quick, "--seed", "9", "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["seed"] == 9
    assert not (out / "plots").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mount"]


def test_staging_folders_of_killed_runs_are_removed(tmp_path: Path) -> None:
    quick = [str(ROOT / "scenarios" / "quickstart.yaml"), "--set", "duration=130", "--no-plots", "--quiet"]
    stale = tmp_path / ".portsim-abc123"
    stale.mkdir()
    (stale / ".portsim-writer").write_text("12345 out\n")  # nobody holds its lock
    (stale / "summary.json").write_text("{}")
    assert main(["run", *quick, "--out", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_sigterm_stops_cleanly_and_keeps_the_previous_results(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "summary.json").write_text('{"previous": true}')
    proc = subprocess.Popen(
        [str(PORTSIM), "run", str(long_run(tmp_path)), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started(tmp_path, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert err.splitlines()[-1] == "portsim: terminated; any previous results folder was left as it was"
    assert "Traceback" not in err
    assert json.loads((out / "summary.json").read_text()) == {"previous": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.yaml", "run"]


def test_a_job_above_the_limits_is_refused_before_it_starts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    quick = str(ROOT / "scenarios" / "quickstart.yaml")
    assert main(["run", quick, "--max-attempts", "1e5", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        f"portsim: error: {quick}: about 180,000 connection attempts expected, above the limit of 100,000 "
        "(--max-attempts; --force runs it anyway)\n"
    )
    assert main(["validate", quick, "--max-memory", "10M"]) == 2
    assert "MiB of memory expected, above the limit of 10 MiB" in capsys.readouterr().err
    assert main(["validate", quick, "--max-memory", "10M", "--force"]) == 0
    assert "# estimated: 180,000 connection attempts" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()


def test_own_files_anywhere_in_a_results_folder_are_never_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A note in plots/ or in a variant's folder is the user's, as one at the top is."""
    path, out = variants_file(tmp_path), tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    for place in ("a-note.txt", "macos/notes.txt", "plots-extra", "macos/plots/mine.png"):
        target = out / place
        if place == "plots-extra":
            target = out / "linux" / "plots" / "extra"
            target.mkdir()
        else:
            target.write_text("mine")
        capsys.readouterr()
        assert main(["run", str(path), "--out", str(out), "--quiet"]) == 2
        assert "holds files portsim did not write" in capsys.readouterr().err
        assert target.exists()
        (target.rmdir() if target.is_dir() else target.unlink())
    assert main(["run", str(path), "--out", str(out), "--quiet", "--no-plots"]) == 0


def test_a_variants_own_scenario_file_runs_into_the_variants_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Running results/<name>/<variant>/scenario.yaml again repeats that variant, in that folder."""
    monkeypatch.chdir(tmp_path)
    path = variants_file(tmp_path)
    assert main(["run", str(path), "--no-plots", "--quiet"]) == 0
    folder = tmp_path / "results" / "quickstart"
    before = json.loads((folder / "macos" / "summary.json").read_text())
    assert before["variant"] == "macos"
    assert main(["run", str(folder / "macos" / "scenario.yaml"), "--no-plots", "--quiet"]) == 0
    again = json.loads((folder / "macos" / "summary.json").read_text())
    assert {**again, "wall_time_s": 0} == {**before, "wall_time_s": 0}
    assert (folder / "comparison.json").is_file()
    assert main(["run", str(path), "--variant", "linux", "--no-plots", "--quiet"]) == 0
    assert json.loads((folder / "linux" / "summary.json").read_text())["variant"] == "linux"


def test_presets_lists_the_nat_kinds_with_their_sources(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets", "--nat"]) == 0
    out = capsys.readouterr().out
    for name in ("linux-snat", "aws-nat-gateway", "azure-lb-outbound", "azure-nat-gateway", "gcp-cloud-nat"):
        assert f"\n{name}\n" in f"\n{out}"
    assert "drops       OUT_OF_RESOURCES" in out
    assert "per_destination 55000" in out
    assert out.count("  source      ") >= 5
    assert main(["presets", "--clients"]) == 0
    assert "gcp-cloud-nat" not in capsys.readouterr().out


def test_a_run_behind_a_translator_names_its_drops_and_separates_the_hosts_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "lb.yaml"
    scenario.write_text(
        "name: lb\nduration: 400\nwarmup: 100\nhost: {preset: linux}\n"
        "hosts:\n  - {name: hot, count: 2, workloads: [hot]}\n  - {name: quiet, count: 8, workloads: [quiet]}\n"
        "workloads:\n"
        "  - {name: hot, arrivals: {kind: poisson, rate: 5}, duration: {kind: fixed, value: 4}, close: server,"
        " destinations: [{address: 10.0.0.1, port: 443}]}\n"
        "  - {name: quiet, arrivals: {kind: poisson, rate: 0.5}, duration: {kind: fixed, value: 4}, close: server,"
        " destinations: [{address: 10.0.0.1, port: 443}]}\n"
        "nat: {kind: azure-lb-outbound, ports_per_host: 16}\n"
        "variants:\n  - {name: sixteen}\n  - {name: sixty-four, set: {nat.ports_per_host: 64}}\n",
        encoding="utf-8",
    )
    assert main(["run", str(scenario), "--variant", "sixteen", "--out", str(tmp_path / "one"), "--no-plots"]) == 0
    out = capsys.readouterr().out
    # Erlang B per group (2 x 5/s on 28,232 ports each, 8 x 0.5/s), averaged by rate: nothing blocks
    assert "host's Erlang B: < 1e-9" in out
    assert "    group hot            2 hosts, 56,464 ports: in use peak " in out
    assert (
        "(sampled); per host, its own ports (the translator's figures below): Erlang B: < 1e-9, capacity 7,110 conn/s "
        "to 10.0.0.1:443 at 1% blocking" in out
    )
    assert "SNAT port exhaustion), blocking" in out  # the workload line names the translator's drops
    assert "host(s) refused while other hosts' pools toward the destination had room: on average" in out
    assert main(["run", str(scenario), "--out", str(tmp_path / "both"), "--no-plots"]) == 0
    table = capsys.readouterr().out
    assert "host EB" in table
    assert "NAT block" in table
