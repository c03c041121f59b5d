"""Drill-down from a trend point to its contacts, checked against the sample file itself."""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, date, datetime

import pytest

from callops.demo import ensure_demo_tenant, load_sample, sample_path
from callops.ui.pages_trends import DRILL_LIMIT, drill_contacts, period_bounds
from callops.warehouse import Warehouse


def test_period_bounds_are_local_periods_in_utc() -> None:
    # a Shanghai day is [16:00 UTC the day before, 16:00 UTC)
    start, end = period_bounds(date(2026, 3, 5), "day", "Asia/Shanghai")
    assert start.astimezone(UTC) == datetime(2026, 3, 4, 16, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 3, 5, 16, tzinfo=UTC)
    start, end = period_bounds(date(2026, 2, 1), "month", "Asia/Shanghai")
    assert (end - start).days == 28
    start, end = period_bounds(datetime(2026, 3, 5, 9, 30), "interval:30", "Asia/Shanghai")
    assert start.astimezone(UTC) == datetime(2026, 3, 5, 1, 30, tzinfo=UTC) and (end - start).seconds == 1800


@pytest.fixture(scope="module")
def sample_wh(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CALLOPS_HOME", str(tmp_path_factory.mktemp("drill")))
        mp.delenv("CALLOPS_WAREHOUSE", raising=False)
        mp.delenv("CALLOPS_STORE_URL", raising=False)
        with Warehouse() as wh:
            load_sample(wh, ensure_demo_tenant(wh))
            yield wh


def _sample_rows() -> list[dict]:
    with gzip.open(sample_path("contacts.csv.gz"), "rt", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_drill_lists_the_contacts_of_an_hour_and_queue(sample_wh: Warehouse) -> None:
    rows = _sample_rows()
    t0, t1 = datetime.fromisoformat("2026-03-05T10:00:00+08:00"), datetime.fromisoformat("2026-03-05T11:00:00+08:00")
    expected = {
        r["contact_id"] for r in rows if r["queue"] == "billing" and t0 <= datetime.fromisoformat(r["offered_at"]) < t1
    }
    assert expected  # the sample is busy at 10:00
    got = drill_contacts(sample_wh, "demo", "hour", datetime(2026, 3, 5, 10), "queue", "billing")
    assert {r["contact_id"] for r in got} == expected
    assert all(r["queue"] == "billing" for r in got)


def test_drill_is_capped(sample_wh: Warehouse) -> None:
    rows = _sample_rows()
    in_month = sum(r["offered_at"].startswith("2026-03") for r in rows)
    assert in_month > DRILL_LIMIT
    got = drill_contacts(sample_wh, "demo", "month", date(2026, 3, 1), None, None)
    assert len(got) == DRILL_LIMIT
    offered = [r["offered_at"] for r in got]
    assert offered == sorted(offered)  # the earliest first
