"""sim.explore: the widgets driven from the test, then once in headless Chromium through Voilà."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.cli.main import main
from sim.stats.erlang import erlang_b
from sim.teach.explore import Explorer, Settings, assignments, explore, grid_step, settings_of, yaml_value
from tests.conftest import ROOT

SMALL = """\
name: small
duration: 200
seed: 3
warmup: 40
host:
  preset: iana
  port_range: [50000, 50199]
  time_wait: 10
{extra}workloads:
  - name: api
    arrivals: {{kind: poisson, rate: 18}}
    duration: {{kind: exponential, mean: 1.0}}
    destinations:
      - {{address: 10.0.0.5, port: 443}}
"""
"""200 ports offered 18 x 11 = 198 Erlangs: a few percent blocked, short to run as written."""


def small(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL.format(extra=extra), encoding="utf-8")
    return path


@pytest.fixture
def explorer(tmp_path: Path) -> Iterator[Explorer]:
    ex = explore(small(tmp_path), delay=0.05)
    yield ex
    ex.wait(30)


def test_sim_exports_explore_lazily() -> None:
    assert sim.explore is explore
    assert "explore" in sim.__all__


def test_the_widgets_start_from_the_file(explorer: Explorer) -> None:
    assert explorer.settings() == explorer.initial
    assert explorer.initial.rate == 18
    assert explorer.initial.port_range == (50000, 50199)
    assert explorer.initial.time_wait == 10
    assert explorer.initial.policy == "random_start"
    view = explorer.view
    assert view is not None
    assert view.overrides == ()
    assert not view.preview.shortened  # 3,600 attempts: run as written
    assert explorer.figure.value == view.png
    assert view.png.startswith(b"\x89PNG")
    assert explorer.error == ""
    assert "blocking" in explorer.status.value
    assert "first run in" in explorer.status.value


def test_raising_the_rate_raises_blocking_after_the_debounce(explorer: Explorer) -> None:
    before = explorer.view
    assert before is not None
    assert before.blocking is not None
    explorer.controls["rate"].value = 30.0
    assert explorer.wait(30)
    after = explorer.view
    assert after is not None
    assert after is not before
    assert after.overrides == ("workloads.0.arrivals.rate=30",)
    assert after.rate == 30
    assert after.blocking is not None
    assert after.blocking > before.blocking + 0.1
    assert after.result.scenario.workloads[0].offered.mean_rate == 30
    assert explorer.figure.value == after.png != before.png
    assert after.history == ((18.0, before.blocking),)  # the earlier run at the same settings but the rate
    assert "updated in" in explorer.status.value
    assert "--set workloads.0.arrivals.rate=30" in explorer.status.value  # the same on the command line


def test_a_bigger_range_lowers_blocking(explorer: Explorer) -> None:
    before = explorer.view
    assert before is not None
    assert before.blocking is not None
    assert before.blocking > 0
    explorer.controls["port_range"].value = (50000, 50399)
    explorer.refresh()
    after = explorer.view
    assert after is not None
    assert after.result.pool_size == 400
    assert after.blocking is not None
    assert after.blocking < before.blocking
    assert after.history == ()  # another pool: earlier points do not belong on this curve


def test_the_erlang_b_line_is_that_of_the_shown_parameters(explorer: Explorer) -> None:
    c = explorer.controls
    c["rate"].value = 25.0
    c["time_wait"].value = 20.0
    c["mean"].value = 2.0
    c["port_range"].value = (50000, 50299)
    explorer.refresh()
    view = explorer.view
    assert view is not None
    assert view.curve is not None
    ports, hold = 300, 2.0 + 20.0
    assert view.erlang_b == pytest.approx(erlang_b(ports, 25.0 * hold), rel=1e-12)
    assert view.curve.at(25.0) == pytest.approx(erlang_b(ports, 25.0 * hold), rel=1e-9)
    for rate, blocking in list(zip(view.curve.rates, view.curve.blocking, strict=True))[::7]:
        assert blocking == pytest.approx(erlang_b(ports, rate * hold), rel=1e-9, abs=1e-300)
    assert view.curve.rates[-1] == pytest.approx(max(2 * ports / hold, 1.25 * 25.0))  # load 2N, or past the rate


def test_an_invalid_value_shows_the_command_lines_error_and_keeps_the_figure(
    explorer: Explorer, capsys: pytest.CaptureFixture[str]
) -> None:
    before = explorer.view
    assert before is not None
    explorer.controls["mean"].value = 0.0  # an exponential law needs a mean above 0
    explorer.refresh()
    assert explorer.view is before
    assert explorer.figure.value == before.png
    override = 'workloads.0.duration={"kind": "exponential", "mean": 0.0}'
    assert explorer.error.startswith(f"portsim: error: --set {override}: workloads[0].duration.mean: ")
    assert "\n" not in explorer.error
    assert main(["run", explorer.path, "--set", override, "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == explorer.error
    assert "portsim: error:" in explorer.message.value
    explorer.controls["law"].value = "fixed"  # a fixed duration of 0 s is valid
    explorer.refresh()
    assert explorer.error == ""
    assert explorer.message.value == ""
    assert explorer.view is not before
    assert explorer.view is not None
    assert explorer.view.result.scenario.workloads[0].holding.expected == 0


def test_an_invalid_combination_shows_the_error_and_keeps_the_figure(tmp_path: Path) -> None:
    ex = explore(small(tmp_path, extra='  reserved_ports: "50100-50299"\n'), delay=0.05)
    before = ex.view
    assert before is not None
    ex.controls["port_range"].value = (50100, 50299)  # valid alone, but every port of it is reserved
    assert ex.wait(30)
    assert ex.view is before
    assert ex.figure.value == before.png
    assert ex.error.startswith("portsim: error: ")
    assert "every port of port_range is reserved" in ex.error


def test_a_preset_sets_its_defaults(explorer: Explorer) -> None:
    explorer.controls["preset"].value = "macos"
    c = explorer.controls
    assert c["port_range"].value == (49152, 65535)
    assert c["policy"].value == "sequential"
    assert c["time_wait"].value == 30
    assert c["tw_reuse"].value == 0
    assert explorer.wait(30)
    view = explorer.view
    assert view is not None
    host = view.result.scenario.host.resolved
    assert (host.preset, host.sharing, host.policy_name, host.time_wait) == ("macos", "none", "sequential", 30)
    assert "host.preset=macos" in view.overrides


def test_a_preset_with_policy_parameters_keeps_them(explorer: Explorer) -> None:
    explorer.controls["preset"].value = "linux-5.12"
    explorer.refresh()
    view = explorer.view
    assert view is not None
    assert view.result.scenario.host.resolved.policy == sim.PRESETS["linux-5.12"].policy


def test_a_burst_of_changes_runs_once_with_the_last_values(tmp_path: Path) -> None:
    explorer = explore(small(tmp_path), delay=0.5)  # far longer than the pauses between the changes below
    first = explorer.view
    for rate in (20.0, 22.0, 24.0, 26.0):
        explorer.controls["rate"].value = rate
    assert explorer.wait(30)
    view = explorer.view
    assert first is not None
    assert first.blocking is not None
    assert view is not None
    assert view.rate == 26
    assert view.history == ((18.0, first.blocking),)  # no runs at 20, 22 or 24
    assert view.curve is first.curve  # the same pool and hold: the curve and its axis stay


def test_a_long_scenario_runs_shortened_and_says_so(tmp_path: Path) -> None:
    ex = explore(small(tmp_path), max_attempts=1_000, delay=0.05)
    view = ex.view
    assert view is not None
    assert view.preview.shortened
    assert view.result.scenario.duration < 200
    assert view.result.summary.attempts < 1_500
    assert "Shortened" in ex.status.value
    assert "of 200 s" in ex.status.value


def test_assignments_are_what_changed() -> None:
    scenario = sim.load_scenario(ROOT / "scenarios" / "quickstart.yaml")
    initial = settings_of(scenario)
    assert assignments(scenario, initial, initial) == []
    changed = Settings(**{**initial.__dict__, "bind": "no_port", "source_addresses": 4, "law": "uniform"})
    assert assignments(scenario, initial, changed) == [
        "host.source_addresses=4",
        'workloads.0.duration={"kind": "uniform", "low": 0, "high": 2.0}',
        "workloads.0.bind=no_port",
    ]
    loaded = sim.load_scenario(ROOT / "scenarios" / "quickstart.yaml", assignments(scenario, initial, changed))
    assert loaded.workloads[0].holding.expected == initial.mean  # the law changes, its mean stays


def test_a_request_workload_is_driven_by_its_request_rate_and_latency() -> None:
    """go-default-pool: the rate and latency sliders set the requests, and the title says the variants are left out."""
    ex = explore(ROOT / "scenarios" / "go-default-pool.yaml", delay=0.05)
    try:
        assert ex.wait(60)
        rate, law, mean = ex.controls["rate"], ex.controls["law"], ex.controls["mean"]
        assert [rate.disabled, law.disabled, mean.disabled] == [False, False, False]
        assert (rate.description, mean.description) == ("rate (req/s)", "mean latency (s)")
        assert ex.initial.rate == 2000
        assert ex.initial.mean == pytest.approx(0.05)
        assert "without its 2 variants' own changes" in ex.widget.children[0].value
        rate.value = 500.0
        assert ex.wait(60)
        assert ex.view is not None
        assert ex.view.overrides == ("workloads.0.requests.arrivals.rate=500",)
        assert ex.view.result.scenario.workloads[0].offered.mean_rate == 500
        assert ex.error == ""
    finally:
        ex.wait(60)
    scenario = sim.load_scenario(ROOT / "scenarios" / "go-default-pool.yaml")
    initial = settings_of(scenario)
    changed = Settings(**{**initial.__dict__, "law": "fixed"})
    assert assignments(scenario, initial, changed) == ['workloads.0.requests.latency={"kind": "fixed", "value": 0.05}']


def test_values_are_written_as_set_reads_them() -> None:
    assert [yaml_value(v) for v in ("linux-5.12", "no", 60.0, 0.5, False, [1, 2])] == [
        "linux-5.12",
        '"no"',
        "60",
        "0.5",
        "false",
        "[1, 2]",
    ]


def test_a_sliders_grid_passes_through_the_files_value() -> None:
    assert grid_step(60.0, 1.0) == 1.0
    assert grid_step(2.5, 1.0) == pytest.approx(0.1)
    assert 0.125 / grid_step(0.125, 0.02) == pytest.approx(round(0.125 / grid_step(0.125, 0.02)))


# ----------------------------------------------------------------- one check in a real browser

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,860",
]


def _browser() -> tuple[str, str]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    reason = "needs Debian's chromium and chromium-driver: `make browser` installs them (as root)"
    if os.environ.get("CI"):
        pytest.fail(reason)  # CI installs them (.ci/run): a missing browser there is a broken set-up
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"voila exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"voila did not listen on port {port} in {timeout:g} s")


def test_explore_renders_and_answers_in_headless_chromium(tmp_path: Path) -> None:
    chromium, chromedriver = _browser()
    import nbformat
    from PIL import Image
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    (tmp_path / "scenarios").mkdir()
    shutil.copy(ROOT / "scenarios" / "quickstart.yaml", tmp_path / "scenarios")
    notebook = nbformat.v4.new_notebook()  # as in notebooks/, beside scenarios/
    notebook.cells = [nbformat.v4.new_code_cell('import sim\nsim.explore("../scenarios/quickstart.yaml")')]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "notebooks").mkdir()
    nbformat.write(notebook, tmp_path / "notebooks" / "explore.ipynb")
    port = _free_port()
    log = tmp_path / "voila.log"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_PLATFORM_DIRS": "1"}
    with log.open("wb") as out:
        voila = subprocess.Popen(
            [sys.executable, "-m", "voila", "explore.ipynb", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"],
            cwd=tmp_path / "notebooks",
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    driver = None
    try:
        _wait_for_port(port, voila, log)
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in [*FLAGS, f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=webdriver.ChromeService(chromedriver), options=options)
        driver.get(f"http://127.0.0.1:{port}/")

        def text() -> str:
            return str(driver.find_element(By.TAG_NAME, "body").text)

        WebDriverWait(driver, 120).until(lambda _: "blocking" in text())
        page = text()
        for label in ("rate (conn/s)", "duration law", "TIME_WAIT (s)", "port range", "OS preset", "tcp_tw_reuse"):
            assert label in page
        assert "Erlang B" in page
        images = "document.querySelectorAll('img.widget-image, .widget-image img')"
        widths = driver.execute_script(f"return Array.from({images}).map(i => i.naturalWidth)")
        assert widths
        assert widths[0] > 500
        shot = Image.open(BytesIO(driver.get_screenshot_as_png())).convert("RGB")
        pixels = np.asarray(shot).reshape(-1, 3)
        assert (pixels.min(axis=1) < 200).mean() > 0.05  # not a blank page
        assert np.unique(pixels, axis=0).shape[0] > 200  # sliders, menus and a plot: many colours
        if os.environ.get("PORTSIM_EXPLORE_SCREENSHOT"):  # the README's picture: the page, cropped, 128 colours
            left, top, right, bottom = Image.eval(shot.convert("L"), lambda v: 255 if v < 250 else 0).getbbox()
            box = (max(left - 8, 0), max(top - 8, 0), min(right + 8, shot.width), min(bottom + 8, shot.height))
            shot.crop(box).quantize(128).save(os.environ["PORTSIM_EXPLORE_SCREENSHOT"], optimize=True)
        # a change in the page goes to the kernel, which reruns and redraws
        menus = [m for m in driver.find_elements(By.TAG_NAME, "select") if "macos" in m.text]
        assert len(menus) == 1
        Select(menus[0]).select_by_visible_text("macos")
        WebDriverWait(driver, 60).until(lambda _: "--set host.preset=macos" in text())
        assert "--set host.time_wait=30" in text()
    finally:
        if driver is not None:
            driver.quit()
        os.killpg(voila.pid, signal.SIGTERM)
        try:
            voila.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(voila.pid, signal.SIGKILL)
            voila.wait(5)
