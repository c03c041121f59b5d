"""Empty values: a number that is only whitespace is an empty value, neither a reject nor a warning."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callops import tenancy
from callops.ingest.loader import load_files
from callops.ingest.mapping import ParseSpec, canonical_mapping
from callops.ingest.transform import parse_sql, trim_sql
from callops.warehouse import Warehouse
from foundation_helpers import read_rows

HEADER = "contact_id,channel,direction,offered_at,outcome,wait_s,transfers\n"


@pytest.mark.parametrize(
    "blank",
    [" ", "   ", '" "', '"  "', "\t", '"\t \t"', "\u3000", "\xa0 ", '"\r\n\t"'],
    ids=["space", "spaces", "quoted", "quoted-spaces", "tab", "mixed", "ideographic", "no-break", "quoted-crlf"],
)
def test_whitespace_only_numbers_become_empty_values(home: Warehouse, tmp_path: Path, blank: str) -> None:
    """wait_s (a float) and transfers (an integer) given as whitespace load as NULL; the rest of the row loads."""
    path = tmp_path / "c.csv"
    path.write_text(
        HEADER
        + f"k1,voice,inbound,2024-02-01T10:00:00+08:00,answered,{blank},{blank}\n"
        + "k2,voice,inbound,2024-02-01T10:05:00+08:00,answered,12.5,2\n"
    )
    tenant = tenancy.create_tenant(home, "s")
    summary = load_files(home, tenant, "contacts", [path], canonical_mapping("contacts"))
    assert (summary.read, summary.loaded, summary.rejected) == (2, 2, 0)
    assert getattr(summary, "warned", 0) == 0  # an empty value is not a bad value
    rows = {r["contact_id"]: r for r in read_rows(home, "s", "contacts")}
    assert (rows["k1"]["wait_s"], rows["k1"]["transfers"]) == (None, None)
    assert (rows["k1"]["channel"], rows["k1"]["outcome"]) == ("voice", "answered")
    assert (rows["k2"]["wait_s"], rows["k2"]["transfers"]) == (12.5, 2)
    assert read_rows(home, "s", "rejects") == []


# Every character Python calls whitespace, and a few that are not (the 0x1c-0x1f separators among them).
_SPACES = [chr(i) for i in range(0x3001) if chr(i).isspace()] + ["\x1c", "\x1f", "_", "\u200b"]


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from(_SPACES), max_size=4), st.text(st.sampled_from(_SPACES), max_size=4),
       st.one_of(st.integers(-(10**12), 10**12), st.none()))  # fmt: skip
def test_the_full_parser_trims_what_python_strips(before: str, after: str, number: int | None) -> None:
    """A number (or nothing) between any whitespace parses as Python reads it after str.strip() (the reader's
    notion of a blank line), less the information separators 0x1c-0x1f, which are not padding; the warning test
    (``trim <> ''``) holds exactly for text that is not blank."""
    text = before + ("" if number is None else str(number)) + after
    blanks = "".join(c for c in map(chr, range(0x3001)) if c.isspace() and c not in "\x1c\x1d\x1e\x1f")
    core = text.strip(blanks)
    expected = int(core) if core.lstrip("-").isdigit() and core == core.strip() else None
    con = duckdb.connect()
    sql = (f"SELECT {parse_sql('v', ParseSpec(type='int'), 'UTC')}, {parse_sql('v', ParseSpec(type='float'), 'UTC')}, "
           f"{trim_sql('v')} <> '' FROM (SELECT ?::VARCHAR AS v)")  # fmt: skip
    as_int, as_float, not_blank = con.execute(sql, [text]).fetchone()
    assert as_int == expected
    assert as_float == (None if expected is None else float(expected))
    assert not_blank == (core != "")
