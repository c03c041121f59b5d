"""Compile a mapping into one SQL query: parse, skip, derive, type and validate.

The query reads a staged source (``_row`` plus text columns) and returns, per
row, the canonical columns, their ``_hash``, ``_skip`` (the skip reason, if a skip rule matched)
and ``_err`` (``column<US>reason`` of the first problem in a required or key column, if any), ``_warn``
(``column<US>reason<US>raw value`` of each problem in another column, which is then left empty, joined by
record separators) and ``_raw``
(the source fields, only for skipped or rejected rows). All checks are SQL over
whole columns, so validation costs one pass of DuckDB, not a Python loop.
"""

from __future__ import annotations

import sqlglot
from sqlglot import expressions as exp

from callops import schema
from callops.errors import CallopsError
from callops.expressions import compile_expression, time_functions
from callops.expressions import quote_identifier as qi
from callops.expressions import quote_literal as ql
from callops.ingest.mapping import DATE_FORMATS, Mapping, ParseSpec
from callops.names import NAME_COLUMNS, NAME_PATTERN, NAME_RULE

SEP = "chr(31)"  # separates column and reason inside _err (and column, reason and raw value inside a warning)
WSEP = "chr(30)"  # separates the warnings of one row inside _warn
# An offset after the time of day; a bare date such as 2024-07-15 has none (its "-15" is the day).
_OFFSET = r"\d:\d{2}(:\d{2}(\.\d*)?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)$"
_INT = r"[+-]?\d+"
_FLOAT = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"


# Plain shapes that most files use, with no surrounding space: for such text a bare cast gives exactly what the
# full parser (``_exact_parse_sql``: trim, looser patterns) gives, and costs a fraction of it, so the full parser
# runs only for the other values. tests/ingest/test_mappings.py checks the equality on generated text.
_PLAIN_INT = r"-?[0-9]{1,18}"
_PLAIN_FLOAT = r"-?[0-9]{1,15}(\.[0-9]{1,15})?"
# 2026-01-01T08:00:00+08:00, the form most exports write: a fixed-width strptime is as cheap as a cast.
_PLAIN_TS_FORMAT, _PLAIN_TS_WIDTH = "%Y-%m-%dT%H:%M:%S%z", 25
# What surrounds a value without being part of it: the characters of Python's str.isspace() (the reader strips
# lines with str.strip()) -- tabs, CR/LF, no-break and ideographic spaces -- less the information separators
# 0x1c-0x1f. DuckDB's one-argument trim() removes spaces only, so a field of tabs read as a bad number.
BLANKS = " \t\n\x0b\x0c\r\x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"


def trim_sql(value: str) -> str:
    """SQL of the text ``value`` without the :data:`BLANKS` at either end (empty when it is only blanks)."""
    return f"trim({value}, {ql(BLANKS)})"


def parse_sql(value: str, spec: ParseSpec, timezone: str) -> str:
    """SQL turning the text ``value`` into a typed value, or NULL when it does not parse."""
    exact = _exact_parse_sql(value, spec, timezone)
    match spec.type, spec.format:
        case "int", _:
            plain = f"regexp_full_match({value}, {ql(_PLAIN_INT)})"
            return f"CASE WHEN {plain} THEN CAST({value} AS BIGINT) ELSE {exact} END"
        case "float", _:
            plain = f"regexp_full_match({value}, {ql(_PLAIN_FLOAT)})"
            return f"CASE WHEN {plain} THEN CAST({value} AS DOUBLE) ELSE {exact} END"
        case "bool", _:
            return f"CASE {value} WHEN 'true' THEN true WHEN 'false' THEN false ELSE {exact} END"
        case "timestamp", None | "iso8601":
            fixed = f"try_strptime({value}, {ql(_PLAIN_TS_FORMAT)})"
            # coalesce runs the full parser only where the plain one gave nothing
            return f"coalesce(CASE WHEN strlen({value}) = {_PLAIN_TS_WIDTH} THEN {fixed} END, {exact})"
    return exact


