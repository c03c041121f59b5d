"""The Anonymous Bank months (Technion, 1999) load with exact row accounting and the stated rules.

Counts are recomputed here from the raw files with Python's csv and gzip modules, applying the
mapping's documented rules in plain Python (an independent implementation of the same rules);
hand-picked rows are checked against values worked out from their raw lines with zoneinfo
(Israel: UTC+2 in winter, UTC+3 in summer 1999).
"""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callops import tenancy
from callops.ingest.loader import LoadSummary, load_files
from callops.ingest.mapping import load_mapping
from callops.warehouse import Warehouse
from foundation_helpers import read_rows

ISRAEL = ZoneInfo("Asia/Jerusalem")
PHANTOM = "PHANTOM call (the documentation says these are not real calls)"


def _secs(clock: str) -> int:
    h, m, s = (int(x) for x in clock.split(":"))
    return h * 3600 + m * 60 + s


def _local(day: str, seconds: int) -> datetime:
    """UTC instant of ``seconds`` after local midnight of yymmdd ``day`` in Israel."""
    d = datetime.strptime(day, "%y%m%d")
    return (d + timedelta(seconds=seconds)).replace(tzinfo=ISRAEL).astimezone(UTC)


def raw_rows(bank_dir: Path) -> list[tuple[str, int, dict]]:
    """(file, line, fields) of every record, read with csv + gzip."""
    out = []
    for path in sorted(bank_dir.glob("*.tsv.gz")):
        with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
            for line, rec in enumerate(csv.DictReader(fh, delimiter="\t"), start=2):
                out.append((path.name, line, rec))
    return out


def expected_warnings(rec: dict) -> dict[str, str]:
    """The fields the stated rules empty in one non-PHANTOM record: column -> kind of reason.

    Each impossible field is emptied (the call still loads): a negative vru_time (ivr_s), an end before the
    service start or the VRU entry (ended_at; the first of the two checks names the reason). A service start
    before the VRU entry is no warning: the call is answered at its queue exit (:func:`expected_answer`).
    """
    out: dict[str, str] = {}
    if int(rec["vru_time"]) < 0:
        out["ivr_s"] = "negative value"
    entry = _secs(rec["vru_entry"])

    def roll(clock: str) -> int:  # a clock more than 12 h before entry is on the next day
        s = _secs(clock)
        return s + 86400 if s < entry - 43200 else s

    agent = rec["outcome"] == "AGENT"
    answered = expected_answer(rec)
    if agent:
        ended = roll(rec["ser_exit"])
    elif _secs(rec["q_start"]) == 0:
        ended = roll(rec["vru_exit"])
    else:
        ended = roll(rec["q_exit"])
    if answered is not None and answered < entry:
        out["answered_at"] = "answered_at is before offered_at"  # the queue exit itself before the entry: none
    if answered is not None and ended < answered:
        out["ended_at"] = "ended_at is before answered_at"
    elif ended < entry:
        out["ended_at"] = "ended_at is before offered_at"
    return out


def expected_answer(rec: dict) -> int | None:
    """Seconds after the call date's midnight at which an AGENT call was answered: its service start, or, when the
    recorded service start is before the VRU entry (times not recorded), its queue exit (VRU exit if it never
    queued). None for other calls."""
    if rec["outcome"] != "AGENT":
        return None
    entry = _secs(rec["vru_entry"])

    def roll(clock: str) -> int:
        s = _secs(clock)
        return s + 86400 if s < entry - 43200 else s

    start = roll(rec["ser_start"])
    if start >= entry:
        return start
    return roll(rec["vru_exit"] if _secs(rec["q_start"]) == 0 else rec["q_exit"])


def expected_outcome(rec: dict) -> str:
    """What the stated rules say about one raw record: 'skip', 'load' (as it came) or 'warn' (fields emptied)."""
    if rec["outcome"] == "PHANTOM":
        return "skip"
    return "warn" if expected_warnings(rec) else "load"


