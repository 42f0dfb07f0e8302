"""The installed portsim version."""

from __future__ import annotations

from importlib import metadata


def version() -> str:
    """The installed portsim version."""
    try:
        return metadata.version("portsim")
    except metadata.PackageNotFoundError:
        return "0+unknown"
