"""The mapping functions ``rollover(clock, start)``, ``combine(date, seconds)`` and ``seconds_between(a, b)``.

Clock times of the day (h:mm:ss) after a start late in the evening belong to the next day; the expected
instants and durations are worked out with ``datetime`` and ``zoneinfo``, not with the SQL under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from callops import tenancy
from callops.ingest.loader import load_files
from callops.ingest.mapping import parse_mapping
from callops.warehouse import Warehouse
from foundation_helpers import read_rows

ZONE = ZoneInfo("Asia/Shanghai")
MAPPING = """
name: clocks
table: contacts
format: csv
timezone: Asia/Shanghai
parse:
  day: {type: date}
  start: {type: clock, format: "h:mm:ss"}
  answer: {type: clock, format: "h:mm:ss"}
  finish: {type: clock, format: "h:mm:ss"}
fields:
  contact_id: id
  offered_at: "combine(day, start)"
  answered_at: "combine(day, rollover(answer, start))"
  ended_at: "combine(day, rollover(finish, start))"
  talk_s: "seconds_between(combine(day, rollover(answer, start)), combine(day, rollover(finish, start)))"
constants:
  channel: voice
  direction: inbound
  outcome: answered
"""
# id, day, start, answer, finish
ROWS = [
    ("k1", "2024-03-01", "10:00:00", "10:00:20", "10:04:00"),  # same day
    ("k2", "2024-03-01", "23:50:00", "0:05:00", "0:10:30"),  # answered and ended after midnight
    ("k3", "2024-03-01", "23:59:59", "23:59:59", "0:00:01"),  # ends two seconds later, on the next day
    ("k4", "2024-03-01", "12:00:30", "0:00:00", "0:00:10"),  # 12 h 0' 30" and 12 h 0' 20" before: the next day
    ("k5", "2024-03-01", "13:00:00", "0:59:00", "0:59:59"),  # 12 h 1 min and 12 h 1 s before the start: next day
]


def _clock(text: str) -> timedelta:
    h, m, s = (int(x) for x in text.split(":"))
    return timedelta(hours=h, minutes=m, seconds=s)


def _expected(day: str, start: str, clock: str) -> datetime:
    """The instant of ``clock``: on ``day`` unless it is more than 12 h before ``start`` (then the next day)."""
    d = date.fromisoformat(day)
    extra = timedelta(days=1) if _clock(clock) < _clock(start) - timedelta(hours=12) else timedelta()
    local = datetime.combine(d, time()) + _clock(clock) + extra
    return local.replace(tzinfo=ZONE).astimezone(UTC)


def test_rollover_combine_and_seconds_between(home: Warehouse, tmp_path: Path) -> None:
    """Each row's instants and talk time equal the ones worked out by hand."""
    path = tmp_path / "c.csv"
    path.write_text("id,day,start,answer,finish\n" + "".join(",".join(r) + "\n" for r in ROWS))
    tenant = tenancy.create_tenant(home, "s")
    summary = load_files(home, tenant, "contacts", [path], parse_mapping(MAPPING, "clocks.yaml"))
    assert (summary.loaded, summary.rejected) == (len(ROWS), 0)
    got = {r["contact_id"]: r for r in read_rows(home, "s", "contacts")}
    for cid, day, start, answer, finish in ROWS:
        r = got[cid]
        assert r["offered_at"] == _expected(day, start, start), cid
        assert r["answered_at"] == _expected(day, start, answer), cid
        assert r["ended_at"] == _expected(day, start, finish), cid
        talk = (_expected(day, start, finish) - _expected(day, start, answer)).total_seconds()
        assert r["talk_s"] == talk, cid
    assert got["k2"]["talk_s"] == 330 and got["k3"]["talk_s"] == 2 and got["k4"]["talk_s"] == 10
    assert got["k2"]["answered_at"] == datetime(2024, 3, 2, 0, 5, tzinfo=ZONE)
    assert got["k4"]["answered_at"] == datetime(2024, 3, 2, 0, 0, tzinfo=ZONE)
