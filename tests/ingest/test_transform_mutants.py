"""Survivors and "no tests" mutants of ``ingest/transform.py`` (tools/mutate.py transform, docs/testing.md).

``build_query`` and its helpers run here on DuckDB over in-memory rows (no file loads, so a mutant costs little):
parsed values are compared with Python's own parsing, and each rejected or warned row with the file, row, column
and reason written out by hand from the documented rules.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest

from callops import schema
from callops.errors import CallopsError
from callops.expressions import quote_identifier as qi
from callops.expressions import quote_literal as ql
from callops.ingest.mapping import ParseSpec, parse_mapping
from callops.ingest.transform import build_query, parse_sql, sequence_sql
from callops.names import NAME_RULE


def test_sequence_sql_needs_a_sequence_column() -> None:
    """A table without a sequence column cannot be numbered: the error names it."""
    table = next(t for t in schema.TABLES.values() if t.sequence is None)
    with pytest.raises(CallopsError, match=f"^{table.name} has no sequence column$"):
        sequence_sql(table)


US, RS = "\x1f", "\x1e"  # unit and record separators inside _err / _warn


def _source(columns: list[str], rows: list[tuple[str | None, ...]], files: list[int] | None = None,
            numbers: list[int] | None = None) -> str:  # fmt: skip
    """SQL staging ``rows`` as a reader does: ``_file``, ``_row`` and text columns (file 0, rows 1..n unless
    given)."""
    files = files or [0] * len(rows)
    numbers = numbers or list(range(1, len(rows) + 1))
    lit = [", ".join([str(f), str(n)] + ["NULL::VARCHAR" if v is None else f"{ql(v)}::VARCHAR" for v in row])
           for f, n, row in zip(files, numbers, rows, strict=True)]  # fmt: skip
    names = ", ".join(["_file", "_row"] + [qi(c) for c in columns])
    return f"SELECT * FROM (VALUES {', '.join(f'({r})' for r in lit)}) AS t({names})"


def _con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def _run(mapping_yaml: str, columns: list[str], rows: list[tuple[str | None, ...]], timezone: str = "UTC",
         label: str = "f.csv") -> list[dict[str, Any]]:  # fmt: skip
    """``build_query`` over ``rows`` (text, as a reader stages them: file 0, rows 1..n), in order of ``_row``."""
    mapping = parse_mapping(mapping_yaml)
    table = schema.TABLES[mapping.table]
    sql = build_query(mapping, table, _source(columns, rows), columns, timezone, label)
    cur = _con().execute(f"SELECT * FROM ({sql}) ORDER BY _row")
    keys = [d[0] for d in cur.description]
    return [dict(zip(keys, r, strict=True)) for r in cur.fetchall()]


STATES_MAPPING = """
name: m1
table: agent_states
parse:
  t0: {type: timestamp}
  t1: {type: timestamp}
  n: {type: int}
fields: {agent_id: id, state: st, reason: why, queue: q, started_at: t0, ended_at: t1}
skip:
  - {when: "st = 'skipme'", reason: test row}
  - {when: "st = 'skip2'", reason: other}