@pytest.fixture(scope="module")
def loaded(bank_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, LoadSummary, LoadSummary]:
    """All ten months loaded into tenant 'bank', then loaded again."""
    home = tmp_path_factory.mktemp("bank")
    wh = Warehouse(f"duckdb://{home / 'warehouse.duckdb'}")
    tenant = tenancy.create_tenant(wh, "bank", "Asia/Jerusalem")
    paths = sorted(bank_dir.glob("*.tsv.gz"))
    assert len(paths) == 10
    mapping = load_mapping("anonymous_bank", "contacts")
    first = load_files(wh, tenant, "contacts", paths, mapping)
    again = load_files(wh, tenant, "contacts", paths, mapping)
    yield wh, first, again
    wh.close()


@pytest.fixture(scope="module")
def raw(bank_dir: Path) -> list[tuple[str, int, dict]]:
    return raw_rows(bank_dir)


def test_exact_accounting(loaded, raw) -> None:
    """360,364 read = 357,396 loaded (443 of them with a field emptied) + 2,968 PHANTOM skipped; none rejected."""
    _, s, _ = loaded
    assert len(raw) == 360_364
    assert s.balanced
    assert (s.read, s.loaded, s.updated, s.unchanged, s.rejected, s.skipped) == (360_364, 357_396, 0, 0, 0, 2_968)
    assert s.warned == 443
    assert s.skip_reasons == {PHANTOM: 2_968}
    assert s.reject_reasons == {}
    assert s.warn_reasons == {
        "ivr_s: negative value": 292,
        "ended_at: ended_at is before answered_at": 150,
        "ended_at: ended_at is before offered_at": 1,
    }


def test_counts_match_an_independent_scan(loaded, raw) -> None:
    """The same numbers, and the same lines and columns, from a plain-Python reading of the raw files."""
    wh, s, _ = loaded
    verdicts = Counter(expected_outcome(rec) for _, _, rec in raw)
    assert verdicts == {"load": 356_953, "warn": 443, "skip": 2_968}
    # SOURCE.txt: 310 negative vru_time rows in all, 18 of them PHANTOM (skipped before validation).
    negative = [rec for _, _, rec in raw if rec["vru_time"].lstrip("-").isdigit() and int(rec["vru_time"]) < 0]
    assert len(negative) == 310
    assert sum(rec["outcome"] != "PHANTOM" for rec in negative) == 292
    warnings = tenancy.scoped(wh, "bank", "load_warnings")
    got = {
        (Path(r["file"]).name, r["line"], r["column_name"]): r
        for r in warnings.filter(warnings.load_id == s.load_id).to_pyarrow().to_pylist()
    }
    want = {
        (f, line, col): kind
        for f, line, rec in raw if rec["outcome"] != "PHANTOM"
        for col, kind in expected_warnings(rec).items()
    }
    assert set(got) == set(want)
    for where, kind in want.items():
        assert got[where]["reason"].startswith(kind + ": "), (where, got[where])
    # the raw value is the one the field had: vru_time as written
    by_line = {(f, line): rec for f, line, rec in raw}
    for (f, line, col), r in got.items():
        if col == "ivr_s":
            assert r["raw"] == by_line[(f, line)]["vru_time"]
    assert tenancy.scoped(wh, "bank", "rejects").filter(lambda t: t.load_id == s.load_id).count().execute() == 0


def test_warned_rows_load_with_the_field_empty(loaded, raw) -> None:
    """A warned call is in the table, with only its impossible fields empty; the corrupted id loads as text."""
    wh, _, _ = loaded
    c = tenancy.scoped(wh, "bank", "contacts")
    warned = {f"{rec['vru+line']}-{rec['call_id']}": (rec, expected_warnings(rec)) for _, _, rec in raw
              if rec["outcome"] != "PHANTOM" and expected_warnings(rec)}  # fmt: skip
    rows = {r["contact_id"]: r for r in c.filter(c.contact_id.isin(list(warned))).to_pyarrow().to_pylist()}
    assert set(rows) == set(warned)
    for cid, (rec, cols) in warned.items():
        has_value = {"ivr_s", "ended_at"} | ({"answered_at"} if rec["outcome"] == "AGENT" else set())
        for col in ("ivr_s", "answered_at", "ended_at"):
            assert (rows[cid][col] is not None) == (col in has_value - set(cols)), (cid, col)
        assert rows[cid]["offered_at"] is not None and rows[cid]["wait_s"] is not None
    (odd,) = [f"{rec['vru+line']}-{rec['call_id']}" for _, _, rec in raw if rec["call_id"] == "2010-08-"]
    assert c.filter(c.contact_id == odd).count().execute() == 1


