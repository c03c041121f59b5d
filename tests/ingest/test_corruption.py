"""Property tests: random corruption of valid canonical CSV rows never loses a good row.

Hypothesis writes a valid ``contacts`` file (every column, valid enums, ordered timestamps with
assorted UTC offsets, non-negative durations, unique ids), then corrupts some rows in ways seen
in real exports. The expected outcome of each row is derived here from the schema's rules, not
from the loader: a good row must come back exactly (read through ``tenancy.scoped``); a bad row
must be in ``rejects`` with its file line, a reason and, for value errors, the right column. A bad value
in a column that is neither required nor the key does not lose the row: it loads with that column empty,
and ``load_warnings`` names the line, the column and the reason.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callops import schema, tenancy
from callops.ingest.loader import load_files
from callops.ingest.mapping import canonical_mapping, load_mapping
from callops.names import NAME_COLUMNS, is_name
from callops.warehouse import Warehouse
from foundation_helpers import read_rows

COLUMNS = schema.CONTACTS.column_names
STRING_COLS = [c.name for c in schema.CONTACTS.columns if c.type == schema.ColumnType.STRING and not c.enum]
FLOAT_COLS = [c.name for c in schema.CONTACTS.columns if c.type == schema.ColumnType.FLOAT]
NON_NEG = [c.name for c in schema.CONTACTS.columns if c.non_negative]
REQUIRED = [c.name for c in schema.CONTACTS.columns if c.required]
NEEDED = {*REQUIRED, *schema.CONTACTS.key}  # a bad value here rejects the row; elsewhere it is emptied
ENUM_COLS = [c.name for c in schema.CONTACTS.columns if c.enum]
TS_COLS = ["offered_at", "answered_at", "ended_at"]

# --------------------------------------------------------------------------------------------- valid rows

# Printable text without the characters that make CSV rows span lines; commas and quotes are kept
# (the csv module quotes them) and so are inner spaces.
_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")) | st.sampled_from(",\"' "),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() == s and s != "")
_offsets = st.integers(min_value=-14 * 4, max_value=14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))
_instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))  # milliseconds, like most exports
_non_neg = st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False)
_any_float = st.floats(min_value=-1e7, max_value=1e7, allow_nan=False, allow_infinity=False)


# Letters and digits of any script first, then also spaces and allowed punctuation (callops.names).
_name = st.from_regex(r"[\w\u4e00-\u9fff][\w\u4e00-\u9fff .,:;/#&+|~!?%*()-]{0,11}", fullmatch=True).filter(is_name)


def _opt(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


@st.composite
def contact_rows(draw: st.DrawFn, contact_id: str) -> dict:
    """One valid contacts row as typed Python values (None = empty field)."""
    offered = draw(_instants)
    gaps = draw(st.lists(st.integers(min_value=0, max_value=3 * 86400 * 1000), min_size=2, max_size=2))
    answered = offered + timedelta(milliseconds=gaps[0])
    ended = answered + timedelta(milliseconds=gaps[1])
    row: dict = {c: None for c in COLUMNS}
    row.update(
        contact_id=contact_id,
        channel=draw(st.sampled_from(schema.CONTACTS.column("channel").enum)),
        direction=draw(st.sampled_from(schema.CONTACTS.column("direction").enum)),
        outcome=draw(st.sampled_from(schema.CONTACTS.column("outcome").enum)),
        offered_at=offered,
        answered_at=draw(_opt(st.just(answered))),
        ended_at=draw(_opt(st.just(ended))),
        transfers=draw(_opt(st.integers(min_value=0, max_value=2**40))),
        resolved=draw(_opt(st.booleans())),
        offer_result=draw(_opt(st.sampled_from(("accepted", "declined")))),
    )
    for col in STRING_COLS:
        if col != "contact_id":  # names shown in the console follow callops.names' rule (issue 21)
            row[col] = draw(_opt(_name if col in NAME_COLUMNS else _text))
    for col in FLOAT_COLS:
        row[col] = draw(_opt(_non_neg if col in NON_NEG else _any_float))
    # Each timestamp is written with its own offset: the instant is what must survive.
    row["_zones"] = {c: draw(_offsets) for c in TS_COLS}
    row["_sep"] = draw(st.sampled_from(("T", " ")))
    return row


def render(row: dict) -> list[str]:
    """The CSV fields of a typed row."""
    out = []
    for col in COLUMNS:
        v = row[col]
        if v is None:
            out.append("")
        elif isinstance(v, bool):
            out.append("true" if v else "false")
        elif isinstance(v, datetime):
            text = v.astimezone(row["_zones"][col]).isoformat(sep=row["_sep"])
            out.append(text.replace("+00:00", "Z"))
        elif isinstance(v, float):
            out.append(repr(v))
        else:
            out.append(str(v))
    return out


# --------------------------------------------------------------------------------------------- corruptions

VALUE_CORRUPTIONS = ("bad_number", "bad_int", "bad_timestamp", "swap_timestamps", "missing_required",
                     "negative", "bad_enum")
STRUCTURE_CORRUPTIONS = ("extra_delimiter", "missing_field", "invalid_utf8")


@dataclass
class Corrupted:
    """A corrupted row: its fields (or raw bytes) and the column the reject must name (None: any)."""

    kind: str
    fields: list[str] | None
    raw: bytes | None
    column: str | None


def expected_order_violation(values: dict) -> str | None:
    """Which column the schema's ordering rules blame first (independent of the loader)."""
    for earlier, later in schema.CONTACTS.ordered:
        e, lt = values.get(earlier), values.get(later)
        if e is not None and lt is not None and lt < e:
            return later
    return None