"""
STATES_COLUMNS = ["id", "st", "why", "q", "t0", "t1", "n"]
A, B = "2024-01-01T08:00:00+00:00", "2024-01-01T09:00:00+00:00"


def _utc(h: int, m: int = 0) -> datetime:
    return datetime(2024, 1, 1, h, m, tzinfo=UTC)


def test_build_query_types_skips_rejects_and_warns_row_by_row() -> None:
    """Each row's outcome written out from the documented rules: a problem in a required or key column rejects
    the row (``column<US>kind: detail``, the first failing check), a problem elsewhere empties that column and
    warns (``column<US>reason<US>raw``, joined by RS); skipped rows carry their reason; rejected rows their raw
    fields; the hash is DuckDB's hash of the canonical columns."""
    allowed = "ready, busy, acw, aux, offline"
    rows = [
        ("a1", "ready", None, "q1", A, B, "5"),                     # 1 good
        ("a2", "skipme", None, "q1", A, B, "5"),                    # 2 skipped
        ("a3", "ready", "r", "q1", "nope", B, "5"),                 # 3 t0 does not parse: rejected
        ("a4", "busy", None, "q1", A, B, "x5"),                     # 4 n does not parse: a warning
        ("a5", "sleeping", None, "q1", A, B, None),                 # 5 not an allowed state: rejected
        ("a6", "ready", None, "q1", B, A, " 7 "),                   # 6 ended before started: ended_at emptied
        (None, "ready", None, "q1", A, B, None),                    # 7 no agent: rejected
        ("a8", "ready", None, "q\x07", A, B, None),                 # 8 a queue name with a control character
        ("a9", "ready", None, None, "  ", B, None),                 # 9 blank start: required value missing
        (None, "sleeping", None, None, A, B, None),                 # 10 two problems: the missing key first
        ("a11", "skip2", None, "q1", "nope", B, None),              # 11 skipped before it is judged
        ("a12", "aux", None, "q1", "2024-01-01 08:00:00", "nope", "1"),  # 12 naive time (UTC); bad optional end
    ]  # fmt: skip
    out = _run(STATES_MAPPING, STATES_COLUMNS, rows)
    assert [r["_row"] for r in out] == list(range(1, 13)) and {r["_file"] for r in out} == {0}
    err = {r["_row"]: r["_err"] for r in out if r["_err"] is not None}
    assert err == {
        3: f"t0{US}cannot parse as timestamp: nope",
        5: f"state{US}not an allowed value: sleeping (allowed: {allowed})",
        7: f"agent_id{US}required value missing",
        9: f"started_at{US}required value missing",
        10: f"agent_id{US}required value missing",
    }
    assert {r["_row"]: r["_skip"] for r in out if r["_skip"] is not None} == {2: "test row", 11: "other"}
    warn = {r["_row"]: r["_warn"] for r in out if r["_warn"] is not None}
    assert warn == {
        4: f"n{US}cannot parse as int: x5{US}x5",
        6: f"ended_at{US}ended_at is before started_at: 2024-01-01 08:00:00+00 < 2024-01-01 09:00:00+00"
           f"{US}2024-01-01 08:00:00+00",
        8: f"queue{US}not an allowed name: {NAME_RULE}{US}q\x07",
        12: f"t1{US}cannot parse as timestamp: nope{US}nope",
    }
    good = {r["_row"]: r for r in out if r["_err"] is None and r["_skip"] is None}
    assert sorted(good) == [1, 4, 6, 8, 12]
    cols = ("agent_id", "state", "reason", "queue", "started_at", "ended_at")
    assert [tuple(good[i][c] for c in cols) for i in sorted(good)] == [
        ("a1", "ready", None, "q1", _utc(8), _utc(9)),
        ("a4", "busy", None, "q1", _utc(8), _utc(9)),
        ("a6", "ready", None, "q1", _utc(9), None),
        ("a8", "ready", None, None, _utc(8), _utc(9)),
        ("a12", "aux", None, "q1", _utc(8), None),
    ]
    raw = {r["_row"]: r["_raw"] for r in out if r["_raw"] is not None}
    assert raw == {
        3: f"id=a3 | st=ready | why=r | q=q1 | t0=nope | t1={B} | n=5",
        5: f"id=a5 | st=sleeping | why= | q=q1 | t0={A} | t1={B} | n=",
        7: f"id= | st=ready | why= | q=q1 | t0={A} | t1={B} | n=",
        9: f"id=a9 | st=ready | why= | q= | t0=   | t1={B} | n=",
        10: f"id= | st=sleeping | why= | q= | t0={A} | t1={B} | n=",
    }
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for r in out:
        values = [r[c] for c in cols]
        expected = con.execute(f"SELECT hash({', '.join('?::' + t for t in ('VARCHAR',) * 4 + ('TIMESTAMPTZ',) * 2)})",
                               values).fetchone()[0]  # fmt: skip
        assert r["_hash"] == expected, r["_row"]
    assert list(out[0]) == ["_file", "_row", "_skip", "_err", "_warn", *cols, "_hash", "_raw"]


def test_a_mapping_key_makes_its_columns_reject_instead_of_warn() -> None:
    """With ``key: [agent_id, started_at, queue]`` the queue is needed: a bad queue name rejects the row."""
    mapping = STATES_MAPPING + "key: [agent_id, started_at, queue]\n"
    out = _run(mapping, STATES_COLUMNS, [("a1", "ready", None, "q\x07", A, B, None), ("a2", "ready", None, None, A,
                                                                                     B, None)])  # fmt: skip
    assert [r["_err"] for r in out] == [f"queue{US}not an allowed name: {NAME_RULE}",
                                        f"queue{US}required value missing"]
    assert [r["_warn"] for r in out] == [None, None]


