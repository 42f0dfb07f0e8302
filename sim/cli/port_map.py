"""``portsim run --port-map``: the options that record the port map's frames, checked into a ``PortMapSpec``."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable

from ..config.errors import ScenarioError
from ..config.scenario import Scenario
from ..model.portmap import DEFAULT_FPS, DEFAULT_SECONDS, MAX_FPS, MAX_FRAMES, PortMapSpec


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text}: must be a finite number above 0")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text}: must be above 0")
    return value


def _fps(text: str) -> float:
    value = _number(text)
    if value > MAX_FPS:
        raise argparse.ArgumentTypeError(
            f"{text}: at most {MAX_FPS:g} (a GIF cannot show a frame for less than 0.02 s)"
        )
    return value


def _source(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text}: must be 0 (the first source address) or more")
    return value


def add_options(parser: argparse.ArgumentParser) -> None:
    """--port-map and its settings (each setting implies --port-map)."""
    parser.add_argument(
        "--port-map",
        action="store_true",
        help="record the pool as a map of ports over the run: plots/port_map.gif (and .mp4 where ffmpeg is found)",
    )
    parser.add_argument(
        "--port-map-fps",
        type=_fps,
        metavar="N",
        help=f"frames per second of the animation (default {DEFAULT_FPS:g}, at most {MAX_FPS:g})",
    )
    parser.add_argument(
        "--port-map-seconds",
        type=_number,
        metavar="S",
        help=f"seconds the animation lasts (default {DEFAULT_SECONDS:g}; at most {MAX_FRAMES:,} frames in all)",
    )
    parser.add_argument(
        "--port-map-destination",
        metavar="ADDR:PORT",
        help="draw the ports' state toward this destination, in the animation and the still (default: the "
        "scenario's first in the animation, the failing one in the still)",
    )
    parser.add_argument(
        "--port-map-source",
        type=_source,
        metavar="N",
        help="draw the ports of this source address, counted from 0, in the animation and the still (default 0; "
        "the still: the failing one; in a fleet whose host groups have hosts of their own, the first group's)",
    )


def spec(args: argparse.Namespace, runs: Iterable[Scenario]) -> PortMapSpec | None:
    """The frames to record, checked against every scenario to run; None without any --port-map option."""
    settings = (args.port_map_fps, args.port_map_seconds, args.port_map_destination, args.port_map_source)
    if not args.port_map and all(v is None for v in settings):
        return None
    chosen = PortMapSpec(
        fps=DEFAULT_FPS if args.port_map_fps is None else args.port_map_fps,
        seconds=DEFAULT_SECONDS if args.port_map_seconds is None else args.port_map_seconds,
        destination=args.port_map_destination,
        source=args.port_map_source or 0,
    )
    for scenario in runs:
        where = f" (variant {scenario.variant_name})" if scenario.variant_name else ""
        try:
            chosen.check(scenario, "--port-map-destination", "--port-map-source")
        except ScenarioError as exc:
            raise ScenarioError(f"{exc}{where}") from None
    return chosen


def warn(chosen: PortMapSpec | None) -> None:
    """Say on stderr when fewer frames are kept than fps x seconds asks for."""
    if chosen is not None and chosen.asked > MAX_FRAMES:
        print(
            f"portsim: warning: --port-map: {chosen.asked:,} frames asked (fps x seconds); {MAX_FRAMES:,} are kept, "
            f"played at {chosen.playback_fps:.3g} frames per second",
            file=sys.stderr,
        )


def cells(chosen: PortMapSpec | None, scenario: Scenario) -> int:
    """Frames x ports the port map of ``scenario`` records (0 without frames)."""
    return 0 if chosen is None else chosen.frames * scenario.fleet_host.size


def note_video() -> None:
    """Say in one line on stderr when the GIF was written without its MP4 (no ffmpeg binary here)."""
    from ..output.port_map_plot import MP4_MISSING, ffmpeg

    if ffmpeg() is None:
        print(f"portsim: note: {MP4_MISSING}", file=sys.stderr)