@st.composite
def corruption(draw: st.DrawFn, row: dict) -> Corrupted:
    """Corrupt ``row`` in one of the ways real exports go wrong."""
    kind = draw(st.sampled_from(VALUE_CORRUPTIONS + STRUCTURE_CORRUPTIONS))
    fields = render(row)
    idx = {c: i for i, c in enumerate(COLUMNS)}
    column: str | None = None
    if kind == "bad_number":
        column = draw(st.sampled_from(FLOAT_COLS))
        fields[idx[column]] = draw(st.sampled_from(("abc", "1,5", "12s", "--3", "1.2.3", "NaN?")))
    elif kind == "bad_int":
        column = "transfers"
        fields[idx[column]] = draw(st.sampled_from(("two", "1.5", "3x", "99999999999999999999999")))
    elif kind == "bad_timestamp":
        column = draw(st.sampled_from(TS_COLS))
        fields[idx[column]] = draw(st.sampled_from(("yesterday", "2024-13-01T00:00:00Z", "2024-02-30 10:00:00+08:00",
                                                    "10:00:00", "2024-01-01T25:00:00Z")))
    elif kind == "swap_timestamps":
        # answered/ended moved before offered (the export's clocks were swapped or skewed).
        later = draw(st.sampled_from(("answered_at", "ended_at")))
        values = {c: row[c] for c in TS_COLS}
        values[later] = row["offered_at"] - timedelta(seconds=draw(st.integers(min_value=1, max_value=86400)))
        fields[idx[later]] = values[later].astimezone(row["_zones"][later]).isoformat()
        column = expected_order_violation(values)
    elif kind == "missing_required":
        column = draw(st.sampled_from(REQUIRED))
        fields[idx[column]] = ""
    elif kind == "negative":
        column = draw(st.sampled_from(NON_NEG))
        fields[idx[column]] = "-1" if column == "transfers" else repr(-draw(st.floats(0.001, 1e6)))
    elif kind == "bad_enum":
        column = draw(st.sampled_from(ENUM_COLS))
        fields[idx[column]] = draw(st.sampled_from(("fax", "ANSWERED", "unknown", "answered ")))
    elif kind == "extra_delimiter":
        at = draw(st.integers(min_value=0, max_value=len(fields)))
        fields.insert(at, draw(st.sampled_from(("", "x", "1"))))
    elif kind == "missing_field":
        del fields[draw(st.integers(min_value=0, max_value=len(fields) - 1))]
    elif kind == "invalid_utf8":
        col = draw(st.sampled_from([c for c in STRING_COLS if c != "contact_id"]))
        line = _csv_line(fields)
        value = _csv_line([fields[idx[col]] or "v"]).rstrip(b"\n")
        prefix = _csv_line(fields[: idx[col]]).rstrip(b"\n") + (b"," if idx[col] else b"")
        suffix = b"," + _csv_line(fields[idx[col] + 1 :]) if idx[col] < len(fields) - 1 else b"\n"
        bad = draw(st.sampled_from((b"\xff", b"\xc3\x28", b"\xe2\x82", b"\x80abc")))
        raw = prefix + value + bad + suffix
        assert raw != line
        return Corrupted(kind, None, raw, None)
    return Corrupted(kind, fields, None, column)