@pytest.mark.parametrize(
    ("mapping_zone", "load_zone", "hour"),
    [(None, "UTC", (1, 8)), (None, "Asia/Tokyo", (0, 23)), ("Asia/Tokyo", "UTC", (0, 23)),
     ("UTC", "Asia/Tokyo", (1, 8))],
)
def test_naive_times_read_in_the_mapping_zone_else_the_load_zone(mapping_zone: str | None, load_zone: str,
                                                                hour: tuple[int, int]) -> None:  # fmt: skip
    """08:00 without an offset is 08:00 in the mapping's ``timezone`` if it has one, else in the tenant's (Python's
    zoneinfo: Tokyo is UTC+9, so 2023-12-31 23:00 UTC)."""
    text = STATES_MAPPING + (f"timezone: {mapping_zone}\n" if mapping_zone else "")
    (row,) = _run(text, STATES_COLUMNS, [("a1", "ready", None, "q1", "2024-01-01 08:00:00", None, None)], load_zone)
    local = datetime(2024, 1, 1, 8, tzinfo=ZoneInfo(mapping_zone or load_zone))
    assert row["started_at"] == local.astimezone(UTC) == datetime(2024 if hour[0] else 2023, 1 if hour[0] else 12,
                                                                  1 if hour[0] else 31, hour[1], tzinfo=UTC)


JOURNEY_MAPPING = """
name: j
table: journey_events
fields: {session_id: s, ts: ts, step: st, channel: ch}
attributes: [x1, x2]
skip:
  - {when: "st = 'noise'", reason: noise}
"""
JOURNEY_COLUMNS = ["s", "ts", "st", "ch", "x1", "x2"]
T0, T1 = "2024-01-01T08:00:00+00:00", "2024-01-01T08:05:00+00:00"


def test_derived_sequence_numbers_good_rows_by_time_then_source_file_row() -> None:
    """journey_events without ``seq``: not a missing required value; ``sequence_sql`` numbers each session's good
    rows from 0 by time, then by source, file and row (ties keep file order), leaves skipped and rejected rows
    unnumbered and hashes each row again with its number (DuckDB's hash of the canonical columns, in order).
    The attributes are the listed source columns as a JSON object; a bad channel is emptied with a warning; text
    that is no time rejects the row."""
    mapping = parse_mapping(JOURNEY_MAPPING)
    table = schema.TABLES["journey_events"]
    src0 = [("s1", T1, "login", "web", "a", None),        # file 0 row 1
            ("s1", T0, "verify", "pigeon", "b", "c"),     # file 0 row 2
            ("s2", T0, "login", None, None, None),        # file 0 row 3
            ("s1", T1, "noise", None, None, None),        # file 0 row 4: skipped
            ("s1", "garbage", "pay", None, None, None),   # file 0 row 5: rejected
            ("s1", T1, "again", None, None, None),        # file 1 row 1
            ("s1", T1, "before", None, None, None)]       # file 0 row 9
    src1 = [("s1", T1, "pay", "app", None, None),         # file 0 row 1 of the second source
            ("s2", T0, "x", None, None, None)]
    q0 = build_query(mapping, table, _source(JOURNEY_COLUMNS, src0, [0, 0, 0, 0, 0, 1, 0], [1, 2, 3, 4, 5, 1, 9]),
                     JOURNEY_COLUMNS, "UTC", "a.csv")  # fmt: skip
    q1 = build_query(mapping, table, _source(JOURNEY_COLUMNS, src1), JOURNEY_COLUMNS, "UTC", "b.csv")
    con = _con()
    con.execute(f"CREATE TABLE _cand AS SELECT 0 AS _src, * FROM ({q0})")
    con.execute(f"INSERT INTO _cand SELECT 1, * FROM ({q1})")
    con.execute(sequence_sql(table))
    cols = ", ".join(c.name for c in table.columns)
    got = con.execute(f"SELECT step, session_id, seq, _err, _skip, _warn, attributes, _hash = hash({cols}) "
                      "FROM _cand ORDER BY _src, _file, _row").fetchall()  # fmt: skip
    # s1 at T1: source 0 file 0 row 1 (login) and row 9 (before), source 0 file 1 (again), then source 1 (pay)
    s1 = [(g[0], g[2]) for g in got if g[1] == "s1" and g[2] is not None]
    assert sorted(s1, key=lambda x: x[1]) == [("verify", 0), ("login", 1), ("before", 2), ("again", 3), ("pay", 4)]
    s2 = [(g[0], g[2]) for g in got if g[1] == "s2"]
    assert s2 == [("login", 0), ("x", 1)]
    rejected = [g for g in got if g[3] is not None]
    assert [(g[0], g[2], g[3]) for g in rejected] == [("pay", None, f"ts{US}cannot convert to timestamp: garbage")]
    assert [(g[0], g[2], g[4]) for g in got if g[4] is not None] == [("noise", None, "noise")]
    warned = {g[0]: g[5] for g in got if g[5] is not None}
    allowed = ", ".join(c.value for c in schema.Channel)
    assert warned == {"verify": f"channel{US}not an allowed value: pigeon (allowed: {allowed}){US}pigeon"}
    attrs = {g[0]: json.loads(g[6]) for g in got if g[1] == "s1" and g[0] in ("login", "verify")}
    assert attrs == {"login": {"x1": "a", "x2": None}, "verify": {"x1": "b", "x2": "c"}}
    assert all(g[7] for g in got if g[2] is not None)  # renumbered rows hashed again with their number


