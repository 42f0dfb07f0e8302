"""``sim.explore``: a scenario under sliders and menus in Jupyter, redrawn within about a second of a change.

    import sim
    sim.explore("../scenarios/quickstart.yaml")

The widgets set the first workload's rate, duration law and mean (a request workload's: its requests' rate and
latency), close side and bind mode, and the host's
preset, port range, policy, TIME_WAIT, source addresses and tcp_tw_reuse. Each change becomes ``--set``
overrides of the scenario file, read through the same validated path as ``portsim run --set``, so a value
the scenario cannot take shows the same one-line ``portsim: error:`` message (the last figure stays).
After a pause of ``delay`` seconds in the changes, a shortened copy of the scenario runs (see
``sim.teach.preview``) and the figure is redrawn from the run's typed report. A run overtaken by a newer
change stops early. Picking a preset sets the range, policy, TIME_WAIT and tcp_tw_reuse widgets to its
defaults.
"""

from __future__ import annotations

import html
import json
import math
import re
import shlex
import threading
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..config.errors import ScenarioError, one_line
from ..config.load import load_scenario
from ..config.presets import PRESETS
from ..config.scenario import Scenario
from ..config.workload import Workload
from ..core.durations import DURATIONS
from ..core.policies import POLICIES
from ..core.transitions import CLOSES
from ..experiments.runner import simulate
from ..output.results import RunResult
from .explore_figure import Curve, draw, erlang_curve, png, total_rate
from .preview import MAX_ATTEMPTS, Preview, preview

DELAY = 0.3
"""Seconds without a change before a run starts (a dragged slider sends many changes)."""
HISTORY = 60
"""Earlier (rate, blocking) points kept for the blocking panel."""
DEFAULT_SIGMA = 1.0
"""Log-space standard deviation of a lognormal law picked in the menu (the file's own when it has one)."""
DEFAULT_SHAPE = 2.5
"""Pareto tail index of a Pareto law picked in the menu (the file's own when it has one)."""
BINDS: dict[str, bool | str] = {"connect()": False, "bind(addr, 0) no port": "no_port", "bind(addr, 0)": True}
MIN_RATE = 1e-3
"""The lowest rate the rate slider's scale is built around."""
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


@dataclass(frozen=True)
class Settings:
    """What the widgets say: the first workload's traffic and the host's pool."""

    rate: float
    law: str
    mean: float
    close: str
    bind: bool | str
    preset: str
    port_range: tuple[int, int]
    policy: str
    time_wait: float
    source_addresses: int
    tw_reuse: int


def settings_of(scenario: Scenario) -> Settings:
    """The widgets' values for a scenario as written (its first workload and its resolved host)."""
    w = scenario.workloads[0]
    host = scenario.host.resolved
    duration = _duration(w)
    return Settings(
        rate=float(getattr(w.offered, "rate", w.offered.mean_rate)),
        law=duration.kind if duration is not None else "exponential",
        mean=float(w.holding.expected),
        close=w.close,
        bind=w.bind,
        preset=host.preset,
        port_range=(host.low, host.high),
        policy=host.policy_name,
        time_wait=float(host.time_wait),
        source_addresses=host.source_addresses,
        tw_reuse=host.tw_reuse,
    )


def _duration(w: Workload) -> Any:
    """The workload's duration law as written: its connections' (``duration``) or its requests' (``latency``)."""
    return w.duration if w.requests is None else w.requests.latency


def _duration_key(w: Workload) -> str:
    return "duration" if w.requests is None else "requests.latency"


def yaml_value(value: Any) -> str:
    """A value as ``--set`` reads it: plain words bare, anything else as JSON (which YAML reads)."""
    if isinstance(value, str) and _PLAIN.match(value) and value.lower() not in _YAML_WORDS:
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value)


def duration_spec(law: str, mean: float, written: Any) -> dict[str, Any]:
    """A duration law with the given mean; a lognormal's sigma and a Pareto's shape kept from ``written``."""
    if law == "fixed":
        return {"kind": "fixed", "value": mean}
    if law == "uniform":
        return {"kind": "uniform", "low": 0, "high": 2 * mean}
    if law == "lognormal":
        return {"kind": "lognormal", "mean": mean, "sigma": getattr(written, "sigma", None) or DEFAULT_SIGMA}
    if law == "pareto":
        return {"kind": "pareto", "shape": getattr(written, "shape", None) or DEFAULT_SHAPE, "mean": mean}
    return {"kind": law, "mean": mean}


