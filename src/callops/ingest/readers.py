"""Readers: turn a source file into a DuckDB relation of text columns.

Every reader yields all columns as VARCHAR (typing is the mapping's job) and a
row ordinal ``_row`` in file order. Structural problems (wrong number of
fields, bad encoding, unparseable JSON) become rejects with the file line, so
the good rows of the same file still load.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import duckdb

from callops.errors import CallopsError
from callops.expressions import quote_identifier as qi
from callops.expressions import quote_literal as ql
from callops.ingest.mapping import Mapping

STRUCTURAL_REJECTS = "_structural_rejects"


@dataclass(frozen=True)
class Source:
    """A staged source: SQL selecting ``_file`` (index), ``_row`` and text columns.

    ``_row`` is the file line when ``row_is_line``; otherwise it is an ordinal
    in scan order and lines are recovered from it (see ``loader``). With ``row_from_rowid`` the source
    leaves ``_row`` empty and the loader fills it from the candidate table's rowid (the source must be
    the first one written to that table).
    """

    label: str
    select_sql: str
    columns: list[str]
    header_lines: int
    row_is_line: bool = False
    row_from_rowid: bool = False


def detect_format(path: Path, mapping: Mapping) -> str:
    """The reader to use: the mapping's ``format`` or one guessed from the file name."""
    if mapping.format != "auto":
        return mapping.format
    name = path.name.lower().removesuffix(".gz").removesuffix(".zst")
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "csv"


def open_sources(con: duckdb.DuckDBPyConnection, paths: list[Path], mapping: Mapping) -> list[Source]:
    """Prepare reading ``paths``: delimited files in one parallel scan, others one by one."""
    for path in paths:
        if not path.is_file():
            raise CallopsError(f"{path}: no such file")
    formats = [detect_format(p, mapping) for p in paths]
    sources = []
    try:
        csv_files = [(i, p) for i, (p, f) in enumerate(zip(paths, formats, strict=True)) if f == "csv"]
        if csv_files:
            sources.append(_csv(con, csv_files, mapping))
        for i, (p, f) in enumerate(zip(paths, formats, strict=True)):
            if f == "parquet":
                sources.append(_parquet(con, p, i))
            elif f == "jsonl":
                sources.append(_jsonl(con, p, i))
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise CallopsError(f"cannot read {', '.join(str(p) for p in paths)}: {first}") from None
    return sources


def _csv(con: duckdb.DuckDBPyConnection, files: list[tuple[int, Path]], mapping: Mapping) -> Source:
    opts = mapping.csv
    # The dialect is fixed here, not sniffed by DuckDB: its sniffer, shown a few malformed lines,
    # can settle on "no quoting" and then load every quoted field of the file with its quotes.
    first_lines = [_first_line(con, p, opts.encoding) for _, p in files]
    delim = opts.delimiter if opts.delimiter is not None else _guess_delimiter(first_lines[0], mapping)
    quote = opts.quote if opts.quote is not None else '"'
    width = len(_split(first_lines[0], delim, quote))
    if mapping.columns:
        columns = list(mapping.columns)
        if len(columns) != width:
            raise CallopsError(
                f"{files[0][1]}: mapping {mapping.name} names {len(columns)} columns but the file has {width}"
            )
    elif opts.header:
        columns = [c.strip() or f"column{i}" for i, c in enumerate(_split(first_lines[0], delim, quote))]
        dup = sorted({c for c in columns if columns.count(c) > 1})
        if dup:
            raise CallopsError(f"{files[0][1]}: the header repeats column name(s) {', '.join(dup)}")
    else:
        columns = [f"column{i}" for i in range(width)]
    if opts.header:
        for (_, p), line in zip(files[1:], first_lines[1:], strict=True):
            if line != first_lines[0]:
                raise CallopsError(f"{p}: its header differs from the header of {files[0][1]}")
    names = "[" + ", ".join(ql(str(p)) for _, p in files) + "]"
    types = "{" + ", ".join(f"{ql(c)}: 'VARCHAR'" for c in columns) + "}"
    args = [
        names,
        "auto_detect = false",
        f"columns = {types}",
        "filename = true",
        f"header = {str(opts.header).lower()}",
        f"delim = {ql(delim)}",
        f"quote = {ql(quote)}",
        f"escape = {ql(quote)}",
        "store_rejects = true",
        "rejects_table = '_rej_errors'",
        "rejects_scan = '_rej_scans'",
        f"encoding = {ql(opts.encoding)}",
        "strict_mode = true",
        "null_padding = false",
        # DuckDB accepts one field too many when that field equals the NULL string, so "A2,,Wu," would load
        # shifted. No unquoted field can be a newline (and quoted ones are never NULL here), so an extra field
        # is always rejected; empty fields become NULL below instead, as they did with the default NULL string.
        "nullstr = '\n'",
        "allow_quoted_nulls = false",
    ]
    reader = f"read_csv({', '.join(args)})"
    empty_as_null = ", ".join(f"nullif({qi(c)}, '') AS {qi(c)}" for c in columns)
    index = "CASE filename " + " ".join(f"WHEN {ql(str(p))} THEN {i}" for i, p in files) + " END"
    # The scan streams straight into the load's candidate table, in parallel. Insertion order is preserved, so
    # that table's rowid is the scan order (file order, then line order); the loader numbers the rows from it
    # (``row_from_rowid``) and recovers file lines from those numbers.
    return Source(
        label=", ".join(str(p) for _, p in files),
        select_sql=f"SELECT {index} AS _file, NULL::BIGINT AS _row, {empty_as_null} FROM {reader}",
        columns=columns,
        header_lines=1 if opts.header else 0,
        row_from_rowid=True,
    )


_DELIMITERS = (",", "\t", ";", "|")


