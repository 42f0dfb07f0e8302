"""port_map.npz: the port map of a run in its results folder (the still, and the frames when recorded).

One compressed numpy archive, no pickles: ``still`` (uint8 per port), ``frames`` (uint8, a row per
frame), ``times``, ``attempts`` and ``failures`` (one value per frame, counted from the start of the
run), and ``meta``, a JSON string with the rest (first port, the still's time, counts, source and
destination, whether it was taken at the first failure, the frames' source, destination and playback
rate). Plots and notebooks draw from this file, never from a running model.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from ..model.portmap import PortMap, Snapshot

FILE = "port_map.npz"
FORMAT = 1
"""Version of the file's layout, stored in ``meta``."""


def write_port_map(port_map: PortMap, folder: Path) -> Path:
    """Write ``port_map.npz`` into ``folder``; returns its path."""
    still = port_map.still
    meta = {
        "format": FORMAT,
        "low": port_map.low,
        "at_failure": port_map.at_failure,
        "still": {
            "time_s": still.time,
            "attempts": still.attempts,
            "failures": still.failures,
            "source": still.source,
            "destination": still.destination,
        },
        "source": port_map.source,
        "destination": port_map.destination,
        "fps": port_map.fps,
    }
    path = folder / FILE
    with path.open("wb") as fh:
        np.savez_compressed(
            fh,
            meta=np.array(json.dumps(meta)),
            still=still.flags.astype(np.uint8),
            frames=port_map.frames.astype(np.uint8),
            times=port_map.times.astype(np.float64),
            attempts=port_map.attempts.astype(np.int64),
            failures=port_map.failures.astype(np.int64),
        )
    return path


def load_port_map(folder: Path) -> PortMap | None:
    """The port map of a results folder, or None when it has no ``port_map.npz``.

    Raises ValueError (one line) when the file cannot be read.
    """
    path = folder / FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            still, frames = data["still"], data["frames"]
            times, attempts, failures = data["times"], data["attempts"], data["failures"]
        s = meta["still"]
        if still.ndim != 1 or frames.ndim != 2 or (frames.size and frames.shape[1] != still.size):
            raise ValueError("the frames and the still do not have one value per port")
        if not times.shape == attempts.shape == failures.shape == (frames.shape[0],):
            raise ValueError("times, attempts and failures need one value per frame")
        return PortMap(
            low=int(meta["low"]),
            still=Snapshot(
                time=float(s["time_s"]),
                attempts=int(s["attempts"]),
                failures=int(s["failures"]),
                source=int(s["source"]),
                destination=str(s["destination"]),
                flags=still.astype(np.uint8),
            ),
            at_failure=bool(meta["at_failure"]),
            source=int(meta["source"]),
            destination=str(meta["destination"]),
            fps=float(meta["fps"]),
            times=times.astype(np.float64),
            frames=frames.astype(np.uint8),
            attempts=attempts.astype(np.int64),
            failures=failures.astype(np.int64),
        )
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"not a port map: {problem}") from None