def _csv_line(fields: list[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(fields)
    return buf.getvalue().encode("utf-8")


@st.composite
def corrupted_files(draw: st.DrawFn) -> tuple[list[dict], dict[int, Corrupted]]:
    """Valid rows (at most 40) and the corruptions applied to some of them, by row index."""
    n = draw(st.integers(min_value=1, max_value=40))
    suffixes = draw(st.lists(st.text("abcdefXYZ-_0123456789", max_size=6), min_size=n, max_size=n))
    rows = [draw(contact_rows(f"C{i:04d}{s}")) for i, s in enumerate(suffixes)]
    bad_idx = draw(st.sets(st.integers(min_value=0, max_value=n - 1), max_size=max(1, n // 2)))
    return rows, {i: draw(corruption(rows[i])) for i in sorted(bad_idx)}


def write_file(path: Path, rows: list[dict], bad: dict[int, Corrupted]) -> None:
    """Header plus one line per row: line number of row i is i + 2."""
    data = _csv_line(list(COLUMNS))
    for i, row in enumerate(rows):
        c = bad.get(i)
        data += c.raw if c is not None and c.raw is not None else _csv_line(c.fields if c else render(row))
    path.write_bytes(data)


def _comparable(row: dict) -> dict:
    return {c: row[c] for c in COLUMNS}


# --------------------------------------------------------------------------------------------- the property

_counter = iter(range(10**9))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=corrupted_files())
def test_corruption_never_loses_a_good_row(home: Warehouse, tmp_path: Path, case) -> None:
    """Good rows load exactly; a bad required value or line is rejected at its line with a reason; a bad
    optional value is emptied with a warning at its line and column; counts balance."""
    rows, bad = case
    name = f"t{next(_counter)}"  # a fresh tenant per example: the same warehouse is reused
    tenant = tenancy.create_tenant(home, name, "Asia/Shanghai")
    path = tmp_path / f"{name}.csv"
    write_file(path, rows, bad)

    summary = load_files(home, tenant, "contacts", [path], load_mapping("canonical", "contacts"))

    warned = {i: c for i, c in bad.items() if c.column is not None and c.column not in NEEDED}
    fatal = {i: c for i, c in bad.items() if i not in warned}
    good = [r for i, r in enumerate(rows) if i not in bad]
    assert summary.read == len(rows)
    assert summary.balanced
    assert (summary.loaded, summary.updated, summary.unchanged, summary.skipped) == (len(good) + len(warned), 0, 0, 0)
    assert (summary.rejected, summary.warned) == (len(fatal), len(warned)), [
        (w["column_name"], w["reason"], w["raw"]) for w in read_rows(home, name, "load_warnings")]

    loaded = {r["contact_id"]: r for r in read_rows(home, name, "contacts")}
    assert set(loaded) == {r["contact_id"] for r in good} | {rows[i]["contact_id"] for i in warned}
    for r in good:
        assert _comparable(loaded[r["contact_id"]]) == _comparable(r), r["contact_id"]
    for i, c in warned.items():  # the row as written, with only the bad column empty
        assert _comparable(loaded[rows[i]["contact_id"]]) == {**_comparable(rows[i]), c.column: None}, c
    assert all(r["load_id"] == summary.load_id and r["tenant_id"] == name for r in loaded.values())

    warnings = {r["line"]: r for r in read_rows(home, name, "load_warnings")}
    assert set(warnings) == {i + 2 for i in warned}
    for i, c in warned.items():
        w = warnings[i + 2]
        assert (w["column_name"], w["file"], w["load_id"]) == (c.column, str(path), summary.load_id), (c, w)
        assert w["reason"].strip() and (c.kind != "swap_timestamps" or "before" in w["reason"]), (c, w)
        assert c.kind != "negative" or "negative" in w["reason"], (c, w)

    rejects = read_rows(home, name, "rejects")
    assert len(rejects) == len(fatal)
    by_line = {r["line"]: r for r in rejects}
    assert set(by_line) == {i + 2 for i in fatal}, [(r["line"], r["reason"]) for r in rejects]
    for i, c in fatal.items():
        rej = by_line[i + 2]
        assert rej["reason"] and rej["reason"].strip(), rej
        assert rej["file"] == str(path)
        assert rej["load_id"] == summary.load_id
        if c.column is not None:
            assert rej["column_name"] == c.column, (c.kind, rej)
        if c.kind == "missing_required":
            assert "missing" in rej["reason"], rej
        if c.kind == "negative":
            assert "negative" in rej["reason"], rej
        if c.kind == "bad_enum":
            assert "allowed" in rej["reason"], rej
        if c.kind == "swap_timestamps":
            assert "before" in rej["reason"], rej


@pytest.mark.parametrize("kind", STRUCTURE_CORRUPTIONS)
def test_structural_reject_keeps_neighbours(home: Warehouse, tmp_path: Path, kind: str) -> None:
    """A structurally broken line in the middle of a file: neighbours load, the line is named."""
    base = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    rows = []
    for i in range(5):
        row = {c: None for c in COLUMNS}
        row.update(contact_id=f"k{i}", channel="chat", direction="inbound", outcome="answered",
                   offered_at=base + timedelta(minutes=i), center="Hefei", wait_s=float(i))
        row["_zones"] = {c: UTC for c in TS_COLS}
        row["_sep"] = "T"
        rows.append(row)
    fields = render(rows[2])
    if kind == "extra_delimiter":
        bad = Corrupted(kind, [*fields[:3], "x", *fields[3:]], None, None)
    elif kind == "missing_field":
        bad = Corrupted(kind, fields[:-1], None, None)
    else:
        line = _csv_line(fields).replace(b"Hefei", b"He\xfffei")
        bad = Corrupted(kind, None, line, None)
    tenant = tenancy.create_tenant(home, "s")
    path = tmp_path / "f.csv"
    write_file(path, rows, {2: bad})
    summary = load_files(home, tenant, "contacts", [path], canonical_mapping("contacts"))
    assert (summary.read, summary.loaded, summary.rejected) == (5, 4, 1)
    assert sorted(r["contact_id"] for r in read_rows(home, "s", "contacts")) == ["k0", "k1", "k3", "k4"]
    (rej,) = read_rows(home, "s", "rejects")
    assert rej["line"] == 4 and rej["reason"]


def test_stray_delimiter_with_empty_last_field_is_rejected(home: Warehouse, tmp_path: Path) -> None:
    """A stray delimiter mid-row shifts the values; when the shifted-out last field is empty,
    the row is still one field too long and must be rejected, not loaded with shifted values."""
    path = tmp_path / "a.csv"
    path.write_text("agent_id,name,team\nA1,Li,red\nA2,,Wu,\n")
    mapping = canonical_mapping("agents")
    tenant = tenancy.create_tenant(home, "s")
    summary = load_files(home, tenant, "agents", [path], mapping)
    assert (summary.loaded, summary.rejected) == (1, 1)


@pytest.mark.parametrize(
    "bad_line",
    [b'A1,"Li"q,red', b'A1,"Li"\xff,red', b'A1,"Li\xff",red'],
    ids=["text-after-quote", "bad-byte-after-quote", "bad-byte-in-quotes"],
)
def test_one_malformed_line_does_not_change_quoting_of_the_file(
    home: Warehouse, tmp_path: Path, bad_line: bytes
) -> None:
    """RFC 4180 quoting holds for every good line however the bad one is broken (regression:
    DuckDB's sniffer used to settle on "no quoting" and load quoted fields with their quotes)."""
    path = tmp_path / "a.csv"
    path.write_bytes(b'agent_id,name,team\n' + bad_line + b'\nA2,"Wu, ""Jr""",blue\nA3,"Ma",green\n')
    tenant = tenancy.create_tenant(home, "s")
    summary = load_files(home, tenant, "agents", [path], canonical_mapping("agents"))
    assert (summary.read, summary.loaded, summary.rejected) == (3, 2, 1)
    rows = {r["agent_id"]: (r["name"], r["team"]) for r in read_rows(home, "s", "agents")}
    assert rows == {"A2": ('Wu, "Jr"', "blue"), "A3": ("Ma", "green")}
    (rej,) = read_rows(home, "s", "rejects")
    assert rej["line"] == 2 and rej["reason"]
