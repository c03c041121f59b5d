"""Checks on uploaded files before anything touches the warehouse (issue 21).

An upload is copied to a private temp folder and measured on the way: its decompressed size (gzip is inflated
in a stream, never whole), its compression ratio and its longest line. A file over a limit is refused with
413 (size) or 400 (shape) and a message naming the upload, so a 512 KB gzip bomb costs a few MiB of memory and
a clear answer instead of a gigabyte and a 500. Limits come from the environment:

=================================  =========  ============================================================
variable                           default    what
=================================  =========  ============================================================
``CALLOPS_MAX_DECOMPRESSED_MB``    4096       bytes of all files of one upload after decompression
``CALLOPS_MAX_RATIO``              100        decompressed / compressed size of a gzip file (over 1 MiB)
``CALLOPS_MAX_LINE_KB``            1024       longest line of a text file
``CALLOPS_MAX_MAPPING_KB``         256        a mapping YAML sent with the upload
=================================  =========  ============================================================

Zstandard files cannot be inflated here (no reader in the standard library): they are refused over the API
(``callops ingest`` on the server reads them).
"""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from callops.api.errors import TooLargeError
from callops.errors import CallopsError

KIB, MIB = 1024, 1024 * 1024
CHUNK = MIB
RATIO_FLOOR = MIB  # small files may compress very well; the ratio is judged above this decompressed size


def _limit(name: str, default: float, unit: int) -> int:
    try:
        return int(float(os.environ.get(name, default)) * unit)
    except ValueError:
        return int(default * unit)


@dataclass(frozen=True)
class Limits:
    """The limits of one upload (read from the environment by :meth:`current`)."""

    decompressed: int
    ratio: float
    line: int
    mapping: int

    @classmethod
    def current(cls) -> Limits:
        """Limits from the environment (see the module docstring)."""
        return cls(
            decompressed=_limit("CALLOPS_MAX_DECOMPRESSED_MB", 4096, MIB),
            ratio=float(os.environ.get("CALLOPS_MAX_RATIO", 100) or 100),
            line=_limit("CALLOPS_MAX_LINE_KB", 1024, KIB),
            mapping=_limit("CALLOPS_MAX_MAPPING_KB", 256, KIB),
        )


def read_mapping(stream: BinaryIO, name: str, limits: Limits) -> str:
    """The text of an uploaded mapping file; 413 when it is over the limit."""
    data = stream.read(limits.mapping + 1)
    if len(data) > limits.mapping:
        raise TooLargeError(f"mapping {name}: over the limit of {limits.mapping // KIB} KiB")
    return data.decode("utf-8", errors="replace")


class _Lines:
    """Tracks the longest line across chunks of a text stream."""

    def __init__(self, name: str, limit: int) -> None:
        self.name, self.limit, self.run, self.line = name, limit, 0, 1

    def feed(self, chunk: bytes) -> None:
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            end = len(chunk) if nl < 0 else nl
            self.run += end - start
            if self.run > self.limit:
                raise CallopsError(f"{self.name}: line {self.line} is longer than {self.limit // KIB} KiB")
            if nl < 0:
                return
            self.run, self.line, start = 0, self.line + 1, nl + 1


def save_upload(stream: BinaryIO, dest: Path, name: str, limits: Limits, budget: list[int]) -> None:
    """Copy ``stream`` to ``dest`` checking size, ratio and line length; ``budget[0]``: decompressed bytes left."""
    head = stream.read(4)
    kind = "gzip" if head[:2] == b"\x1f\x8b" else "zstd" if head == b"\x28\xb5\x2f\xfd" else \
        "parquet" if head == b"PAR1" else "text"  # fmt: skip
    if kind == "zstd":
        raise CallopsError(f"{name}: zstd-compressed uploads are not accepted by the API; send gzip or plain text")
    lines = _Lines(name, limits.line) if kind != "parquet" else None
    inflate = zlib.decompressobj(wbits=47) if kind == "gzip" else None  # 47: gzip header, concatenated members
    packed = unpacked = 0

    def account(data: bytes) -> None:
        nonlocal unpacked
        unpacked += len(data)
        budget[0] -= len(data)
        if budget[0] < 0:
            raise TooLargeError(f"{name}: the upload is over {limits.decompressed // MIB} MiB once decompressed")
        if inflate is not None and unpacked > RATIO_FLOOR and unpacked > limits.ratio * max(packed, 1):
            raise TooLargeError(f"{name}: compression ratio over {limits.ratio:g}:1 (refused as a possible zip bomb)")
        if lines is not None:
            lines.feed(data)

    def pump(data: bytes) -> None:
        nonlocal inflate
        while data:
            try:
                out = inflate.decompress(data, CHUNK)  # type: ignore[union-attr]  # at most 1 MiB at a time
            except zlib.error:
                raise CallopsError(f"{name}: not a valid gzip file") from None
            account(out)
            if inflate.eof:  # type: ignore[union-attr]
                data = inflate.unused_data  # type: ignore[union-attr]  # another gzip member follows
                if data:
                    inflate = zlib.decompressobj(wbits=47)
            else:
                data = inflate.unconsumed_tail  # type: ignore[union-attr]

    with dest.open("wb") as out:
        chunk = head
        while chunk:
            out.write(chunk)
            packed += len(chunk)
            if inflate is None:
                account(chunk)
            else:
                pump(chunk)
            chunk = stream.read(CHUNK)


_DUCKDB_MARKERS = re.compile(r"\b(Error|Exception):|duckdb|Binder|Catalog|Parser|Conversion", re.IGNORECASE)


def public_message(text: str, names: dict[str, str], folder: str) -> str:
    """``text`` with temp paths replaced by upload names and engine details left out (those stay in the log)."""
    for path, name in sorted(names.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(path, name)
    text = text.replace(folder, "<upload>")
    head, _sep, tail = text.partition(": ")
    if _DUCKDB_MARKERS.search(tail):
        return f"{head}: the file could not be read as the mapping describes (details are in the server log)"
    return text