def assignments(scenario: Scenario, initial: Settings, current: Settings) -> list[str]:
    """``key.path=value`` overrides taking ``scenario`` (which gave ``initial``) to ``current``."""
    changed = {f.name for f in fields(Settings) if getattr(initial, f.name) != getattr(current, f.name)}
    out: list[str] = []

    def put(path: str, value: Any) -> None:
        out.append(f"{path}={yaml_value(value)}")

    if "preset" in changed:
        put("host.preset", current.preset)
    if "port_range" in changed:
        put("host.port_range", list(current.port_range))
    if "policy" in changed or "preset" in changed:
        preset_policy = PRESETS[current.preset].policy
        named = isinstance(preset_policy, dict) and preset_policy.get("name") == current.policy
        if "policy" in changed or named:
            put("host.policy", preset_policy if named else current.policy)
    for key in ("time_wait", "source_addresses", "tw_reuse"):
        if key in changed:
            put(f"host.{key}", getattr(current, key))
    w = scenario.workloads[0]
    if "rate" in changed:
        put(f"workloads.0.{w.arrivals_key}.rate", current.rate)
    if {"law", "mean"} & changed:
        put(f"workloads.0.{_duration_key(w)}", duration_spec(current.law, current.mean, _duration(w)))
    for key in ("close", "bind"):
        if key in changed:
            put(f"workloads.0.{key}", getattr(current, key))
    return out


@dataclass(frozen=True)
class View:
    """What the explorer drew last: the run, the Erlang B curve, the figure, and how long it all took."""

    result: RunResult
    preview: Preview
    curve: Curve | None
    overrides: tuple[str, ...]
    history: tuple[tuple[float, float], ...]
    png: bytes
    seconds: float
    """Wall time from reading the scenario to the finished figure."""

    @property
    def rate(self) -> float:
        """Connections per second offered by all workloads."""
        return total_rate(self.result)

    @property
    def blocking(self) -> float | None:
        """The simulated blocking probability over the measured window."""
        return self.result.summary.blocking_probability

    @property
    def erlang_b(self) -> float | None:
        """The report's Erlang B prediction for these settings (None where it does not apply)."""
        return self.result.summary.erlang_b.blocking_probability


class _SupersededError(Exception):
    """A newer change arrived while a run was going: the run stops."""


