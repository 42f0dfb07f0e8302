"""Black-box malformed-input fuzzer for the ``portsim`` command line.

Generates scenario files by mutating the shipped ``scenarios/*.yaml`` (text-level and structure-level
mutations, deterministic from ``--seed``), adds a few hand-written hostile inputs (alias bomb, recursive
alias, deep nesting, a 50 MB file, ``/dev/zero``) and the unmutated scenarios as controls, then runs
``portsim validate FILE`` and ``portsim run FILE --out DIR --quiet [--run-args]`` on each, in a fresh
temporary working directory, and checks that every run:

* exits 0 or 2, with no ``Traceback`` on stderr;
* on exit 2, writes exactly one ``portsim: error: ...`` line of at most 500 characters to stderr
  (``portsim: warning: ...`` lines may come before it);
* stays under 1 GiB of resident memory and 20 s of wall time (the child is killed otherwise);
* on ``run`` exit 0, has written ``summary.json`` (``comparison.json`` with variants).

Usage (from the repository root; this is what ``make fuzz`` runs)::

    .venv/bin/python tests/fuzz/malformed.py [--count 1000] [--seed 1] [--jobs 2]
        [--portsim .venv/bin/portsim] [--out results/fuzz/report.json] [--run-args "--max-attempts 500000"]

``--out`` is the JSON report (a path ending in ``.json``) or a folder to write ``report.json`` into;
failing inputs are copied to ``failures/`` next to the report, to replay with
``portsim validate results/fuzz/failures/FILE``. Exit status: 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import math
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:
    import psutil  # type: ignore[import-untyped,unused-ignore]
except ImportError:  # pragma: no cover - psutil is a dev dependency; /proc is the fallback
    psutil = None

REPO = Path(__file__).resolve().parents[2]
WALL_LIMIT_S = 20.0
RSS_LIMIT = 1 << 30  # bytes
POLL_S = 0.05
MAX_ERROR_CHARS = 500
STDERR_KEEP = 64 * 1024  # bytes of stderr kept per run
KEEP_FAILURE_MAX = 5 * 1024 * 1024  # failing inputs larger than this are described, not copied
BIG_FILE_BYTES = 50 * 1024 * 1024
ERROR_PREFIX = "portsim: error: "
WARNING_PREFIX = "portsim: warning: "
# Characters that a terminal or str.splitlines() treats as a line break.
LINE_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")
SEVERITY = {
    "rss": 0,
    "timeout": 1,
    "traceback": 2,
    "exit-status": 3,
    "missing-output": 4,
    "stderr-format": 5,
    "stderr-control": 6,
}

KeyPath = tuple[str | int, ...]


# --------------------------------------------------------------------------- cases


@dataclass
class Case:
    """One input file and how it was made."""

    index: int
    name: str
    path: Path
    origin: str  # the shipped scenario it came from, or "hostile"
    mutation: str  # what was done, for the report
    expect: str | None = None  # summary.json / comparison.json after a successful run; None: either
    generated: bool = True  # False for paths that are not ours (/dev/zero)
    group: str = "mutated"  # control, hostile, mutated


@dataclass
class Failure:
    """One failed check."""

    kind: str
    file: str
    command: str
    exit_status: int | None
    first_stderr_line: str
    detail: str
    mutation: str
    kept_as: str = ""


@dataclass
class Outcome:
    """One portsim invocation."""

    file: str
    command: str
    argv: list[str]
    exit_status: int | None
    wall_s: float
    peak_rss_kib: int
    killed: str | None
    stderr_head: str
    failures: list[Failure] = field(default_factory=list)


class BigInt(str):
    """An integer literal too long for ``str(int)`` (Python caps conversions at 4300 digits)."""


class FuzzDumper(yaml.SafeDumper):
    """``yaml.SafeDumper`` that can also write ``BigInt`` as a plain integer."""


def _represent_bigint(dumper: yaml.SafeDumper, data: BigInt) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:int", str(data))


FuzzDumper.add_representer(BigInt, _represent_bigint)


def nasty_values() -> list[tuple[str, Callable[[], Any]]]:
    """Labelled factories of hostile YAML values."""
    return [
        ("0", lambda: 0),
        ("-1", lambda: -1),
        ("-0.0", lambda: -0.0),
        ("1e-308", lambda: 1e-308),
        ("5e-324", lambda: 5e-324),
        ("1e308", lambda: 1e308),
        (".inf", lambda: math.inf),
        ("-.inf", lambda: -math.inf),
        (".nan", lambda: math.nan),
        ("2**64", lambda: 2**64),
        ("2**63-1", lambda: 2**63 - 1),
        ("-2**63", lambda: -(2**63)),
        ("5000-digit int", lambda: BigInt("9" * 5000)),
        ('""', lambda: ""),
        ("100000-char string", lambda: "A" * 100_000),
        ("string '600'", lambda: "600"),
        ("unicode/control string", lambda: "\u00fc\u202eevil\x00\x1b[31m\u2028x"),
        ("mapping with a newline key", lambda: {"bad\nkey": 1}),
        ("true", lambda: True),
        ("false", lambda: False),
        ("null", lambda: None),
        ("list", lambda: [1, "two", 3.0]),
        ("empty list", lambda: []),
        ("nested mapping", lambda: {"a": {"b": {"c": [1, {"d": None}]}}}),
        ("empty mapping", lambda: {}),
    ]


# Specific (key path, value) settings; "W" stands for a random workload index.
SPECIAL_SETTINGS: list[tuple[str, Callable[[], Any]]] = [
    ("replications", lambda: 10000),
    ("host.time_wait_granularity", lambda: 1e-308),
    ("host.policy", lambda: {"name": "linux", "resalt_period": 5e-324}),
    ("host.source_addresses", lambda: 300),
    ("host.source_addresses", lambda: 256),
    ("workloads.W.arrivals", lambda: {"kind": "onoff", "rate": 1e-6, "mean_on": 1e-6, "mean_off": 1}),
    ("workloads.W.arrivals", lambda: {"kind": "constant", "interval": 5e-324}),
    ("workloads.W.arrivals", lambda: {"kind": "poisson", "rate": 1e308}),
    ("workloads.W.duration", lambda: {"kind": "pareto", "shape": 1.0000001, "mean": 1e-300}),
    ("workloads.W.duration", lambda: {"kind": "lognormal", "mean": 1e308, "sigma": 10}),
    ("workloads.W.duration", lambda: {"kind": "uniform", "low": 0, "high": 1e308}),
    ("workloads.W.duration", lambda: {"kind": "fixed", "value": 0}),
    ("workloads.W.start", lambda: 1e308),
    ("workloads.W.stop", lambda: 5e-324),
    ("workloads.W.close", lambda: "half"),
    ("workloads.W.bind", lambda: "no_port"),
    ("workloads.W.destinations", lambda: []),
    ("workloads.W.destinations", lambda: [{"address": "::ffff:127.0.0.1", "port": 65535}]),
    ("workloads.W.destinations", lambda: [{"address": "0.0.0.0", "port": 0}]),
    ("workloads.W.destinations", lambda: [{"address": "10.0.0.1", "port": 65536}]),
    ("duration", lambda: 1e308),
    ("duration", lambda: 5e-324),
    ("duration", lambda: 1e9),
    ("warmup", lambda: 1e308),
    ("sample_interval", lambda: 5e-324),
    ("sample_interval", lambda: 1e308),
    ("seed", lambda: 2**64),
    ("name", lambda: ".."),
    ("name", lambda: "comparison.json"),
    ("name", lambda: "a/../../etc"),
    ("host.preset", lambda: "linux\n"),
    ("host.port_range", lambda: [1, 1]),
    ("host.port_range", lambda: [65535, 1]),
    ("host.port_range", lambda: [1, 65535]),
    ("host.port_range", lambda: [0, 70000]),
    ("host.reserved_ports", lambda: "1-65535"),
    ("host.reserved_ports", lambda: "1-65534"),
    ("host.max_tw_buckets", lambda: 0),
    ("host.time_wait", lambda: 1e308),
    ("host.fin_timeout", lambda: 1e308),
    ("host.tw_reuse_delay", lambda: 5e-324),
    ("host.connect_base_us", lambda: 1e308),
    ("host.probe_cost_ns", lambda: 1e308),
    ("host.policy", lambda: "no-such-policy"),
    ("host.policy", lambda: {"name": "linux"}),
    ("host.policy", lambda: {"name": None}),
    ("portsim_version", lambda: 99),
    ("variants", lambda: [{"name": "comparison.json", "set": {"host.preset": "linux"}}]),
    ("variants", lambda: [{"name": "a", "set": {}}, {"name": "b", "set": {"host.time_wait": 30}}]),
    ("variants", lambda: [{"name": "plots", "set": {}}, {"name": "summary.json", "set": {}}]),
    ("variants", lambda: [{"name": "x", "set": {"workloads.0.destinations": []}}]),
    ("variants", lambda: [{"name": "x", "set": {"a.b.c.d": 1}}]),
    ("variants", lambda: [{"name": "x", "set": {"": 1}}]),
    ("variants", lambda: [{"name": "x", "set": {"workloads.-1000": 1}}]),
    ("variants", lambda: [{"name": "x", "set": {"host.preset": BigInt("7" * 5000)}}]),
    ("variants", lambda: [{"name": "x", "set": {"duration.x": 1}}]),
    ("variants", lambda: [{"name": f"v{i}", "set": {}} for i in range(200)]),
]

REQUIRED_KEYS: list[str] = [
    "name",
    "duration",
    "workloads",
    "workloads.W.name",
    "workloads.W.arrivals",
    "workloads.W.arrivals.kind",
    "workloads.W.arrivals.rate",
    "workloads.W.duration",
    "workloads.W.duration.kind",
    "workloads.W.duration.mean",
    "workloads.W.destinations",
    "workloads.W.destinations.0.address",
    "workloads.W.destinations.0.port",
]

SCALABLE = re.compile(r"(rate|mean|duration|time_wait|port_range|warmup|interval|sigma|weight|port|seed|value)")


def _walk(node: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, (*path, i))


def _resolve_path(doc: Any, dotted: str, rng: random.Random) -> KeyPath:
    """A dotted path (``W`` meaning a random workload index) as a key path."""
    parts: list[str | int] = []
    for part in dotted.split("."):
        if part == "W":
            workloads = doc.get("workloads") if isinstance(doc, dict) else None
            count = len(workloads) if isinstance(workloads, list) and workloads else 1
            parts.append(rng.randrange(count))
        elif part.isdigit():
            parts.append(int(part))
        else:
            parts.append(part)
    return tuple(parts)


def _set(doc: Any, path: KeyPath, value: Any) -> bool:
    """Set ``doc[path]``, creating mappings on the way; False if the path runs into a value or a short list."""
    node = doc
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, dict):
            if last:
                node[part] = value
                return True
            if not isinstance(node.get(part), dict | list):
                node[part] = {}
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            if last:
                node[part] = value
                return True
            node = node[part]
        else:
            return False
    return False


def _parent(doc: Any, path: KeyPath) -> Any:
    node = doc
    for part in path[:-1]:
        node = node[part]
    return node


def _fmt_path(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _typo(key: str, rng: random.Random) -> str:
    if len(key) < 2:
        return key + "x"
    i = rng.randrange(len(key) - 1)
    choice = rng.randrange(7)
    if choice == 0:
        return key[:i] + key[i + 1] + key[i] + key[i + 2 :]
    if choice == 1:
        return key[:i] + key[i + 1 :]
    if choice == 2:
        return key[:i] + key[i] + key[i:]
    if choice == 3:
        return key.upper()
    if choice == 4:
        return key + " "
    if choice == 5:
        return key.replace("_", "-") if "_" in key else key + "s"
    return key[:i] + "\u0430" + key[i + 1 :]  # Cyrillic a: looks the same


class Mutator:
    """Deterministic mutations of scenario texts and documents."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.nasty = nasty_values()

    # ------------------------------------------------------------------ text level

    def text(self, data: bytes) -> tuple[bytes, str]:
        ops: list[Callable[[bytes], tuple[bytes, str]]] = [
            self._truncate,
            self._delete_line,
            self._duplicate_line,
            self._swap_lines,
            self._indent,
            self._insert_bytes,
            self._insert_tab,
            self._break_quote,
            self._duplicate_key,
            self._complex_key,
            self._yaml_feature,
            self._encoding,
        ]
        return self.rng.choice(ops)(data)

    def _lines(self, data: bytes) -> list[bytes]:
        return data.splitlines(keepends=True) or [b""]

    def _truncate(self, data: bytes) -> tuple[bytes, str]:
        at = self.rng.randrange(len(data) + 1)
        return data[:at], f"text: truncate at byte {at}"

    def _delete_line(self, data: bytes) -> tuple[bytes, str]:
        lines = self._lines(data)
        i = self.rng.randrange(len(lines))
        return b"".join(lines[:i] + lines[i + 1 :]), f"text: delete line {i + 1}"

    def _duplicate_line(self, data: bytes) -> tuple[bytes, str]:
        lines = self._lines(data)
        i = self.rng.randrange(len(lines))
        return b"".join(lines[: i + 1] + lines[i:]), f"text: duplicate line {i + 1}"

    def _swap_lines(self, data: bytes) -> tuple[bytes, str]:
        lines = self._lines(data)
        i, j = self.rng.randrange(len(lines)), self.rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return b"".join(lines), f"text: swap lines {i + 1} and {j + 1}"

    def _indent(self, data: bytes) -> tuple[bytes, str]:
        lines = self._lines(data)
        i = self.rng.randrange(len(lines))
        stripped = lines[i].lstrip(b" ")
        old = len(lines[i]) - len(stripped)
        new = self.rng.choice([0, max(0, old - 1), old + 1, old + 2, old + 4])
        lines[i] = b" " * new + stripped
        return b"".join(lines), f"text: indentation of line {i + 1} from {old} to {new}"

    def _insert_bytes(self, data: bytes) -> tuple[bytes, str]:
        at = self.rng.randrange(len(data) + 1)
        kind = self.rng.randrange(5)
        if kind == 0:
            blob = bytes(self.rng.randrange(256) for _ in range(self.rng.randint(1, 16)))
            label = "random bytes"
        elif kind == 1:
            blob = b"\x00"
            label = "NUL"
        elif kind == 2:
            blob = bytes([self.rng.choice([*range(1, 32), 0x7F])])
            label = "control char"
        elif kind == 3:
            chars = ["\ufeff", "\u00a0", "\u2028", "\u2029", "\u202e", "\u0085", "\U0001f4a9", "\u0301", "\uffff"]
            blob = self.rng.choice(chars).encode("utf-8")
            label = "unicode char"
        else:
            blob = self.rng.choice([b"\xed\xa0\x80", b"\xff\xfe", b"\xc0\xaf", b"\x80"])
            label = "invalid UTF-8"
        return data[:at] + blob + data[at:], f"text: insert {label} {blob!r} at byte {at}"

    def _insert_tab(self, data: bytes) -> tuple[bytes, str]:
        lines = self._lines(data)
        i = self.rng.randrange(len(lines))
        line = lines[i]
        if self.rng.random() < 0.5:
            lines[i] = b"\t" + line.lstrip(b" ")
            where = "replacing the indentation"
        else:
            at = self.rng.randrange(len(line) + 1)
            lines[i] = line[:at] + b"\t" + line[at:]
            where = f"at column {at + 1}"
        return b"".join(lines), f"text: tab in line {i + 1} {where}"

    def _break_quote(self, data: bytes) -> tuple[bytes, str]:
        at = self.rng.randrange(len(data) + 1)
        blob = self.rng.choice(
            [b'"', b"'", b"{", b"[", b"}", b"]", b'"\\x', b"'''", b"`", b"|", b">", b"&", b"*", b"!"]
        )
        return data[:at] + blob + data[at:], f"text: insert {blob!r} at byte {at}"

    def _keyed_lines(self, lines: list[bytes]) -> list[int]:
        return [i for i, line in enumerate(lines) if re.match(rb"^\s*(- )?[A-Za-z_]+:", line)]

    def _duplicate_key(self, data: bytes) -> tuple[bytes, str]:
        lines = self._lines(data)
        keyed = self._keyed_lines(lines)
        if not keyed:
            return self._duplicate_line(data)
        i = self.rng.choice(keyed)
        match = re.match(rb"^(\s*)(?:- )?([A-Za-z_]+):", lines[i])
        assert match is not None
        indent = match[1] + (b"  " if lines[i].lstrip().startswith(b"- ") else b"")
        extra = indent + match[2] + b": " + self.rng.choice([b"1", b"null", b"x", b"[]"]) + b"\n"
        return b"".join(
            [*lines[: i + 1], extra, *lines[i + 1 :]]
        ), f"text: duplicate key {match[2]!r} after line {i + 1}"

    def _complex_key(self, data: bytes) -> tuple[bytes, str]:
        lines = self._lines(data)
        keyed = self._keyed_lines(lines)
        i = self.rng.choice(keyed) if keyed else 0
        line = lines[i] if lines else b""
        indent = line[: len(line) - len(line.lstrip())]
        if line.lstrip().startswith(b"- "):
            indent += b"  "
            i += 1
        blob = self.rng.choice([b"? [a, b]\n" + indent + b": 1\n", b"? {a: 1}\n" + indent + b": 2\n", b"[x]: 1\n"])
        shown = blob.splitlines()[0]
        return b"".join([*lines[:i], indent + blob, *lines[i:]]), f"text: complex key {shown!r}"

    def _yaml_feature(self, data: bytes) -> tuple[bytes, str]:
        choices: list[tuple[bytes, bool, str]] = [
            (b"%YAML 1.1\n---\n", True, "YAML directive"),
            (b"%YAML 9.9\n---\n", True, "unsupported YAML version"),
            (b"%TAG ! tag:evil:\n---\n", True, "TAG directive"),
            (b"---\n", False, "second document"),
            (b"...\n", False, "document end"),
            (b"x: !!python/object/apply:os.system ['echo pwned']\n", False, "python tag"),
            (b"x: !!binary aGVsbG8=\n", False, "binary tag"),
            (b"x: !!set {a, b}\n", False, "set tag"),
            (b"x: 2001-12-14t21:59:43.10-05:00\n", False, "timestamp"),
            (b"x: !custom 1\n", False, "unknown tag"),
            (b"base: &b {preset: linux}\nhost2:\n  <<: *b\n", False, "merge key"),
            (b"name: *undefined\n", False, "undefined alias"),
            (b"x: &a 1\ny: &a 2\n", False, "duplicate anchor"),
        ]
        blob, prefix, label = self.rng.choice(choices)
        if prefix:
            return blob + data, f"text: prepend {label}"
        return data + (b"" if data.endswith(b"\n") else b"\n") + blob, f"text: append {label}"

    def _encoding(self, data: bytes) -> tuple[bytes, str]:
        kind = self.rng.randrange(4)
        if kind == 0:
            return b"\xef\xbb\xbf" + data, "text: UTF-8 BOM"
        if kind == 1:
            return data.replace(b"\n", b"\r\n"), "text: CRLF line ends"
        if kind == 2:
            return data.replace(b"\n", b"\r"), "text: CR-only line ends"
        return data.decode("utf-8", "replace").encode("utf-16"), "text: UTF-16"

    # ------------------------------------------------------------------ structure level

    def structure(self, doc: Any) -> str:
        ops: list[tuple[float, Callable[[Any], str]]] = [
            (4, self._replace_node),
            (2, self._delete_required),
            (2, self._rename_key),
            (2, self._scale),
            (3, self._special),
            (0.3, self._many_destinations),
            (0.5, self._newline_key),
            (0.5, self._extreme_weights),
        ]
        weights = [w for w, _ in ops]
        op = self.rng.choices([f for _, f in ops], weights=weights)[0]
        return op(doc)

    def _replace_node(self, doc: Any) -> str:
        nodes = [(p, v) for p, v in _walk(doc) if p]
        scalars = [(p, v) for p, v in nodes if not isinstance(v, dict | list)]
        pool = scalars if scalars and self.rng.random() < 0.75 else nodes
        if not pool:
            return "struct: nothing to replace"
        path, _ = self.rng.choice(pool)
        label, make = self.rng.choice(self.nasty)
        _parent(doc, path)[path[-1]] = make()
        return f"struct: {_fmt_path(path)} <- {label}"

    def _delete_required(self, doc: Any) -> str:
        path = _resolve_path(doc, self.rng.choice(REQUIRED_KEYS), self.rng)
        try:
            parent = _parent(doc, path)
            del parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            return f"struct: delete {_fmt_path(path)} (absent)"
        return f"struct: delete {_fmt_path(path)}"

    def _rename_key(self, doc: Any) -> str:
        keyed = [p for p, _ in _walk(doc) if p and isinstance(p[-1], str)]
        if not keyed:
            return "struct: no key to rename"
        path = self.rng.choice(keyed)
        parent = _parent(doc, path)
        new = _typo(str(path[-1]), self.rng)
        items = [(new if k == path[-1] else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)
        return f"struct: rename {_fmt_path(path)} to {new!r}"

    def _scale(self, doc: Any) -> str:
        numeric = [
            (p, v)
            for p, v in _walk(doc)
            if isinstance(v, int | float)
            and not isinstance(v, bool)
            and any(isinstance(part, str) and SCALABLE.search(part) for part in p)
        ]
        if not numeric:
            return "struct: nothing to scale"
        path, value = self.rng.choice(numeric)
        k = self.rng.choice([-300, -30, -12, -6, -3, -1, 1, 2, 3, 6, 12, 30, 300])
        if isinstance(value, int) and k > 0:
            new: int | float = value * 10**k
        else:
            new = value * 10.0**k
        _parent(doc, path)[path[-1]] = new
        return f"struct: {_fmt_path(path)} x 10^{k}"

    def _special(self, doc: Any) -> str:
        dotted, make = self.rng.choice(SPECIAL_SETTINGS)
        path = _resolve_path(doc, dotted, self.rng)
        value = make()
        if not _set(doc, path, value):
            return f"struct: could not set {_fmt_path(path)}"
        shown = repr(value)
        return f"struct: {_fmt_path(path)} = {shown if len(shown) <= 80 else shown[:77] + '...'}"

    def _many_destinations(self, doc: Any) -> str:
        path = _resolve_path(doc, "workloads.W.destinations", self.rng)
        many = [{"address": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", "port": 443} for i in range(10_000)]
        if not _set(doc, path, many):
            return "struct: could not add destinations"
        return f"struct: {_fmt_path(path)} = 10,000 destinations"

    def _newline_key(self, doc: Any) -> str:
        mappings = [p for p, v in _walk(doc) if isinstance(v, dict)]
        path = self.rng.choice(mappings)
        node = doc
        for part in path:
            node = node[part]
        node[self.rng.choice(["bad\nkey", "name\n", "\nduration", "host\r"])] = 1
        return f"struct: key with a newline in {_fmt_path(path)}"

    def _extreme_weights(self, doc: Any) -> str:
        value = self.rng.choice([1e-308, 1e308, 5e-324])
        count = 0
        for _path, node in _walk(doc):
            if isinstance(node, dict) and "address" in node:
                node["weight"] = value if count % 2 == 0 else 1.0
                count += 1
        return f"struct: destination weights alternate {value!r} and 1"


def _dump(doc: Any, rng: random.Random) -> bytes:
    text = yaml.dump(doc, Dumper=FuzzDumper, sort_keys=False, default_flow_style=None, allow_unicode=rng.random() < 0.5)
    return text.encode("utf-8", "surrogatepass")


def _expected_output(doc: Any) -> str | None:
    """summary.json or comparison.json, from the document's variants; None when it is not a mapping."""
    if not isinstance(doc, dict):
        return None
    return "comparison.json" if doc.get("variants") else "summary.json"


def _parse_quietly(data: bytes) -> Any:
    """The document of a text-mutated file, or None when it does not parse (libyaml when available)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(data, Loader=loader)
    except Exception:
        return None


# --------------------------------------------------------------------------- hostile files


def _hostile_texts() -> list[tuple[str, str, bytes]]:
    head = "name: hostile\nduration: 10\nworkloads:\n  - name: w\n    arrivals: {kind: poisson, rate: 1}\n"
    head += "    duration: {kind: fixed, value: 1}\n    destinations: [{address: 10.0.0.1, port: 80}]\n"
    bomb = ["lol0: &a0 [" + ", ".join(["lol"] * 10) + "]"]
    for level in range(1, 10):
        bomb.append(f"lol{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    deep_list = "host: " + "[" * 500 + "1" + "]" * 500 + "\n"
    deep_map = "host: " + "{a: " * 500 + "1" + "}" * 500 + "\n"
    deep_block = "host:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 501)) + " " * 501 + "v: 1\n"
    return [
        ("alias-bomb", "billion laughs: ten levels of ten aliases", (head + "\n".join(bomb) + "\n").encode()),
        ("alias-bomb-in-workloads", "billion laughs under workloads", ("\n".join(bomb) + "\n" + head).encode()),
        (
            "recursive-alias-list",
            "recursive alias: workloads: &w [*w]",
            b"name: rec\nduration: 10\nworkloads: &w [*w]\n",
        ),
        (
            "recursive-alias-map",
            "recursive alias: host: &h {preset: linux, self: *h}",
            (head + "host: &h {preset: linux, self: *h}\n").encode(),
        ),
        ("nesting-500-flow-list", "500-level nested flow lists", (head + deep_list).encode()),
        ("nesting-500-flow-map", "500-level nested flow mappings", (head + deep_map).encode()),
        ("nesting-500-block-map", "500-level nested block mappings", (head + deep_block).encode()),
        ("empty", "empty file", b""),
        ("only-comment", "only a comment", b"# nothing here\n"),
        ("null-document", "a null document", b"null\n"),
        ("scalar-document", "a scalar document", b"42\n"),
        ("list-document", "a list document", b"[name, duration]\n"),
        ("latin1", "Latin-1 bytes", head.replace("hostile", "h\xe9").encode("latin-1")),
        ("nul-only", "NUL bytes", b"\x00" * 64),
    ]


def _write_big_file(path: Path, base: bytes) -> None:
    """A 50 MB scenario: the base file with a 50 MB description, written in 1 MiB chunks."""
    chunk = b"x" * (1 << 20)
    with path.open("wb") as f:
        f.write(b"description: ")
        written = 0
        while written < BIG_FILE_BYTES:
            f.write(chunk)
            written += len(chunk)
        f.write(b"\n")
        f.write(b"\n".join(line for line in base.splitlines() if not line.startswith(b"description:")) + b"\n")


def generate(count: int, seed: int, scenarios: Path, inputs: Path) -> list[Case]:
    """The controls, the hostile files and ``count`` mutated scenarios, written under ``inputs``."""
    bases = {p.stem: p.read_bytes() for p in sorted(scenarios.glob("*.yaml"))}
    if not bases:
        raise SystemExit(f"fuzz: no scenarios/*.yaml under {scenarios}")
    rng = random.Random(seed)
    mutator = Mutator(rng)
    cases: list[Case] = []

    def add(name: str, origin: str, mutation: str, data: bytes, group: str = "mutated", doc: Any = None) -> None:
        index = len(cases)
        path = inputs / f"{index:04d}-{name}.yaml"
        path.write_bytes(data)
        expect = _expected_output(doc if doc is not None else _parse_quietly(data)) if group != "hostile" else None
        cases.append(Case(index, path.name, path, origin, mutation, expect, group=group))

    for stem, data in bases.items():
        add(f"control-{stem}", stem, "none (shipped scenario)", data, "control")
    for name, mutation, data in _hostile_texts():
        add(f"hostile-{name}", "hostile", mutation, data, "hostile")
    big = inputs / f"{len(cases):04d}-hostile-50mb.yaml"
    _write_big_file(big, bases.get("quickstart", next(iter(bases.values()))))
    mutation = "50 MB file (50 MB description)"
    cases.append(Case(len(cases), big.name, big, "hostile", mutation, "summary.json", group="hostile"))
    mutation = "the path /dev/zero"
    cases.append(Case(len(cases), "dev-zero", Path("/dev/zero"), "hostile", mutation, None, False, "hostile"))

    for _ in range(count):
        stem = rng.choice(list(bases))
        data = bases[stem]
        ops = rng.choices([1, 2, 3], weights=[7, 2, 1])[0]
        if rng.random() < 0.45:
            notes = []
            for _ in range(ops):
                data, note = mutator.text(data)
                notes.append(note)
            add(f"text-{stem}", stem, "; ".join(notes), data)
            continue
        doc = yaml.safe_load(data)
        notes = [mutator.structure(doc) for _ in range(ops)]
        try:
            data = _dump(doc, rng)
        except Exception as exc:  # cannot be dumped: fall back to a text mutation
            data, note = mutator.text(bases[stem])
            notes = [f"({'; '.join(notes)} not dumpable: {type(exc).__name__}) {note}"]
            add(f"text-{stem}", stem, "; ".join(notes), data)
            continue
        add(f"struct-{stem}", stem, "; ".join(notes), data, doc=doc)
    return cases


def replay(folder: Path, inputs: Path) -> list[Case]:
    """The files of ``folder`` (kept failures), copied under ``inputs`` so that a run cannot change them."""
    cases: list[Case] = []
    for source in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix == ".yaml"):
        path = inputs / source.name
        shutil.copyfile(source, path)
        expect = _expected_output(_parse_quietly(path.read_bytes()))
        cases.append(Case(len(cases), source.name, path, "replay", f"replay of {source}", expect, group="replay"))
    return cases


# --------------------------------------------------------------------------- running


class Children:
    """Process groups still running, to kill on the way out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pids: set[int] = set()

    def add(self, pid: int) -> None:
        with self._lock:
            self._pids.add(pid)

    def discard(self, pid: int) -> None:
        with self._lock:
            self._pids.discard(pid)

    def kill_all(self) -> None:
        with self._lock:
            pids = sorted(self._pids)
        for pid in pids:
            _killpg(pid)


CHILDREN = Children()


def _killpg(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (0 once it is gone)."""
    if psutil is not None:
        try:
            proc = psutil.Process(pid)
            total = int(proc.memory_info().rss)
            for child in proc.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += int(child.memory_info().rss)
            return total
        except psutil.Error:
            return 0
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match[1]) * 1024 if match else 0


def _first_line(text: str) -> str:
    """The first non-blank line of stderr; for a traceback, its last line (the exception) is added."""
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return ""
    first = lines[0]
    if first.startswith("Traceback") and len(lines) > 1:
        first += " ... " + lines[-1]
    return first if len(first) <= 300 else first[:297] + "..."


def run_command(
    case: Case, command: str, argv: list[str], workdir: Path, env: dict[str, str], expect_out: Path | None
) -> Outcome:
    """Run one portsim command, watching its time and memory, and check its behaviour."""
    err_path = workdir / f"stderr-{case.index}-{command}.txt"
    started = time.monotonic()
    with err_path.open("wb") as err:
        proc = subprocess.Popen(
            argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            start_new_session=True,
        )  # fmt: skip
    CHILDREN.add(proc.pid)
    killed: str | None = None
    polled_peak = 0
    try:
        while True:
            pid, wait_status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            polled_peak = max(polled_peak, _rss_bytes(proc.pid))
            if polled_peak > RSS_LIMIT:
                killed = "rss"
            elif time.monotonic() - started > WALL_LIMIT_S:
                killed = "timeout"
            if killed:
                _killpg(proc.pid)
                pid, wait_status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(POLL_S)
    finally:
        CHILDREN.discard(proc.pid)
    wall = time.monotonic() - started
    status = os.waitstatus_to_exitcode(wait_status)
    proc.returncode = status
    peak_kib = max(int(usage.ru_maxrss), polled_peak // 1024)
    with err_path.open("rb") as f:
        stderr = f.read(STDERR_KEEP).decode("utf-8", "replace")
    err_path.unlink()
    outcome = Outcome(case.name, command, argv, status, round(wall, 3), peak_kib, killed, stderr[:4000])
    outcome.failures = check(case, command, outcome, stderr, expect_out)
    return outcome


def check(case: Case, command: str, o: Outcome, stderr: str, out: Path | None) -> list[Failure]:
    """The failed checks of one run."""
    first = _first_line(stderr) if not o.killed else {"rss": "RSS"}.get(o.killed, o.killed)
    found: list[Failure] = []

    def fail(kind: str, detail: str) -> None:
        found.append(Failure(kind, case.name, command, o.exit_status, first, detail, case.mutation))

    if o.killed == "rss":
        fail("rss", f"killed at over {RSS_LIMIT >> 20} MiB resident after {o.wall_s:.1f} s")
    elif o.killed == "timeout":
        fail("timeout", f"killed after {WALL_LIMIT_S:g} s (peak RSS {o.peak_rss_kib >> 10} MiB)")
    elif o.peak_rss_kib * 1024 >= RSS_LIMIT:
        fail("rss", f"peak RSS {o.peak_rss_kib >> 10} MiB")
    if o.killed is None and o.wall_s >= WALL_LIMIT_S:
        fail("timeout", f"took {o.wall_s:.1f} s")
    if "Traceback" in stderr:
        fail("traceback", "stderr has a Traceback")
    if o.killed is None and o.exit_status not in (0, 2):
        fail("exit-status", f"exit status {o.exit_status}")
    if o.exit_status == 2:
        body = stderr[:-1] if stderr.endswith("\n") else stderr
        lines = body.split("\n")
        *before, last = lines
        if not last.startswith(ERROR_PREFIX):
            fail("stderr-format", "exit 2 but the last stderr line is not 'portsim: error: ...'")
        elif any(not line.startswith(WARNING_PREFIX) for line in before):
            fail("stderr-format", f"exit 2 with {len(lines)} stderr lines (other than warnings before the error)")
        elif len(last) > MAX_ERROR_CHARS:
            more = "+" if len(stderr.encode()) >= STDERR_KEEP else ""
            fail("stderr-format", f"error line is {len(last):,}{more} characters long")
        elif LINE_BREAKS.search(last):
            fail("stderr-format", "error line contains a line-breaking character (\\r, \\x85, \\u2028, ...)")
        elif CONTROL.search(last):
            fail("stderr-control", "error line contains raw control characters (ESC, NUL, ...)")
    if command == "run" and o.exit_status == 0 and out is not None:
        names = [case.expect] if case.expect else ["summary.json", "comparison.json"]
        if not any((out / n).is_file() for n in names):
            fail("missing-output", f"exit 0 but no {' or '.join(names)} in the results folder")
    return found


def run_case(
    case: Case, portsim: str, run_args: list[str], workdir: Path, env: dict[str, str], limits: list[str]
) -> list[Outcome]:
    """``portsim validate`` then ``portsim run`` on one file (``limits`` given to both)."""
    target = str(case.path)
    out = workdir / f"out-{case.index}"
    run_args = [*limits, *run_args]
    outcomes = [run_command(case, "validate", [portsim, "validate", target, *limits], workdir, env, None)]
    argv = [portsim, "run", target, "--out", str(out), "--quiet", *run_args]
    outcomes.append(run_command(case, "run", argv, workdir, env, out))
    shutil.rmtree(out, ignore_errors=True)
    return outcomes


# --------------------------------------------------------------------------- report


def _normalise(line: str, names: list[str]) -> str:
    """A stderr line without what varies between inputs with the same cause (file, line, key path, numbers)."""
    for name in names:
        line = line.replace(name, "FILE")
    line = re.sub(r"/\S*/inputs/FILE", "FILE", line)
    line = re.sub(r"/tmp/\S+", "PATH", line)
    line = re.sub(r"FILE(:\d+)*: [^:]*:", "FILE: KEY:", line)  # the key path of a validation error
    line = re.sub(r"#x[0-9a-fA-F]+", "#xN", line)
    line = re.sub(r"\(got .*", "(got ...)", line)
    return re.sub(r"\d+", "N", line)[:160]


def build_report(
    cases: list[Case], outcomes: list[Outcome], seconds: float, seed: int, count: int, run_args: list[str]
) -> dict[str, Any]:
    """The report as plain data."""
    by_status: dict[str, Counter[str]] = {"validate": Counter(), "run": Counter()}
    for o in outcomes:
        by_status[o.command][o.killed or str(o.exit_status)] += 1
    failures = sorted(
        (f for o in outcomes for f in o.failures), key=lambda f: (SEVERITY.get(f.kind, 9), f.command, f.file)
    )
    by_name: dict[str, dict[str, Outcome]] = {}
    for o in outcomes:
        by_name.setdefault(o.file, {})[o.command] = o

    def validate_exit(f: Failure) -> int | str | None:
        """How ``validate`` ended on the same file: a run timeout on a valid file is a long simulation."""
        v = by_name.get(f.file, {}).get("validate")
        return None if v is None else (v.killed or v.exit_status)

    groups: dict[tuple[str, str, str, str], list[Failure]] = {}
    for f in failures:
        valid = str(validate_exit(f) == 0) if f.command == "run" and f.kind == "timeout" else ""
        key = (f.kind, f.command, _normalise(f.first_stderr_line, [f.file]), valid)
        groups.setdefault(key, []).append(f)
    distinct = [
        {
            "kind": kind,
            "command": command,
            "first_stderr_line": group[0].first_stderr_line,
            "exit_status": group[0].exit_status,
            "validate_exit": validate_exit(group[0]),
            "count": len(group),
            "example_file": group[0].file,
            "example_mutation": group[0].mutation,
            "files": [f.file for f in group],
        }
        for (kind, command, _, _), group in groups.items()
    ]
    disagreements = [
        {"file": name, "validate": pair["validate"].exit_status, "run": pair["run"].exit_status}
        for name, pair in by_name.items()
        if "validate" in pair
        and "run" in pair
        and not pair["run"].killed
        and {pair["validate"].exit_status, pair["run"].exit_status} == {0, 2}
    ]
    slowest = max(outcomes, key=lambda o: o.wall_s, default=None)
    largest = max(outcomes, key=lambda o: o.peak_rss_kib, default=None)
    return {
        "seed": seed,
        "count": count,
        "run_args": run_args,
        "files": len(cases),
        "files_by_group": dict(Counter(c.group for c in cases)),
        "runs": len(outcomes),
        "seconds": round(seconds, 1),
        "seconds_per_file": round(seconds / max(1, len(cases)), 2),
        "mean_wall_s": {
            cmd: round(sum(o.wall_s for o in outcomes if o.command == cmd) / max(1, by_status[cmd].total()), 2)
            for cmd in by_status
        },
        "by_exit_status": {cmd: dict(sorted(c.items())) for cmd, c in by_status.items()},
        "slowest": _brief(slowest),
        "largest_rss": _brief(largest),
        "failed_checks": len(failures),
        "distinct_failures": distinct,
        "failures": [{**asdict(f), "validate_exit": validate_exit(f)} for f in failures],
        "validate_run_disagreements": disagreements,
        "errors_naming_a_line": _errors_naming_a_line(outcomes),
        "mutations": {c.name: c.mutation for c in cases},
    }


def _brief(o: Outcome | None) -> dict[str, Any] | None:
    if o is None:
        return None
    return {
        "file": o.file,
        "command": o.command,
        "wall_s": o.wall_s,
        "peak_rss_mib": round(o.peak_rss_kib / 1024, 1),
        "exit_status": o.exit_status,
        "killed": o.killed,
    }


def _safe(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, control and line-break characters escaped for the terminal."""
    text = text[:limit]
    return CONTROL.sub(lambda m: repr(m[0])[1:-1], LINE_BREAKS.sub(lambda m: repr(m[0])[1:-1], text))


ERROR_WITH_LINE = re.compile(r"^portsim: error: .+?:\d+(:\d+)?: ")


def _errors_naming_a_line(outcomes: list[Outcome]) -> dict[str, int]:
    """Of the exit-2 errors about the file's content (not the file as a whole), how many name a line."""
    whole_file = ("no such file", "larger than", "is a directory", "connection attempts expected", "MiB of memory")
    errors = [
        o.stderr_head.strip().splitlines()[-1]
        for o in outcomes
        if o.exit_status == 2 and o.stderr_head.strip() and "/dev/zero" not in o.file
    ]
    about_content = [e for e in errors if not any(w in e for w in whole_file)]
    return {"errors": len(about_content), "naming_a_line": sum(bool(ERROR_WITH_LINE.match(e)) for e in about_content)}


def print_report(report: dict[str, Any], report_path: Path) -> None:
    """The short human-readable report."""
    print(
        f"\nportsim fuzz: seed {report['seed']}, {report['files']} files {report['files_by_group']}, "
        f"{report['runs']} runs in {report['seconds']:.0f} s ({report['seconds_per_file']:.1f} s per file; "
        f"mean validate {report['mean_wall_s']['validate']:.1f} s, run {report['mean_wall_s']['run']:.1f} s)"
    )
    for cmd, counts in report["by_exit_status"].items():
        print(f"  {cmd:<8} " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    for label in ("slowest", "largest_rss"):
        b = report[label]
        if b:
            print(
                f"  {label.replace('_', ' '):<8} {b['command']} {b['file']}: {b['wall_s']:.1f} s, "
                f"{b['peak_rss_mib']:.0f} MiB, exit {b['exit_status']}" + (f" ({b['killed']})" if b["killed"] else "")
            )
    if report["validate_run_disagreements"]:
        n = len(report["validate_run_disagreements"])
        print(f"  note     {n} file(s) where validate and run disagree (0 vs 2); see the JSON report")
    lines = report["errors_naming_a_line"]
    print(f"  errors about the content naming file:line: {lines['naming_a_line']} of {lines['errors']}")
    print(f"  failed checks: {report['failed_checks']} ({len(report['distinct_failures'])} distinct)")
    for d in report["distinct_failures"]:
        valid = " (validate: 0)" if d["kind"] == "timeout" and d["command"] == "run" and d["validate_exit"] == 0 else ""
        print(
            f"  [{d['kind']}] {d['command']}{valid} x{d['count']} e.g. {d['example_file']}: "
            f"{_safe(d['first_stderr_line'], 200)}"
        )
    if report["failures"]:
        print("  every failure:")
        for f in report["failures"]:
            print(f"    {f['kind']:<14} {f['command']:<8} {f['file']}: {_safe(f['first_stderr_line'], 150)}")
    print(f"  report: {report_path}")


def keep_failures(report: dict[str, Any], cases: list[Case], folder: Path) -> None:
    """Copy the failing inputs to ``folder`` (replaced on every run)."""
    shutil.rmtree(folder, ignore_errors=True)
    by_name = {c.name: c for c in cases}
    failing = {f["file"] for f in report["failures"]}
    if not failing:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for name in sorted(failing):
        case = by_name[name]
        if not case.generated:
            kept = f"not copied: {case.path}"
        elif case.path.stat().st_size > KEEP_FAILURE_MAX:
            note = folder / f"{name}.txt"
            note.write_text(f"{case.mutation}; {case.path.stat().st_size:,} bytes, regenerated by every fuzz run\n")
            kept = str(note)
        else:
            shutil.copyfile(case.path, folder / name)
            kept = str(folder / name)
        for f in report["failures"]:
            if f["file"] == name:
                f["kept_as"] = kept


# --------------------------------------------------------------------------- main


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=1000, help="mutated files to generate (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="generation seed (default 1)")
    parser.add_argument("--jobs", type=int, default=2, help="files run in parallel (default 2)")
    parser.add_argument("--portsim", default=".venv/bin/portsim", help="the portsim executable")
    parser.add_argument("--out", default="results/fuzz/report.json", help="report .json path, or a folder")
    parser.add_argument("--run-args", default="", help='extra arguments for "portsim run", e.g. "--no-plots"')
    parser.add_argument(
        "--limits",
        default="",
        help='limit options for both validate and run, e.g. "--max-attempts 500000": then what validate accepts, '
        "run must run (a disagreement fails)",
    )
    parser.add_argument("--scenarios", default=str(REPO / "scenarios"), help="folder of scenarios to mutate")
    parser.add_argument("--replay", metavar="DIR", help="run the files in DIR (e.g. results/fuzz/failures) instead")
    parser.add_argument("--keep-workdir", action="store_true", help="keep the temporary working directory")
    args = parser.parse_args(argv)
    if args.count < 0 or args.jobs < 1:
        parser.error("--count must be >= 0 and --jobs >= 1")
    return args


def _find_portsim(given: str) -> str:
    for candidate in (Path(given), REPO / given):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate.resolve())
    found = shutil.which(given)
    if found:
        return found
    raise SystemExit(f"fuzz: portsim executable not found: {given}")


def main(argv: list[str] | None = None) -> int:
    """Generate, run, check and report."""
    args = _parse(argv)
    portsim = _find_portsim(args.portsim)
    run_args = shlex.split(args.run_args)
    limits = shlex.split(args.limits)
    out = Path(args.out)
    report_path = out if out.suffix == ".json" else out / "report.json"
    env = {k: v for k, v in os.environ.items() if k != "PORTSIM_DEBUG"}
    env["MPLBACKEND"] = "Agg"
    workdir = Path(tempfile.mkdtemp(prefix="portsim-fuzz-"))
    inputs = workdir / "inputs"
    inputs.mkdir()
    started = time.monotonic()
    try:
        cases = (
            replay(Path(args.replay), inputs)
            if args.replay
            else generate(args.count, args.seed, Path(args.scenarios), inputs)
        )
        print(
            f"fuzz: {len(cases)} files in {workdir} ({time.monotonic() - started:.1f} s to generate); "
            f"running validate + run on each, {args.jobs} at a time, {portsim} {' '.join(run_args)}",
            flush=True,
        )
        outcomes: list[Outcome] = []
        every = max(1, len(cases) // 20)
        last_print = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run_case, c, portsim, run_args, workdir, env, limits) for c in cases]
            try:
                for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
                    outcomes.extend(future.result())
                    if done % every == 0 or done == len(cases) or time.monotonic() - last_print > 120:
                        last_print = time.monotonic()
                        failed = sum(len(o.failures) for o in outcomes)
                        print(
                            f"fuzz: {done}/{len(cases)} files, {time.monotonic() - started:.0f} s, "
                            f"{failed} failed check(s)",
                            flush=True,
                        )
            except BaseException:
                for f in futures:
                    f.cancel()
                CHILDREN.kill_all()
                raise
        outcomes.sort(key=lambda o: (o.file, o.command != "validate"))
        report = build_report(cases, outcomes, time.monotonic() - started, args.seed, args.count, run_args)
        keep_failures(report, cases, report_path.parent / "failures")
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print_report(report, report_path)
        disagreements = report["validate_run_disagreements"] if limits else []
        for pair in disagreements:
            print(f"fuzz: validate and run disagree (same limits): {pair}")
        return 1 if report["failed_checks"] or disagreements else 0
    finally:
        CHILDREN.kill_all()
        if args.keep_workdir:
            print(f"fuzz: kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
