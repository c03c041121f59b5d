"""Compile a mapping into one SQL query: parse, skip, derive, type and validate.

The query reads a staged source (``_row`` plus text columns) and returns, per
row, the canonical columns, their ``_hash``, ``_skip`` (the skip reason, if a skip rule matched)
and ``_err`` (``column<US>reason`` of the first problem, if any) and ``_raw``
(the source fields, only for skipped or rejected rows). All checks are SQL over
whole columns, so validation costs one pass of DuckDB, not a Python loop.
"""

from __future__ import annotations

from callops import schema
from callops.errors import CallopsError
from callops.expressions import compile_expression, time_functions
from callops.expressions import quote_identifier as qi
from callops.expressions import quote_literal as ql
from callops.ingest.mapping import DATE_FORMATS, Mapping, ParseSpec

SEP = "chr(31)"  # separates column and reason inside _err
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
    v = f"trim({value})"
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
    perr_whens = []
    for col, spec in mapping.parse.items():
        if spec.type == "string":
            continue
        raw = qi(raw_names[col])
        perr_whens.append(
            # cheapest test first: almost every value parsed, and the trim is then never evaluated
            f"WHEN {qi(col)} IS NULL AND {raw} IS NOT NULL AND trim({raw}) <> '' "
            f"THEN {_reason(col, 'cannot parse as ' + spec.describe(), raw)}"
        )
    perr_sql = f"CASE {' '.join(perr_whens)} END" if perr_whens else "NULL"
    shaped_cols = ["_file", "_row", f"{skip_sql} AS _skip", f"{perr_sql} AS _perr"]
    shaped_cols += [qi(raw_names[c]) for c in source_columns]
    for col in table.columns:
        if col.name in mapping.fields:
            value = expr(mapping.fields[col.name], f"field {col.name}")
        elif col.name in mapping.constants:
            value = _constant_sql(mapping.constants[col.name])
        else:
            value = "NULL"
        shaped_cols.append(f"{value} AS {qi('_x$' + col.name)}")

    # Layer 3: cast to the canonical types.
    typed_cols = ["_file", "_row", "_skip", "_perr"] + [qi(raw_names[c]) for c in source_columns]
    for col in table.columns:
        x = qi("_x$" + col.name)
        typed_cols.append(x)
        typed_cols.append(f"TRY_CAST({x} AS {col.type.sql}) AS {qi(col.name)}")

    # Layer 4: validation, first failing check wins. Reasons read "kind: detail".
    checks: list[str] = []
    for col in table.columns:
        c, x = qi(col.name), qi("_x$" + col.name)
        detail = f"CAST({x} AS VARCHAR)"
        reason = _reason(col.name, "cannot convert to " + col.type.value, detail)
        checks.append(f"WHEN {x} IS NOT NULL AND {c} IS NULL THEN {reason}")
    key = mapping.natural_key(table)
    for col in table.columns:
        c = qi(col.name)
        if col.required or col.name in key:
            checks.append(f"WHEN {c} IS NULL THEN {_reason(col.name, 'required value missing')}")
        if col.enum:
            allowed = ", ".join(ql(v) for v in col.enum)
            detail = f"{c} || {ql(' (allowed: ' + ', '.join(col.enum) + ')')}"
            checks.append(f"WHEN {c} NOT IN ({allowed}) THEN {_reason(col.name, 'not an allowed value', detail)}")
        if col.non_negative:
            checks.append(f"WHEN {c} < 0 THEN {_reason(col.name, 'negative value', f'CAST({c} AS VARCHAR)')}")
    for earlier, later in table.ordered:
        e, lt = qi(earlier), qi(later)
        detail = f"CAST({lt} AS VARCHAR) || ' < ' || CAST({e} AS VARCHAR)"
        checks.append(f"WHEN {lt} < {e} THEN {_reason(later, f'{later} is before {earlier}', detail)}")
    err_sql = f"CASE WHEN _skip IS NOT NULL THEN NULL WHEN _perr IS NOT NULL THEN _perr {' '.join(checks)} END"
    raw_struct = "concat_ws(' | ', " + ", ".join(
        f"{ql(c + '=')} || coalesce({qi(raw_names[c])}, '')" for c in source_columns
    ) + ")"
    canon = ", ".join(qi(c.name) for c in table.columns)
    return f"""
WITH src AS ({source_sql}),
parsed AS (SELECT {', '.join(parsed_cols)} FROM src),
shaped AS (SELECT {', '.join(shaped_cols)} FROM parsed),
typed AS (SELECT {', '.join(typed_cols)} FROM shaped),
checked AS (SELECT *, {err_sql} AS _err FROM typed)
SELECT _file, _row, _skip, _err, {canon}, hash({canon}) AS _hash,
       CASE WHEN _err IS NOT NULL THEN {raw_struct} END AS _raw
FROM checked"""


def _reason(column: str, kind: str, detail_sql: str | None = None) -> str:
    """SQL for an ``_err`` value: the column, a unit separator, then ``kind: detail``."""
    text = f"{ql(column)} || {SEP} || {ql(kind)}"
    return f"{text} || ': ' || {detail_sql}" if detail_sql else text