def test_sequence_sql_with_other_names() -> None:
    """The candidates table and the condition for good rows can be named."""
    table = schema.TABLES["journey_events"]
    mapping = parse_mapping(JOURNEY_MAPPING)
    q = build_query(mapping, table, _source(JOURNEY_COLUMNS, [("s1", T1, "a", None, None, None),
                                                              ("s1", T0, "b", None, None, None)]),
                    JOURNEY_COLUMNS, "UTC", "a.csv")  # fmt: skip
    con = _con()
    con.execute(f"CREATE TABLE other AS SELECT 0 AS _src, * FROM ({q})")
    con.execute(sequence_sql(table, "other", "step <> 'b'"))
    assert con.execute("SELECT step, seq FROM other ORDER BY step").fetchall() == [("a", 0), ("b", None)]


def test_constants_are_typed_literals() -> None:
    """Constants of every kind land as the values written in the mapping (a quote inside a string, a float in
    scientific notation, both booleans)."""
    for flag in (True, False):
        text = ("name: c\ntable: agents\nfields: {agent_id: id}\n"
                f"constants: {{active: {str(flag).lower()}, emergency_echelon: 2, contract: \"O'Brien\"}}\n")
        (row,) = _run(text, ["id"], [("a1",)])
        assert (row["active"], row["emergency_echelon"], row["contract"]) == (flag, 2, "O'Brien")
    (row,) = _run("name: c\ntable: customers\nfields: {customer_id: id}\nconstants: {arpu: 1.0e-7, vip_level: 3}\n",
                  ["id"], [("c1",)])  # fmt: skip
    assert (row["arpu"], row["vip_level"]) == (1e-7, 3) and row["_err"] is None


def test_optional_columns_warn_on_negative_and_unconvertible_values() -> None:
    text = ("name: g\ntable: agents\nparse: {e: {type: int}}\n"
            "fields: {agent_id: id, emergency_echelon: e, hire_date: d}\n")
    out = _run(text, ["id", "e", "d"], [("a1", "-1", "2024-02-30"), ("a2", "3", "2024-02-29")])
    assert [r["_err"] for r in out] == [None, None]
    # in the table's column order: hire_date comes before emergency_echelon
    assert out[0]["_warn"] == (f"hire_date{US}cannot convert to date: 2024-02-30{US}2024-02-30{RS}"
                               f"emergency_echelon{US}negative value: -1{US}-1")  # fmt: skip
    assert (out[0]["emergency_echelon"], out[0]["hire_date"]) == (None, None)
    assert (out[1]["emergency_echelon"], out[1]["hire_date"], out[1]["_warn"]) == (3, date(2024, 2, 29), None)


