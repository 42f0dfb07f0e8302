"""Results folders: checked before a run, staged while it runs, swapped in whole at the end.

A run writes into a hidden staging folder beside its target (``.portsim-*``), created and checked
before simulating, so a place that cannot be written (read-only, full, too long a name) fails at once.
The staging folder replaces the target in one step at the end; an interrupted or failed run never
leaves a half-written folder, and staging folders whose writer is gone (killed) are removed by the
next run in the same place. A folder holding anything portsim did not write is never replaced.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..config.scenario import OUTPUT_ENTRIES

RUN_ENTRIES = frozenset(
    {
        "scenario.yaml",
        "summary.json",
        "timeseries.csv",
        "histograms.json",
        "port_map.npz",
        "nat_hosts.npz",
        "plots",
        "comparison.json",
        "comparison.png",
    }
)
"""What ``portsim run`` writes at the top of a results folder (and variant folders)."""
SWEEP_ENTRIES = frozenset({"sweep.yaml", "sweep.csv", "sweep.json", "sweep.png"})
CAPACITY_ENTRIES = frozenset({"capacity.yaml", "capacity.json", "capacity.png"})
REMEDIES_ENTRIES = frozenset({"remedies.yaml", "remedies.json", "remedies.png"})
CACHE_FOLDER = "cache"
"""The task cache inside a results folder (``experiments.cache``): written as tasks complete, kept across runs."""

PLOT_FILES = frozenset(
    {
        "occupancy.png",
        "failures.png",
        "reuse_intervals.png",
        "probes.png",
        "latency.png",
        "requests.png",
        "port_map.png",
        "port_map.gif",
        "port_map.mp4",
        "nat.png",
    }
)
"""The plots portsim may write in plots/ (``plots.PLOTS``, ``OPTIONAL_PLOTS`` and ``ANIMATION_FILES``; a test keeps
them equal)."""
STAGING_PREFIX = ".portsim-"
LOCK_NAME = ".portsim-writer"
"""Held (flock) by the process writing a staging folder; a free lock means the writer is gone."""
STALE_AFTER = 600.0
"""Seconds after which a staging folder without a lock file is taken as abandoned."""
FOLDER_BYTES = 8 << 20
"""Bytes a results folder needs besides its time series: plots, histograms, summary."""
_RENAME_EXCHANGE = 2


class ResultsError(ValueError):
    """A results folder that cannot be written or read; the message is one line for the user."""


def short(path: str | Path, limit: int = 80) -> str:
    """A path for a message: whole when short, else its start and end."""
    text = str(path)
    half = (limit - 1) // 2
    return text if len(text) <= limit else f"{text[:half]}…{text[-half:]}"


def is_results_folder(path: Path) -> bool:
    """Whether ``path`` is a folder portsim wrote: its summary.json, and nothing portsim did not write."""
    try:
        return (path / "summary.json").is_file() and not path.is_symlink() and not foreign_entries(path, nested=True)
    except OSError:
        return False


def foreign_entries(target: Path, allowed: Iterable[str] = (), *, nested: bool = False) -> list[str]:
    """Entries under ``target`` that portsim did not write, as paths relative to it.

    portsim writes its data files, ``plots/`` with its PNGs, and (at the top) variant folders of the same
    kind; ``allowed`` names more variant folders. Symbolic links are never portsim's.
    """
    variants = set(allowed)
    found: list[str] = []
    for entry in sorted(target.iterdir()):
        name = entry.name
        if entry.is_symlink():
            found.append(name)
        elif name == "plots" and entry.is_dir():
            found += [f"plots/{p.name}" for p in sorted(entry.iterdir()) if p.name not in PLOT_FILES or not p.is_file()]
        elif name in OUTPUT_ENTRIES and entry.is_file():
            continue
        elif name == CACHE_FOLDER and entry.is_dir():
            found += [f"{name}/{p.name}" for p in sorted(entry.iterdir()) if p.suffix != ".json" or not p.is_file()]
        elif not nested and entry.is_dir() and (name in variants or (entry / "summary.json").is_file()):
            found += [f"{name}/{inner}" for inner in foreign_entries(entry, nested=True)]
        else:
            found.append(name)
    return found


def run_owns(entry: Path) -> bool:
    """Whether a run replaces this entry of its results folder: its own files, and variant folders."""
    return entry.name in RUN_ENTRIES or (entry.is_dir() and not entry.is_symlink() and is_results_folder(entry))


def owned_by(names: frozenset[str]) -> Callable[[Path], bool]:
    """A command that replaces exactly these entries (sweep, capacity, remedies)."""
    return lambda entry: entry.name in names


def check_replaceable(target: Path, allowed: Iterable[str] = ()) -> None:
    """Raise ResultsError unless ``target`` can become a results folder without losing anything.

    ``allowed``: entry names besides those portsim always writes (e.g. the variant folders).
    """
    if str(target).strip() == "":
        raise ResultsError("the results folder path is empty")
    try:
        _check_replaceable(target, allowed)
    except OSError as exc:
        raise ResultsError(f"{short(target)}: cannot write there: {exc.strerror or exc}") from None


def _check_replaceable(target: Path, allowed: Iterable[str]) -> None:
    real = Path(os.path.realpath(target))
    for parent in [real, *real.parents]:
        if parent.exists():
            if parent != real and not parent.is_dir():
                raise ResultsError(f"{target}: {parent} is a file, not a folder")
            break
    if real.exists() and not real.is_dir():
        raise ResultsError(f"{target}: exists and is not a folder")
    if real.is_dir():
        try:
            foreign = foreign_entries(real, allowed)
        except OSError as exc:
            raise ResultsError(f"{target}: cannot read this folder: {exc.strerror or exc}") from None
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise ResultsError(
                f"{target}: holds files portsim did not write ({shown}); not replacing it (choose another folder)"
            )


def _lock_is_free(folder: Path) -> bool:
    lock = folder / LOCK_NAME
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        try:
            return time.time() - folder.stat().st_mtime > STALE_AFTER
        except OSError:
            return False
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # a live writer holds it
    finally:
        os.close(fd)
    return True


def remove_stale(parent: Path) -> list[Path]:
    """Remove staging folders in ``parent`` whose writer is gone; returns what was removed."""
    removed: list[Path] = []
    try:
        candidates = [p for p in parent.iterdir() if p.name.startswith(STAGING_PREFIX) and p.is_dir()]
    except OSError:
        return removed
    for folder in candidates:
        if _lock_is_free(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(done == 0)


def _replace_entries(staged: Path, target: Path) -> None:
    """Put the staged entries in place one by one (a target that cannot be renamed: a mount point, ``.``)."""
    for old in target.iterdir():
        portsims = old.name in OUTPUT_ENTRIES or (old.is_dir() and is_results_folder(old))
        if portsims and not (staged / old.name).exists():
            if old.is_dir():
                shutil.rmtree(old)
            else:
                old.unlink()
    for entry in staged.iterdir():
        if entry.name == LOCK_NAME:
            continue
        destination = target / entry.name
        if destination.is_dir() and not destination.is_symlink():
            if not _exchange(entry, destination):
                shutil.rmtree(destination)
                os.rename(entry, destination)
        else:
            os.replace(entry, destination)


def _in_use(target: Path) -> bool:
    """Whether ``target`` must keep its identity: a mount point, or the current folder or one holding it."""
    if os.path.ismount(target):
        return True
    try:
        here = Path.cwd().resolve()
    except OSError:
        return False
    return here == target or target in here.parents


def _swap(staged: Path, target: Path) -> None:
    """Make ``staged`` the new ``target``."""
    (staged / LOCK_NAME).unlink(missing_ok=True)
    if not target.exists():
        os.rename(staged, target)
        return
    if _in_use(target):
        _replace_entries(staged, target)
        shutil.rmtree(staged, ignore_errors=True)
        return
    if _exchange(staged, target):
        shutil.rmtree(staged, ignore_errors=True)
        return
    try:
        old = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX + "old-", dir=target.parent))
    except OSError:
        old = None
    try:
        if old is None:
            raise OSError(errno.EACCES, "cannot stage beside the folder")
        os.rename(target, old / "previous")
        os.rename(staged, target)
    except OSError:
        if old is not None and (old / "previous").exists() and not target.exists():
            os.rename(old / "previous", target)
        _replace_entries(staged, target)
        shutil.rmtree(staged, ignore_errors=True)
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _free_bytes(folder: Path) -> float:
    stats = os.statvfs(folder)
    return float(stats.f_bavail * stats.f_frsize)


@contextlib.contextmanager
def staged_folder(
    target: str | Path,
    allowed: Iterable[str] = (),
    needed: float = FOLDER_BYTES,
    keep: Iterable[str] = (),
    owns: Callable[[Path], bool] | None = None,
) -> Iterator[Path]:
    """Yield an empty staging folder that replaces ``target`` only if the block completes.

    Checked before the block runs: that ``target`` can be replaced, that its parent can be written,
    and that the disk has ``needed`` bytes free. ``keep``: entries of the old folder copied into the
    new one when the block did not write them (variant folders of an earlier, larger run). ``owns``: which
    entries of the old folder this kind of output replaces; the others (another command's outputs, the
    task cache) are moved into the new folder once the block has completed. None: it replaces them all.
    """
    given = Path(target)
    check_replaceable(given, allowed)
    real = Path(os.path.realpath(given))
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(real.parent)
        staged = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=real.parent))
    except OSError as exc:
        raise ResultsError(f"{short(given)}: cannot write there: {exc.strerror or exc}") from None
    lock = None
    try:
        staged.chmod(0o755)
        lock = os.open(staged / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(lock, fcntl.LOCK_EX)
        os.write(lock, f"{os.getpid()} {real.name}\n".encode())
        free = _free_bytes(real.parent)
        if free < needed:
            raise ResultsError(
                f"{given}: only {free / (1 << 20):,.1f} MiB free on that disk; the results need about "
                f"{needed / (1 << 20):,.1f} MiB"
            )
        yield staged
        for name in keep:
            old = real / name
            if not (staged / name).exists() and old.is_dir() and is_results_folder(old):
                shutil.copytree(old, staged / name)
        if owns is not None and real.is_dir():
            for entry in list(real.iterdir()):
                if not owns(entry) and not entry.name.startswith(STAGING_PREFIX) and not (staged / entry.name).exists():
                    os.rename(entry, staged / entry.name)
        _swap(staged, real)
    except OSError as exc:
        shutil.rmtree(staged, ignore_errors=True)
        raise ResultsError(f"{given}: cannot write the results: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    finally:
        if lock is not None:
            os.close(lock)