class Explorer:
    """The widgets, their debounced runs, and the figure; displays itself in Jupyter.

    ``controls`` maps a Settings field to its widget. For tests and scripts: set a widget's ``value``, then
    ``wait()`` for the debounced run, or ``refresh()`` to run at once; ``view`` is what was drawn last and
    ``error`` the last error line ("" when the last change ran).
    """

    def __init__(
        self, path: str | Path, max_attempts: int | None = MAX_ATTEMPTS, delay: float = DELAY, run: bool = True
    ) -> None:
        widgets = _ipywidgets()
        self.path = str(path)
        self.scenario = load_scenario(path)
        self.max_attempts = max_attempts
        self.delay = delay
        self.initial = settings_of(self.scenario)
        self.view: View | None = None
        self.error = ""
        self._history: list[tuple[float, float]] = []
        self._history_key: tuple[str, ...] | None = None
        self._curves: dict[tuple[int, int, float, bool], Curve] = {}
        self._state = threading.Lock()
        self._running = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._timer: threading.Timer | None = None
        self._generation = 0
        self.controls = self._make_controls(widgets)
        self.figure = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="1000px"))
        self.message = widgets.HTML(layout=widgets.Layout(min_height="1.5em"))
        self.status = widgets.HTML()
        w = self.scenario.workloads[0]
        more = f" (the first of {len(self.scenario.workloads)})" if len(self.scenario.workloads) > 1 else ""
        variants = (
            f" The scenario as written, without its {len(self.scenario.variants)} variants' own changes."
            if self.scenario.variants
            else ""
        )
        title = widgets.HTML(
            f"<b>{html.escape(self.scenario.name)}</b>: workload <code>{html.escape(w.name)}</code>{more} "
            f"and the host's pool. Each change reruns a short copy of the scenario.{variants}"
        )
        grid = widgets.GridBox(
            list(self.controls.values()),
            layout=widgets.Layout(grid_template_columns="repeat(3, minmax(300px, 1fr))", grid_gap="2px 16px"),
        )
        self.widget = widgets.VBox([title, grid, self.message, self.figure, self.status])
        for control in self.controls.values():
            control.observe(self._changed, names="value")
        self.controls["preset"].observe(self._preset_changed, names="value")
        if run:
            self.refresh()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # ----------------------------------------------------------------- widgets

    def _make_controls(self, widgets: Any) -> dict[str, Any]:
        s = self.initial
        w = self.scenario.workloads[0]
        style = {"description_width": "9em"}
        wide = widgets.Layout(width="auto")
        exponent = math.log10(max(s.rate, MIN_RATE))  # the slider's grid passes through the file's rate
        mean_max = max(10.0, 4 * s.mean)
        controls = {
            "rate": widgets.FloatLogSlider(
                value=s.rate,
                base=10,
                min=exponent - 3,
                max=exponent + 1.5,
                step=0.01,
                description="rate (req/s)" if w.requests is not None else "rate (conn/s)",
                readout_format=".4g",
                style=style,
                layout=wide,
                disabled=getattr(w.offered, "rate", None) is None,
            ),
            "law": widgets.Dropdown(
                options=list(DURATIONS),
                value=s.law,
                description="latency law" if w.requests is not None else "duration law",
                style=style,
                layout=wide,
                disabled=_duration(w) is None,
            ),
            "mean": widgets.FloatSlider(
                value=s.mean,
                min=0.0,
                max=mean_max,
                step=grid_step(s.mean, mean_max / 500),
                description="mean latency (s)" if w.requests is not None else "mean duration (s)",
                readout_format=".3g",
                style=style,
                layout=wide,
                disabled=_duration(w) is None,
            ),
            "close": widgets.Dropdown(
                options=list(CLOSES), value=s.close, description="close side", style=style, layout=wide
            ),
            "bind": widgets.Dropdown(
                options=list(BINDS.items()), value=s.bind, description="bind", style=style, layout=wide
            ),
            "preset": widgets.Dropdown(
                options=list(PRESETS), value=s.preset, description="OS preset", style=style, layout=wide
            ),
            "port_range": widgets.IntRangeSlider(
                value=s.port_range, min=1, max=65535, step=1, description="port range", style=style, layout=wide
            ),
            "policy": widgets.Dropdown(
                options=sorted(POLICIES), value=s.policy, description="policy", style=style, layout=wide
            ),
            "time_wait": widgets.FloatSlider(
                value=s.time_wait,
                min=0.0,
                max=max(240.0, 2 * s.time_wait),
                step=grid_step(s.time_wait, 1.0),
                description="TIME_WAIT (s)",
                readout_format=".3g",
                style=style,
                layout=wide,
            ),
            "source_addresses": widgets.IntSlider(
                value=s.source_addresses,
                min=1,
                max=max(64, s.source_addresses),
                description="source addresses",
                style=style,
                layout=wide,
            ),
            "tw_reuse": widgets.Dropdown(
                options=[("0: off", 0), ("1: on", 1), ("2: loopback only", 2)],
                value=s.tw_reuse,
                description="tcp_tw_reuse",
                style=style,
                layout=wide,
            ),
        }
        return controls

    def settings(self) -> Settings:
        """The widgets' current values."""
        c = self.controls
        rate = self.initial.rate
        if not c["rate"].disabled:
            rate = _unless_close(float(f"{c['rate'].value:.4g}"), rate)  # a log slider's values are 10 ** grid point
        return Settings(
            rate=rate,
            law=c["law"].value,
            mean=_unless_close(float(c["mean"].value), self.initial.mean),
            close=c["close"].value,
            bind=c["bind"].value,
            preset=c["preset"].value,
            port_range=(int(c["port_range"].value[0]), int(c["port_range"].value[1])),
            policy=c["policy"].value,
            time_wait=_unless_close(float(c["time_wait"].value), self.initial.time_wait),
            source_addresses=int(c["source_addresses"].value),
            tw_reuse=int(c["tw_reuse"].value),
        )

    def _preset_changed(self, change: dict[str, Any]) -> None:
        preset = PRESETS[change["new"]]
        c = self.controls
        c["port_range"].value = preset.port_range
        policy = preset.policy
        c["policy"].value = policy if isinstance(policy, str) else policy["name"]
        c["time_wait"].value = preset.time_wait
        c["tw_reuse"].value = preset.tw_reuse

    # ----------------------------------------------------------------- runs

    def _changed(self, change: object = None) -> None:
        with self._state:
            self._generation += 1
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.delay, self._fire)
            self._timer.daemon = True
            self._idle.clear()
            self._timer.start()

    def _fire(self) -> None:
        with self._state:
            if threading.current_thread() is not self._timer:
                return  # cancelled after it had started: a newer timer runs
            generation = self._generation
        self._run(generation)

    def refresh(self) -> None:
        """Run with the widgets' current values now, in this thread (cancelling a pending debounced run)."""
        with self._state:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._generation += 1
            generation = self._generation
            self._idle.clear()
        self._run(generation)

    def wait(self, timeout: float = 60.0) -> bool:
        """Wait until no run is pending or going; False if ``timeout`` seconds passed first."""
        return self._idle.wait(timeout)

    def _run(self, generation: int) -> None:
        try:
            with self._running:
                if generation == self._generation:
                    self._update(generation)
        finally:
            with self._state:
                if generation == self._generation:
                    self._timer = None
                    self._idle.set()

    def _update(self, generation: int) -> None:
        started = time.perf_counter()
        settings = self.settings()
        overrides = assignments(self.scenario, self.initial, settings)
        try:
            scenario = load_scenario(self.path, overrides)
            quick = preview(scenario, self.max_attempts)

            def progress(now: float, attempts: int) -> None:
                if generation != self._generation:
                    raise _SupersededError

            result = simulate(quick.scenario, progress=progress)
        except _SupersededError:
            return
        except ScenarioError as exc:
            self._fail(str(exc))
            return
        except Exception as exc:  # shown in the widget as the command line shows it; the last figure stays
            self._fail(f"{type(exc).__name__}: {exc}")
            return
        if generation != self._generation:
            return
        rate_key = f"workloads.0.{self.scenario.workloads[0].arrivals_key}.rate="
        key = tuple(o for o in overrides if not o.startswith(rate_key))
        if key != self._history_key:
            self._history, self._history_key = [], key
        curve = self._curve(result)
        image = png(draw(result, curve, self._history))
        blocking = result.summary.blocking_probability
        history = tuple(self._history)
        if blocking is not None:
            self._history = [*self._history, (total_rate(result), blocking)][-HISTORY:]
        first = self.view is None
        self.view = View(result, quick, curve, tuple(overrides), history, image, time.perf_counter() - started)
        self.error = ""
        self.figure.value = image
        self.message.value = ""
        self.status.value = self._status(self.view, first)

    def _curve(self, result: RunResult) -> Curve | None:
        eb = result.summary.erlang_b
        rate = total_rate(result)
        per_rate = eb.offered_load / eb.pools / rate if eb.pools and rate else 0.0
        key = (eb.ports, eb.pools, round(per_rate, 9), eb.applicable)
        cached = self._curves.get(key)
        if cached is not None and cached.rates[-1] >= 1.25 * rate:
            return cached
        curve = erlang_curve(result)
        if curve is not None:
            self._curves[key] = curve
        return curve

    def _fail(self, message: str) -> None:
        self.error = f"portsim: error: {one_line(message)}"
        self.message.value = (
            f"<span style='color:#c0392b'><code>{html.escape(self.error)}</code></span> (the figure is the last "
            "run that worked)"
        )

    def _status(self, view: View, first: bool) -> str:
        s = view.result.summary
        eb = s.erlang_b
        blocking = "none measured" if s.blocking_probability is None else _probability(s.blocking_probability)
        theory = f"Erlang B {_probability(eb.blocking_probability)}" if eb.blocking_probability is not None else eb.note
        when = "" if s.first_failure_time_s is None else f", the first at {s.first_failure_time_s:.1f} s"
        took = (
            f"first run in {view.seconds:.2f} s (with start-up costs)" if first else f"updated in {view.seconds:.2f} s"
        )
        line = (
            f"<b>blocking {blocking}</b> ({html.escape(theory)}); {s.attempts:,.0f} attempts measured, "
            f"{s.failures:,.0f} failed{when}; ports in use peak {s.ports_in_use.peak:,.0f} of "
            f"{view.result.pool_size:,}; {took}"
        )
        command = " ".join(
            ["portsim run", shlex.quote(self.path), *(f"--set {shlex.quote(o)}" for o in view.overrides)]
        )
        return (
            f"{line}<br><small>{html.escape(view.preview.note)}<br>The same on the command line: "
            f"<code>{html.escape(command)}</code></small>"
        )