def _exact_parse_sql(value: str, spec: ParseSpec, timezone: str) -> str:
    """The full parser of ``spec``: trims the text and accepts every form the format allows."""
    v = trim_sql(value)
    zone = ql(timezone)
    match spec.type:
        case "string":
            return value
        case "int":
            # DuckDB's cast alone would round '1.5' and read '0x10' or '1_000'; accept plain integers only.
            return f"CASE WHEN regexp_full_match({v}, {ql(_INT)}) THEN TRY_CAST({v} AS BIGINT) END"
        case "float":
            # Plain decimal or scientific notation only: no 'nan', 'inf', hex or digit separators.
            return f"CASE WHEN regexp_full_match({v}, {ql(_FLOAT)}) THEN TRY_CAST({v} AS DOUBLE) END"
        case "bool":
            # CASE, not IN: DuckDB turns an IN list into a join over every row, outside the caller's CASE
            return (
                f"CASE lower({v}) WHEN 'true' THEN true WHEN 't' THEN true WHEN '1' THEN true WHEN 'yes' THEN true "
                f"WHEN 'y' THEN true WHEN 'false' THEN false WHEN 'f' THEN false WHEN '0' THEN false "
                f"WHEN 'no' THEN false WHEN 'n' THEN false END"
            )
        case "date":
            fmt = DATE_FORMATS.get(spec.format or "iso", spec.format or "%Y-%m-%d")
            return f"CAST(try_strptime({v}, {ql(fmt)}) AS DATE)"
        case "clock" | "duration":
            limit = "< 86400" if spec.type == "clock" else ">= 0"
            if spec.format == "h:mm":
                hms = f"CAST(split_part({v}, ':', 1) AS BIGINT) * 3600 + CAST(split_part({v}, ':', 2) AS BIGINT) * 60"
                pattern = r"\d{1,3}:[0-5]\d"
            else:
                hms = (
                    f"CAST(split_part({v}, ':', 1) AS BIGINT) * 3600 + CAST(split_part({v}, ':', 2) AS BIGINT) * 60"
                    f" + CAST(split_part({v}, ':', 3) AS BIGINT)"
                )
                pattern = r"\d{1,3}:[0-5]\d:[0-5]\d"
            plain = f"WHEN regexp_full_match({v}, '\\d+') THEN CAST({v} AS BIGINT) " if spec.type == "duration" else ""
            parsed = f"CASE WHEN regexp_full_match({v}, {ql(pattern)}) THEN {hms} {plain}END"
            return f"CASE WHEN ({parsed}) {limit} THEN ({parsed}) END"
        case "timestamp":
            fmt = spec.format or "iso8601"
            if fmt == "iso8601":
                return (
                    f"CASE WHEN regexp_matches({v}, {ql(_OFFSET)}) THEN TRY_CAST({v} AS TIMESTAMPTZ) "
                    f"ELSE timezone({zone}, TRY_CAST({v} AS TIMESTAMP)) END"
                )
            if fmt == "epoch_s":
                return f"to_timestamp(TRY_CAST({v} AS DOUBLE))"
            if fmt == "epoch_ms":
                return f"to_timestamp(TRY_CAST({v} AS DOUBLE) / 1000)"
            if "%z" in fmt or "%Z" in fmt:
                return f"try_strptime({v}, {ql(fmt)})"
            return f"timezone({zone}, try_strptime({v}, {ql(fmt)}))"
    raise CallopsError(f"unknown parser type {spec.type}")  # pragma: no cover - Literal guards it