def _first_line(con: duckdb.DuckDBPyConnection, path: Path, encoding: str) -> str:
    """The first line of a text file (plain, gzip or zstd), without reading the rest.

    Only this line is decoded, so a bad byte further down stays a reject of its own line.
    """
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic[:2] == b"\x1f\x8b":
        opener = gzip.open
    elif magic == b"\x28\xb5\x2f\xfd":  # zstd: no reader in the standard library, let DuckDB read it
        return _first_line_duckdb(con, path, encoding)
    else:
        opener = open
    with opener(path, "rb") as raw:
        if encoding == "utf-8":
            data = raw.readline()
            try:
                line = data.decode("utf-8-sig")
            except UnicodeError:
                raise CallopsError(f"{path}: the first line is not valid UTF-8") from None
        else:
            line = io.TextIOWrapper(raw, encoding=encoding, errors="replace").readline()
    line = line.rstrip("\r\n")
    if not line.strip():
        raise CallopsError(f"{path}: the first line is empty")
    return line


def _first_line_duckdb(con: duckdb.DuckDBPyConnection, path: Path, encoding: str) -> str:
    rows = con.execute(
        f"SELECT line FROM read_csv({ql(str(path))}, columns = {{'line': 'VARCHAR'}}, auto_detect = false, "
        f"header = false, delim = '\x01', quote = '', escape = '', encoding = {ql(encoding)}, "
        "strict_mode = false, ignore_errors = true) LIMIT 1"
    ).fetchall()
    if not rows or rows[0][0] is None:
        raise CallopsError(f"{path}: the file is empty")
    return rows[0][0]


def _split(line: str, delim: str, quote: str) -> list[str]:
    """Fields of one line under a dialect (RFC 4180 quoting)."""
    if quote:
        return next(csv.reader([line], delimiter=delim, quotechar=quote))
    return next(csv.reader([line], delimiter=delim, quoting=csv.QUOTE_NONE))


def _guess_delimiter(line: str, mapping: Mapping) -> str:
    """The delimiter that splits the first line into the expected (or else the most) fields."""
    counts = {d: len(_split(line, d, mapping.csv.quote or '"')) for d in _DELIMITERS}
    if mapping.columns:
        for d, n in counts.items():
            if n == len(mapping.columns):
                return d
    return max(_DELIMITERS, key=lambda d: counts[d])  # first candidate wins ties


def _parquet(con: duckdb.DuckDBPyConnection, path: Path, file_index: int) -> Source:
    reader = f"read_parquet({ql(str(path))}, file_row_number = true)"
    described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    columns = [r[0] for r in described if r[0] != "file_row_number"]
    casts = ", ".join(f"CAST({qi(c)} AS VARCHAR) AS {qi(c)}" for c in columns)
    return Source(
        label=str(path),
        select_sql=f"SELECT {file_index} AS _file, file_row_number + 1 AS _row, {casts} FROM {reader}",
        columns=columns,
        header_lines=0,
        row_is_line=True,
    )


def _jsonl(con: duckdb.DuckDBPyConnection, path: Path, file_index: int) -> Source:
    # Each line is read whole (JSON text never contains a raw \x01), numbered, then parsed per line,
    # so a broken line becomes a reject with its number instead of stopping the file.
    lines = (
        f"SELECT row_number() OVER () AS _row, line FROM read_csv({ql(str(path))}, "
        "columns = {'line': 'VARCHAR'}, delim = '\x01', quote = '', escape = '', header = false, "
        "all_varchar = true, strict_mode = false)"
    )
    view = f"_jsonl_lines_{file_index}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {view} AS {lines}")
    keys = con.execute(
        f"SELECT DISTINCT unnest(json_keys(line)) AS k FROM {view} "
        "WHERE json_valid(line) AND json_type(line) = 'OBJECT' ORDER BY k"
    ).fetchall()
    columns = [k[0] for k in keys]
    extracts = ", ".join(
        f"CASE WHEN json_type(line, {ql('$.' + _json_path(c))}) = 'NULL' THEN NULL "
        f"ELSE json_extract_string(line, {ql('$.' + _json_path(c))}) END AS {qi(c)}"
        for c in columns
    )
    con.execute(
        f"INSERT INTO {STRUCTURAL_REJECTS} SELECT {file_index}, _row, NULL, "
        "'line is not a JSON object', line FROM " + view + " WHERE line IS NOT NULL AND trim(line) <> '' "
        "AND (NOT json_valid(line) OR json_type(line) <> 'OBJECT')"
    )
    select = (
        f"SELECT {file_index} AS _file, _row{', ' + extracts if extracts else ''} FROM {view} "
        "WHERE line IS NOT NULL AND trim(line) <> '' AND json_valid(line) AND json_type(line) = 'OBJECT'"
    )
    return Source(label=str(path), select_sql=select, columns=columns, header_lines=0, row_is_line=True)


def _json_path(key: str) -> str:
    return '"' + key.replace('"', '\\"') + '"'


def collect_csv_rejects(con: duckdb.DuckDBPyConnection, paths: list[Path]) -> None:
    """Move DuckDB's CSV reader rejects into the structural rejects table (one per line)."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_rej_errors' AND temporary"
    ).fetchall()[0][0]
    if not exists:
        return
    index = "CASE s.file_path " + " ".join(f"WHEN {ql(str(p))} THEN {i}" for i, p in enumerate(paths)) + " END"
    con.execute(
        f"""INSERT INTO {STRUCTURAL_REJECTS}
        SELECT {index}, e.line, first(e.column_name ORDER BY e.column_idx),
               first(e.error_type || ': ' || e.error_message ORDER BY e.column_idx), first(e.csv_line)
        FROM _rej_errors e JOIN _rej_scans s USING (scan_id, file_id) GROUP BY ALL"""
    )