def test_calls_served_without_a_service_time_count_as_answered(loaded, raw) -> None:
    """The 151 AGENT calls whose service start is before their VRU entry (150 with no service times at all) are
    answered by their agent at their queue exit, talk time unknown: every AGENT call is answered, so the
    answered calls equal the AGENT records (a plain count of the raw files)."""
    wh, _, _ = loaded
    odd = {}
    for _, _, rec in raw:
        if rec["outcome"] == "AGENT":
            entry, start = _secs(rec["vru_entry"]), _secs(rec["ser_start"])
            if start < entry and entry - start <= 43200:
                odd[f"{rec['vru+line']}-{rec['call_id']}"] = rec
    assert len(odd) == 151
    c = tenancy.scoped(wh, "bank", "contacts")
    rows = {r["contact_id"]: r for r in c.filter(c.contact_id.isin(list(odd))).to_pyarrow().to_pylist()}
    for cid, rec in odd.items():
        r = rows[cid]
        assert r["outcome"] == "answered" and r["talk_s"] is None, cid
        assert r["answered_at"] == _local(rec["date"], expected_answer(rec)), cid
    agent = sum(rec["outcome"] == "AGENT" for _, _, rec in raw)
    assert c.filter(c.answered_at.notnull()).count().execute() == agent


def test_hand_checked_rows(loaded) -> None:
    """Rows worked out by hand from their raw lines (quoted in the comments)."""
    wh, _, _ = loaded
    c = tenancy.scoped(wh, "bank", "contacts")
    ids = ["AA0101-33116", "AA0101-33117", "AA0101-33118", "AA0101-33134", "AA0101-41957", "AA0101-38888"]
    rows = {r["contact_id"]: r for r in c.filter(c.contact_id.isin(ids)).to_pyarrow().to_pylist()}
    assert set(rows) == set(ids)
    winter = timedelta(hours=2)
    summer = timedelta(hours=3)

    # AA0101 33116 9664491 2 PS 990101 0:00:31 0:00:36 5 0:00:36 0:03:09 153 HANG 0:00:00 0:00:00 0 NO_SERVER
    r = rows["AA0101-33116"]
    assert r["outcome"] == "abandoned"  # HANG after entering the queue
    assert r["offered_at"] == datetime(1999, 1, 1, 0, 0, 31, tzinfo=UTC) - winter
    assert r["offered_at"] == _local("990101", 31)
    assert r["answered_at"] is None and r["ended_at"] == datetime(1999, 1, 1, 0, 3, 9, tzinfo=UTC) - winter
    assert (r["ivr_s"], r["wait_s"], r["talk_s"], r["agent_id"]) == (5, 153, None, None)
    assert (r["customer_id"], r["queue"], r["business_type"]) == ("9664491", "PS", "PS")
    assert (r["center"], r["channel"], r["direction"]) == ("Anonymous Bank", "voice", "inbound")

    # AA0101 33117 0 0 PS 990101 0:34:12 0:34:23 11 0:00:00 0:00:00 0 HANG 0:00:00 0:00:00 0 NO_SERVER
    r = rows["AA0101-33117"]
    assert r["outcome"] == "self_served"  # HANG with q_start 0:00:00: ended in the VRU
    assert r["ended_at"] == datetime(1999, 1, 1, 0, 34, 23, tzinfo=UTC) - winter
    assert (r["ivr_s"], r["wait_s"], r["customer_id"]) == (11, 0, None)  # customer 0 = unidentified

    # AA0101 33118 27997683 2 PS 990101 6:55:20 6:55:26 6 6:55:26 6:55:43 17 AGENT 6:55:43 6:56:37 54 MICHAL
    r = rows["AA0101-33118"]
    assert (r["outcome"], r["agent_id"]) == ("answered", "MICHAL")
    assert r["offered_at"] == datetime(1999, 1, 1, 4, 55, 20, tzinfo=UTC)
    assert r["answered_at"] == datetime(1999, 1, 1, 4, 55, 43, tzinfo=UTC)
    assert r["ended_at"] == datetime(1999, 1, 1, 4, 56, 37, tzinfo=UTC)
    assert (r["ivr_s"], r["wait_s"], r["talk_s"]) == (6, 17, 54)

    # AA0101 33134 0 0 PS 990101 11:07:30 11:07:38 8 0:00:00 0:00:00 0 AGENT 11:07:43 11:07:46 3 NO_SERVER
    r = rows["AA0101-33134"]
    assert (r["outcome"], r["agent_id"], r["talk_s"]) == ("answered", None, 3)
    assert r["answered_at"] == datetime(1999, 1, 1, 9, 7, 43, tzinfo=UTC)

    # Summer time (UTC+3):
    # AA0101 41957 54613724 2 PS 990701 23:21:59 23:22:05 6 23:22:05 23:22:39 34 AGENT 23:22:38 23:24:08 90 STEREN
    r = rows["AA0101-41957"]
    assert r["offered_at"] == datetime(1999, 7, 1, 23, 21, 59, tzinfo=UTC) - summer
    assert r["offered_at"] == _local("990701", _secs("23:21:59"))
    assert r["ended_at"] == datetime(1999, 7, 1, 20, 24, 8, tzinfo=UTC)
    assert (r["wait_s"], r["talk_s"], r["agent_id"]) == (34, 90, "STEREN")

    # Across midnight: service ends the next day.
    # AA0101 38888 0 0 PS 990421 23:59:07 23:59:22 15 0:00:00 0:00:00 0 AGENT 23:59:21 0:02:11 170 ELI
    r = rows["AA0101-38888"]
    assert r["offered_at"] == datetime(1999, 4, 21, 20, 59, 7, tzinfo=UTC)
    assert r["ended_at"] == datetime(1999, 4, 21, 21, 2, 11, tzinfo=UTC)
    assert (r["ended_at"] - r["answered_at"]).total_seconds() == 170


