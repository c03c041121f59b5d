"""Adapters: Python readers for event logs whose rows must be paired up before loading.

An adapter turns source files into candidate rows of one canonical table, in
canonical column names with text values (timestamps ISO-8601 with an offset),
plus the structural rejects and skipped records it found. The loader then
validates those rows with the canonical mapping, like any other file.

Accounting: ``records_read`` = lines read; every line is either folded into a
row, rejected or skipped (with a reason).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from callops.errors import CallopsError


@dataclass(frozen=True)
class AdapterReject:
    """A source record the adapter could not use."""

    file: str  # str(path) exactly as given to the adapter
    line: int
    column: str | None
    reason: str
    raw: str


@dataclass
class AdapterOutput:
    """Candidate rows and bookkeeping from one adapter run.

    ``rows`` has ``_file`` (int32: index into the paths given), ``_line`` (int64:
    the line that completed the row, unique within a file) and canonical
    columns as strings; ``columns`` lists those canonical column names.
    """

    rows: pa.Table
    columns: list[str]
    rejects: list[AdapterReject] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    records_read: int = 0


AdapterFn = Callable[[list[Path], str, str], AdapterOutput]


def _registry() -> dict[str, AdapterFn]:
    from callops.ingest.adapters.asterisk import read_queue_log

    return {"asterisk_queue_log": read_queue_log}


def run(name: str, paths: list[Path], table: str, timezone: str) -> AdapterOutput:
    """Run adapter ``name`` over ``paths`` for canonical ``table``; ``timezone`` is the tenant's zone."""
    registry = _registry()
    if name not in registry:
        raise CallopsError(f"unknown adapter {name!r}; known: {', '.join(registry)}")
    for p in paths:
        if not Path(p).is_file():
            raise CallopsError(f"{p}: no such file")
    return registry[name](list(paths), table, timezone)