def grid_step(value: float, preferred: float) -> float:
    """A slider step no coarser than ``preferred`` whose grid from 0 passes through ``value``.

    A slider snaps its value to its grid; a value of the file's off the grid would read as a change.
    """
    step = 10.0 ** math.floor(math.log10(preferred)) if preferred > 0 else 1.0
    while step > 1e-9 and abs(value / step - round(value / step)) > 1e-6:
        step /= 10
    return step


def _unless_close(value: float, initial: float) -> float:
    """``initial`` where ``value`` is it up to a slider's rounding, else ``value``."""
    return initial if math.isclose(value, initial, rel_tol=1e-3, abs_tol=1e-9) else value


def _probability(p: float) -> str:
    return f"{p:.4g}" if p == 0 or p >= 1e-6 else "below 1e-6"


def _ipywidgets() -> Any:
    try:
        import ipywidgets
    except ImportError:
        raise ImportError(
            "sim.explore needs ipywidgets and Jupyter: make lab, or pip install 'portsim[notebook]'"
        ) from None
    return ipywidgets


def explore(path: str | Path, max_attempts: int | None = MAX_ATTEMPTS, delay: float = DELAY) -> Explorer:
    """Sliders and menus over a scenario file, with its occupancy, failures and blocking against Erlang B.

    Each change reruns a shortened copy of the scenario (at most ``max_attempts`` expected connection
    attempts; None runs it as written) ``delay`` seconds after the last change. Display the returned
    Explorer in Jupyter (the last expression of a cell).
    """
    return Explorer(path, max_attempts=max_attempts, delay=delay)
