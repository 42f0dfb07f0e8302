"""Registered TCP service names, from the table shipped with portsim (``services.tsv``).

portsim ships its own table rather than asking the system's ``/etc/services``: that file is missing from many
minimal containers (where port exhaustion is often debugged), and differs between systems, so the same port
would be named differently from machine to machine. The table is IANA's registry as curated by Debian's netbase
(its header says which version and how it was made).
"""

from __future__ import annotations

from importlib import resources

TABLE = "services.tsv"
SOURCE = "IANA service-name registry, as curated by Debian netbase 6.4 (2022-10-18)"


def service_table() -> dict[int, str]:
    """Every port of the table, with its service name."""
    text = resources.files(__package__ or "sim.machine").joinpath(TABLE).read_text(encoding="utf-8")
    table: dict[int, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            port, name = line.split("\t")
            table.setdefault(int(port), name)
    return table


def service_name(port: int) -> str | None:
    """The registered TCP service name of ``port``, or None when the table has none."""
    return service_table().get(port)
