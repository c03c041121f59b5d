"""``compare=year`` (docs/metrics.md): each period next to the same period a year earlier -- the same date (29
February against 28 February), the same weekday 52 weeks earlier for weeks, the same month. Expected values are
counted here from the rows loaded."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from metrics_testlib import contact

from callops.metrics.query import query

DAYS = [date(2023, 2, 1) + timedelta(days=i) for i in range(40)] + [date(2024, 2, 1) + timedelta(days=i)
                                                                    for i in range(40)]  # fmt: skip


@pytest.fixture
def two_years(small_wh, load_rows):
    """1-6 contacts a day over 40 days of February-March 2023 and 2024 (tenant ``y``); the count per day."""
    rng = random.Random(20)
    rows, offered, answered = [], {}, {}
    for d in DAYS:
        n = rng.randint(1, 6)
        offered[d] = n
        answered[d] = 0
        for i in range(n):
            outcome = rng.choice(["answered", "answered", "abandoned"])
            answered[d] += outcome == "answered"
            rows.append(contact(f"{d}-{i}", f"{d}T{9 + i}:00:00+08:00", outcome, wait=5.0))
    load_rows(small_wh, "y", "contacts", rows)
    return small_wh, offered, answered


def _check(rows: list[dict], previous_of: dict, offered: dict, answered: dict) -> None:
    assert rows and len(rows) == len(previous_of)
    for r in rows:
        period = r["period"].date() if hasattr(r["period"], "date") else r["period"]
        days = previous_of[period]
        assert r["contacts_offered__previous"] == sum(offered[d] for d in days), period
        assert r["contacts_answered__previous"] == sum(answered[d] for d in days), period
        assert r["contacts_offered__change"] == r["contacts_offered"] - r["contacts_offered__previous"]


def test_days_against_the_same_date_a_year_earlier(two_years) -> None:
    wh, offered, answered = two_years
    rows = query(wh, "y", ["contacts_offered", "contacts_answered"], grain="day", start=date(2024, 2, 26),
                 end=date(2024, 3, 3), compare="year").to_pylist()  # fmt: skip
    previous_of = {date(2024, 2, 26) + timedelta(days=i): None for i in range(7)}
    for d in previous_of:
        previous_of[d] = [date(2023, 2, 28)] if (d.month, d.day) == (2, 29) else [d.replace(year=2023)]
    _check(rows, previous_of, offered, answered)
    leap = next(r for r in rows if str(r["period"]).startswith("2024-02-29"))
    assert leap["contacts_offered__previous"] == offered[date(2023, 2, 28)]


def test_weeks_against_the_same_week_52_weeks_earlier(two_years) -> None:
    """Monday 2024-02-12 against Monday 2023-02-13 (364 days), each week summed over its seven days."""
    wh, offered, answered = two_years
    rows = query(wh, "y", ["contacts_offered", "contacts_answered"], grain="week", start=date(2024, 2, 12),
                 end=date(2024, 3, 3), compare="year").to_pylist()  # fmt: skip
    mondays = [date(2024, 2, 12) + timedelta(weeks=i) for i in range(3)]
    previous_of = {m: [m - timedelta(days=364) + timedelta(days=i) for i in range(7)] for m in mondays}
    assert previous_of[mondays[0]][0] == date(2023, 2, 13)
    _check(rows, previous_of, offered, answered)


def test_a_month_against_the_same_month_a_year_earlier(two_years) -> None:
    """February 2024 (29 days) against February 2023 (28 days)."""
    wh, offered, answered = two_years
    rows = query(wh, "y", ["contacts_offered", "contacts_answered"], grain="month", start=date(2024, 2, 1),
                 end=date(2024, 2, 29), compare="year").to_pylist()  # fmt: skip
    feb23 = [date(2023, 2, 1) + timedelta(days=i) for i in range(28)]
    _check(rows, {date(2024, 2, 1): feb23}, offered, answered)
    assert rows[0]["contacts_offered"] == sum(offered[date(2024, 2, 1) + timedelta(days=i)] for i in range(29))