def test_build_query_names_columns_the_file_lacks() -> None:
    mapping = parse_mapping(STATES_MAPPING)
    table = schema.TABLES["agent_states"]
    with pytest.raises(CallopsError) as err:
        build_query(mapping, table, "SELECT 1", ["id", "st", "why", "q", "t1"], "UTC", "f.csv")
    assert str(err.value) == ("f.csv: mapping m1 parses column(s) t0, n that the file does not have "
                              "(file columns: id, st, why, q, t1)")  # fmt: skip
    journey = parse_mapping(JOURNEY_MAPPING)
    with pytest.raises(CallopsError) as err:
        build_query(journey, schema.TABLES["journey_events"], "SELECT 1", ["s", "ts", "st", "ch"], "UTC", "g")
    assert str(err.value) == ("g: mapping j keeps attribute column(s) x1, x2 that the file does not have "
                              "(file columns: s, ts, st, ch)")  # fmt: skip


def test_combine_reads_the_clock_in_the_mapping_zone() -> None:
    """``combine(date, seconds)``: the local instant that many seconds after midnight in the mapping's zone (past
    86400 into the next day), as Python's zoneinfo places it."""
    text = """
name: c
table: agent_states
timezone: Asia/Tokyo
parse: {d: {type: date}, s: {type: int}}
fields: {agent_id: id, state: "'ready'", started_at: "combine(d, s)"}
"""
    out = _run(text, ["id", "d", "s"], [("a1", "2024-03-09", "3600"), ("a2", "2024-03-09", "90000")])
    tokyo = ZoneInfo("Asia/Tokyo")
    assert [r["started_at"] for r in out] == [datetime(2024, 3, 9, 1, tzinfo=tokyo).astimezone(UTC),
                                              datetime(2024, 3, 10, 1, tzinfo=tokyo).astimezone(UTC)]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("fields: {agent_id: id, state: st, started_at: t0, reason: zz}\n",
         "mapping m2: field reason: unknown column 'zz' in 'zz'; known columns: id, st, t0"),
        ("fields: {agent_id: id, state: st, started_at: t0}\nskip: [{when: \"zz = 1\", reason: odd}]\n",
         "mapping m2: skip 'odd': unknown column 'zz' in 'zz = 1'; known columns: id, st, t0"),
    ],
)
def test_expressions_that_read_a_missing_column_are_named(extra: str, message: str) -> None:
    """A field or skip rule naming a column the file lacks: the mapping, the field or rule, the column."""
    mapping = parse_mapping("name: m2\ntable: agent_states\nparse: {t0: {type: timestamp}}\n" + extra)
    with pytest.raises(CallopsError) as err:
        build_query(mapping, schema.TABLES["agent_states"], "SELECT 1", ["id", "st", "t0"], "UTC", "f.csv")
    assert str(err.value) == message



def test_a_string_parser_before_others_does_not_hide_their_errors() -> None:
    """``type: string`` keeps the text (it never fails); a timestamp listed after it is still checked."""
    text = ("name: s\ntable: agent_states\nparse: {why: {type: string}, t0: {type: timestamp}}\n"
            "fields: {agent_id: id, state: st, reason: why, started_at: t0}\n")
    out = _run(text, ["id", "st", "why", "t0"], [("a1", "ready", " x ", "nope"), ("a2", "ready", " x ", A)])
    assert out[0]["_err"] == f"t0{US}cannot parse as timestamp: nope"
    assert (out[1]["_err"], out[1]["reason"], out[1]["started_at"]) == (None, " x ", _utc(8))


@pytest.mark.parametrize("keyed", [False, True])
def test_a_time_out_of_order_empties_the_later_one_unless_only_the_later_is_needed(keyed: bool) -> None:
    """A contact answered at 09:00 and ended at 08:30. Neither time needed: ended_at (the later one) is emptied
    with a warning. With ``key: [contact_id, ended_at]`` ended_at is needed and answered_at is not: answered_at is
    emptied instead, and the row is kept."""
    text = """
name: o
table: contacts
parse: {t0: {type: timestamp}, t1: {type: timestamp}, t2: {type: timestamp}}
fields: {contact_id: id, offered_at: t0, answered_at: t1, ended_at: t2}
constants: {channel: voice, direction: inbound, outcome: answered}
""" + ("key: [contact_id, ended_at]\n" if keyed else "")
    (row,) = _run(text, ["id", "t0", "t1", "t2"], [("c1", A, B, "2024-01-01T08:30:00+00:00")])
    emptied = "answered_at" if keyed else "ended_at"
    raw = "2024-01-01 09:00:00+00" if keyed else "2024-01-01 08:30:00+00"
    assert row["_err"] is None
    assert row["_warn"] == (f"{emptied}{US}ended_at is before answered_at: 2024-01-01 08:30:00+00 < "
                            f"2024-01-01 09:00:00+00{US}{raw}")  # fmt: skip
    assert (row["answered_at"], row["ended_at"]) == ((None, _utc(8, 30)) if keyed else (_utc(9), None))