def test_days_and_outcomes_in_local_time(loaded, raw) -> None:
    """Per-day contacts (in Israel time) match the raw dates of the loaded records."""
    from callops import reports

    wh, _, _ = loaded
    days = {d["day"]: d for d in reports.daily_contacts(wh, "bank")}
    want: Counter[str] = Counter()
    for _, _, rec in raw:
        if expected_outcome(rec) in ("load", "warn"):
            want[datetime.strptime(rec["date"], "%y%m%d").date().isoformat()] += 1
    assert {d: v["contacts"] for d, v in days.items()} == dict(want)
    assert min(days) == date(1999, 1, 1).isoformat() and max(days) == date(1999, 10, 31).isoformat()


def test_reload_changes_nothing(loaded) -> None:
    """The second load of the same files: every row unchanged, nothing new; its warnings are recorded again."""
    wh, first, again = loaded
    assert (again.read, again.loaded, again.updated, again.unchanged) == (360_364, 0, 0, 357_396)
    assert (again.rejected, again.skipped, again.warned) == (0, 2_968, 443)
    c = tenancy.scoped(wh, "bank", "contacts")
    assert c.count().execute() == 357_396
    loads = read_rows(wh, "bank", "loads", order_by=["started_at"])
    assert {loads[i]["load_id"] for i in (0, 1)} == {first.load_id, again.load_id}
    assert [r["warned"] for r in loads] == [443, 443]
    assert c.filter(c.load_id != first.load_id).count().execute() == 0