def _constant_sql(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return ql(value)


def build_query(
    mapping: Mapping,
    table: schema.Table,
    source_sql: str,
    source_columns: list[str],
    timezone: str,
    file_label: str,
) -> str:
    """The full SQL for one staged source under ``mapping`` into ``table``."""
    zone = mapping.timezone or timezone
    unknown = [c for c in mapping.parse if c not in source_columns]
    if unknown:
        raise CallopsError(
            f"{file_label}: mapping {mapping.name} parses column(s) {', '.join(unknown)} that the file does not have "
            f"(file columns: {', '.join(source_columns)})"
        )
    missing_attrs = [c for c in mapping.attributes if c not in source_columns]
    if missing_attrs:
        raise CallopsError(
            f"{file_label}: mapping {mapping.name} keeps attribute column(s) {', '.join(missing_attrs)} that the "
            f"file does not have (file columns: {', '.join(source_columns)})"
        )
    derived = table.sequence[0] if mapping.derives_sequence(table) else None  # numbered later, see sequence_sql
    raw_names = {c: f"_raw${c}" for c in source_columns}

    # Layer 1: typed source columns under their own names, raw text kept beside them.
    parsed_cols = ["_file", "_row"]
    for col in source_columns:
        spec = mapping.parse.get(col)
        parsed_cols.append(f"{parse_sql(qi(col), spec, zone) if spec else qi(col)} AS {qi(col)}")
        parsed_cols.append(f"{qi(col)} AS {qi(raw_names[col])}")

    funcs = time_functions(zone)
    label = f"mapping {mapping.name}"

    def expr(text: str, what: str) -> str:
        return compile_expression(text, source_columns, functions=funcs, what=f"{label}: {what}")

    # Layer 2: skip reason, parse errors, derived fields (untyped).
    skip_sql = "NULL"
    if mapping.skip:
        whens = " ".join(f"WHEN ({expr(r.when, f'skip {r.reason!r}')}) THEN {ql(r.reason)}" for r in mapping.skip)
        skip_sql = f"CASE {whens} END"
    # A source field that does not parse rejects the row only when a required or key column is made from it
    # (the row cannot be placed); any other such field is left empty and recorded as a warning.
    key = mapping.natural_key(table)
    needed = {c.name for c in table.columns if c.required or c.name in key}
    needed_sources = set().union(*(_referenced(mapping.fields[c]) for c in needed if c in mapping.fields))
    perr_whens, pwarn_parts = [], []
    for col, spec in mapping.parse.items():
        if spec.type == "string":
            continue
        raw = qi(raw_names[col])
        # cheapest test first: almost every value parsed, and the trim is then never evaluated
        bad = f"{qi(col)} IS NULL AND {raw} IS NOT NULL AND {trim_sql(raw)} <> ''"
        kind = "cannot parse as " + spec.describe()
        if col in needed_sources:
            perr_whens.append(f"WHEN {bad} THEN {_reason(col, kind, raw)}")
        else:
            reason = f"{ql(kind + ': ')} || {raw}"
            pwarn_parts.append(f"CASE WHEN {bad} THEN {_warning(col, reason, raw)} END")
    perr_sql = f"CASE {' '.join(perr_whens)} END" if perr_whens else "NULL"
    pwarn_sql = _joined(pwarn_parts)
    shaped_cols = ["_file", "_row", f"{skip_sql} AS _skip", f"{perr_sql} AS _perr", f"{pwarn_sql} AS _pwarn"]
    shaped_cols += [qi(raw_names[c]) for c in source_columns]
    for col in table.columns:
        if col.name in mapping.fields:
            value = expr(mapping.fields[col.name], f"field {col.name}")
        elif col.name in mapping.constants:
            value = _constant_sql(mapping.constants[col.name])
        elif col.name == "attributes" and mapping.attributes:
            value = "CAST(json_object(" + ", ".join(f"{ql(a)}, {qi(a)}" for a in mapping.attributes) + ") AS VARCHAR)"
        else:
            value = "NULL"
        shaped_cols.append(f"{value} AS {qi('_x$' + col.name)}")

    # Layer 3: cast to the canonical types.
    typed_cols = ["_file", "_row", "_skip", "_perr", "_pwarn"] + [qi(raw_names[c]) for c in source_columns]
    for col in table.columns:
        x = qi("_x$" + col.name)
        typed_cols.append(x)
        typed_cols.append(f"TRY_CAST({x} AS {col.type.sql}) AS {qi(col.name)}")

    # Layer 4: validation. A problem in a required or key column rejects the row (the first failing check is its
    # reason, "kind: detail"); a problem in any other column empties that column and records a warning.
    problems: dict[str, list[tuple[str, str, str]]] = {c.name: [] for c in table.columns}  # (when, kind, detail)
    for col in table.columns:
        c, x = qi(col.name), qi("_x$" + col.name)
        problems[col.name].append((f"{x} IS NOT NULL AND {c} IS NULL", "cannot convert to " + col.type.value,
                                   f"CAST({x} AS VARCHAR)"))  # fmt: skip
    fatal: list[str] = []
    for col in table.columns:
        c = qi(col.name)
        if col.name in needed and col.name != derived:
            fatal.append(f"WHEN {c} IS NULL THEN {_reason(col.name, 'required value missing')}")
        if col.enum:
            allowed = ", ".join(ql(v) for v in col.enum)
            detail = f"{c} || {ql(' (allowed: ' + ', '.join(col.enum) + ')')}"
            problems[col.name].append((f"{c} NOT IN ({allowed})", "not an allowed value", detail))
        if col.non_negative:
            problems[col.name].append((f"{c} < 0", "negative value", f"CAST({c} AS VARCHAR)"))
        if col.name in NAME_COLUMNS and col.type == schema.ColumnType.STRING:  # names shown in the console (issue 21)
            problems[col.name].append((f"NOT regexp_full_match({c}, {ql(NAME_PATTERN)})", "not an allowed name",
                                       ql(NAME_RULE)))  # fmt: skip
    for earlier, later in table.ordered:
        e, lt = qi(earlier), qi(later)
        detail = f"CAST({lt} AS VARCHAR) || ' < ' || CAST({e} AS VARCHAR)"
        # the later time is the one emptied, unless it is required and the earlier is not
        target = earlier if later in needed and earlier not in needed else later
        problems[target].append((f"{lt} < {e}", f"{later} is before {earlier}", detail))
    conversions = [f"WHEN {w} THEN {_reason(name, k, d)}" for name in needed for w, k, d in problems[name][:1]]
    others = [f"WHEN {w} THEN {_reason(name, k, d)}" for name in needed for w, k, d in problems[name][1:]]
    checks = conversions + fatal + others
    err_sql = f"CASE WHEN _skip IS NOT NULL THEN NULL WHEN _perr IS NOT NULL THEN _perr {' '.join(checks)} END"
    warn_cols = [c.name for c in table.columns if c.name not in needed]
    wreason = {
        name: "CASE " + " ".join(f"WHEN {w} THEN {ql(k + ': ')} || {d}" for w, k, d in problems[name]) + " END"
        for name in warn_cols
    }
    judged_cols = ["*", f"{err_sql} AS _err"] + [f"{wreason[n]} AS {qi('_w$' + n)}" for n in warn_cols]
    warn_parts = ["_pwarn"] + [
        f"CASE WHEN {qi('_w$' + n)} IS NOT NULL THEN "
        f"{_warning(n, qi('_w$' + n), 'CAST(' + qi('_x$' + n) + ' AS VARCHAR)')} END"
        for n in warn_cols
    ]
    kept = [
        f"CASE WHEN {qi('_w$' + c.name)} IS NULL THEN {qi(c.name)} END AS {qi(c.name)}" if c.name in warn_cols
        else qi(c.name)
        for c in table.columns
    ]
    raw_struct = "concat_ws(' | ', " + ", ".join(
        f"{ql(c + '=')} || coalesce({qi(raw_names[c])}, '')" for c in source_columns
    ) + ")"
    canon = ", ".join(qi(c.name) for c in table.columns)
    return f"""
WITH src AS ({source_sql}),
parsed AS (SELECT {', '.join(parsed_cols)} FROM src),
shaped AS (SELECT {', '.join(shaped_cols)} FROM parsed),
typed AS (SELECT {', '.join(typed_cols)} FROM shaped),
judged AS (SELECT {', '.join(judged_cols)} FROM typed),
checked AS (SELECT _file, _row, _skip, _err, {', '.join(qi(raw_names[c]) for c in source_columns)},
                   CASE WHEN _err IS NULL AND _skip IS NULL THEN {_joined(warn_parts)} END AS _warn,
                   {', '.join(kept)} FROM judged)
SELECT _file, _row, _skip, _err, _warn, {canon}, hash({canon}) AS _hash,
       CASE WHEN _err IS NOT NULL THEN {raw_struct} END AS _raw
FROM checked"""


def _referenced(text: str) -> set[str]:
    """Source columns an expression of a mapping reads."""
    return {c.name for c in sqlglot.parse_one(text, read="duckdb").find_all(exp.Column)}


def _warning(column: str, reason_sql: str, raw_sql: str) -> str:
    """SQL for one warning: the column, the reason and the raw value, separated by unit separators."""
    return f"{ql(column)} || {SEP} || {reason_sql} || {SEP} || coalesce({raw_sql}, '')"


def _joined(parts: list[str]) -> str:
    """SQL joining the non-NULL warnings of ``parts`` with record separators; NULL when there are none."""
    return f"nullif(concat_ws({WSEP}, {', '.join(parts)}), '')" if parts else "NULL"


def sequence_sql(table: schema.Table, candidates: str = "_cand", good: str = "_err IS NULL AND _skip IS NULL") -> str:
    """SQL numbering the good candidate rows of each group (``table.sequence``) from 0, and their row hash again.

    Order: the time column, then the order in the files (source, file, row): ties in time keep file order.
    """
    if table.sequence is None:
        raise CallopsError(f"{table.name} has no sequence column")
    seq, group, ts = (qi(c) for c in table.sequence)
    canon = ", ".join("d._n" if c.name == table.sequence[0] else f"c.{qi(c.name)}" for c in table.columns)
    return f"""UPDATE {candidates} SET {seq} = d._n, _hash = d._h FROM (
        SELECT c._src, c._file, c._row, d._n, hash({canon}) AS _h FROM {candidates} c JOIN (
          SELECT _src, _file, _row,
                 row_number() OVER (PARTITION BY {group} ORDER BY {ts}, _src, _file, _row) - 1 AS _n
          FROM {candidates} WHERE {good}) d USING (_src, _file, _row)) d
      WHERE {candidates}._src = d._src AND {candidates}._file = d._file AND {candidates}._row = d._row"""


def _reason(column: str, kind: str, detail_sql: str | None = None) -> str:
    """SQL for an ``_err`` value: the column, a unit separator, then ``kind: detail``."""
    text = f"{ql(column)} || {SEP} || {ql(kind)}"
    return f"{text} || ': ' || {detail_sql}" if detail_sql else text