@pytest.mark.parametrize(("fmt", "text"), [("%d.%m.%Y", "09.03.2024"), ("yymmdd", "240309"), (None, "2024-03-09")])
def test_dates_in_a_named_or_strptime_format(fmt: str | None, text: str) -> None:
    """A date parser with a strptime format of its own, a named one, or none (ISO): the date Python's
    ``datetime.strptime`` reads; text in another shape is a warning on the optional hire date."""
    spec = "{type: date}" if fmt is None else f"{{type: date, format: '{fmt}'}}"
    mapping = f"name: d\ntable: agents\nparse: {{d: {spec}}}\nfields: {{agent_id: id, hire_date: d}}\n"
    out = _run(mapping, ["id", "d"], [("a1", text), ("a2", "2024/03/09")])
    py = {None: "%Y-%m-%d", "yymmdd": "%y%m%d"}.get(fmt, fmt)
    assert out[0]["hire_date"] == datetime.strptime(text, py).date() == date(2024, 3, 9)
    kind = "date" if fmt is None else f"date ({fmt})"
    assert (out[1]["hire_date"], out[1]["_warn"]) == (None, f"d{US}cannot parse as {kind}: 2024/03/09{US}2024/03/09")


def _parse(spec: ParseSpec, text: str, zone: str = "UTC") -> Any:
    con = _con()
    return con.execute(f"SELECT {parse_sql('v', spec, zone)} FROM (SELECT ?::VARCHAR AS v)", [text]).fetchone()[0]


@pytest.mark.parametrize(
    ("kind", "fmt", "text", "seconds"),
    [("duration", None, "1:02:03", 3723), ("duration", None, "90", 90), ("duration", None, "24:00:00", 86400),
     ("clock", None, "24:00:00", None), ("clock", None, "90", None), ("clock", "h:mm", "7:05", 7 * 3600 + 5 * 60),
     ("clock", "h:mm", "7:65", None), ("clock", "h:mm", "7:05:00", None), ("duration", "h:mm", "30:00", 108000),
     ("duration", None, "-5", None)],
)
def test_clock_and_duration_parsers(kind: str, fmt: str | None, text: str, seconds: int | None) -> None:
    """Seconds as Python's ``timedelta`` counts them: a clock is below one day, a duration any length, and a
    duration also takes plain seconds; ``h:mm`` has no seconds field."""
    expected = None
    if seconds is not None:
        parts = [int(p) for p in text.split(":")]
        hms = parts + [0] * (3 - len(parts)) if len(parts) > 1 else [0, 0, parts[0]]
        expected = int(timedelta(hours=hms[0], minutes=hms[1], seconds=hms[2]).total_seconds())
        assert expected == seconds
    assert _parse(ParseSpec(type=kind, format=fmt), text) == expected


@pytest.mark.parametrize(
    ("fmt", "text", "zone"),
    [("epoch_ms", "1709514000250", "UTC"), ("epoch_s", "1709514000", "UTC"),
     ("%Y-%m-%d %H:%M %z", "2024-03-04 09:00 +0800", "Asia/Tokyo"),
     ("%d/%m/%Y %H:%M", "04/03/2024 09:00", "Asia/Tokyo"), ("%Y-%m-%d %H:%M %Z", "2024-03-04 09:00 UTC", "Asia/Tokyo")],
)
def test_timestamp_formats(fmt: str, text: str, zone: str) -> None:
    """Epoch milliseconds and seconds; a strptime format with an offset keeps it, one without is read in the zone
    (Python's ``datetime.strptime`` and zoneinfo)."""
    if fmt == "epoch_ms":
        expected = datetime.fromtimestamp(int(text) / 1000, UTC)
    elif fmt == "epoch_s":
        expected = datetime.fromtimestamp(int(text), UTC)
    else:
        parsed = datetime.strptime(text, fmt)
        named = parsed.replace(tzinfo=UTC) if text.endswith(" UTC") else parsed  # Python reads %Z but keeps it naive
        expected = named if named.tzinfo else named.replace(tzinfo=ZoneInfo(zone))
    assert _parse(ParseSpec(type="timestamp", format=fmt), text, zone) == expected.astimezone(UTC)
