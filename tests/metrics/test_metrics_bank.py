"""Metric values on the real Anonymous Bank data, checked against an independent reading of the raw file.

The expected numbers are computed here with csv + gzip over ``1999_01_January.tsv.gz``,
following the dataset's documentation (PHANTOM rows are not calls; HANG before the queue
= self-service, HANG in the queue = abandoned, AGENT = answered; ``q_time`` = wait) and
the loader's documented reject rules (negative durations; service start before arrival).
The dates in the file are local (Israel) dates, so they are the tenant's local days.
"""

from __future__ import annotations

import csv
import functools
import gzip
from datetime import date

import pytest
from metrics_testlib import JANUARY, require_data

from callops.metrics.query import query


def _secs(clock: str) -> int:
    h, m, s = (int(x) for x in clock.split(":"))
    return h * 3600 + m * 60 + s


def raw_calls(day: str) -> list[dict]:
    """Valid calls of one yymmdd day from the raw TSV, with the outcome translated."""
    require_data(JANUARY)
    return [c for c in _all_calls() if c["day"] == day]


@functools.cache
def _all_calls() -> tuple[dict, ...]:
    calls = []
    with gzip.open(JANUARY, "rt", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["outcome"] == "PHANTOM":
                continue
            if any(int(row[k]) < 0 for k in ("vru_time", "q_time", "ser_time")):
                continue
            entry = _secs(row["vru_entry"])
            if row["outcome"] == "AGENT":
                start = _secs(row["ser_start"])
                start += 86400 if start < entry - 43200 else 0
                if start < entry:
                    continue
                outcome = "answered"
            elif _secs(row["q_start"]) == 0:
                outcome = "self_served"
            else:
                outcome = "abandoned"
            calls.append(
                {"day": row["date"], "queue": row["type"], "outcome": outcome, "wait": int(row["q_time"]),
                 "entry": entry}
            )
    return tuple(calls)


def expected(calls: list[dict], queue: str, threshold: float = 20) -> dict:
    """Offered, answered, abandoned, ASA, abandon rate, service level (default variant) by brute force."""
    mine = [c for c in calls if c["queue"] == queue]
    answered = [c for c in mine if c["outcome"] == "answered"]
    abandoned = [c for c in mine if c["outcome"] == "abandoned"]
    within = [c for c in answered if c["wait"] <= threshold]
    return {
        "contacts_received": len(mine),
        "contacts_offered": len(answered) + len(abandoned),
        "contacts_answered": len(answered),
        "contacts_abandoned": len(abandoned),
        "contacts_self_served": len(mine) - len(answered) - len(abandoned),
        "asa_s": sum(c["wait"] for c in answered) / len(answered),
        "abandon_rate": len(abandoned) / (len(answered) + len(abandoned)),
        "service_level": len(within) / (len(answered) + len(abandoned)),
        "answered_within": len(within),
    }


IDS = ["contacts_received", "contacts_offered", "contacts_answered", "contacts_abandoned",
       "contacts_self_served", "asa_s", "abandon_rate", "service_level"]


@pytest.mark.parametrize(("day", "queues"), [("990105", ["PS", "NE"]), ("990117", ["PS", "TT"])])
def test_day_by_queue_matches_raw_file(bank, day: str, queues: list[str]) -> None:
    """Counts and ratios for one local day, per queue, equal the brute-force values."""
    d = date(1999, 1, int(day[4:]))
    got = {r["queue"]: r for r in query(bank, "bank", IDS, grain="day", by=["queue"], start=d, end=d).to_pylist()}
    calls = raw_calls(day)
    for q in queues:
        want = expected(calls, q)
        assert got[q]["period"] == d
        for k in IDS:
            assert got[q][k] == pytest.approx(want[k], rel=1e-12), (q, k)


def test_service_level_threshold_and_interval_grain(bank) -> None:
    """T = 30 s changes service level as computed by hand; hourly rows add up to the day."""
    calls = raw_calls("990105")
    want = expected(calls, "PS", threshold=30)
    t = query(bank, "bank", ["service_level", "contacts_offered"], grain="day", where="queue = 'PS'",
              start=date(1999, 1, 5), end=date(1999, 1, 5), params={"sl_threshold_s": 30}).to_pylist()
    assert t[0]["service_level"] == pytest.approx(want["service_level"])
    hours = query(bank, "bank", ["contacts_offered"], grain="hour", where="queue = 'PS'",
                  start=date(1999, 1, 5), end=date(1999, 1, 5)).to_pylist()
    by_hour: dict[int, int] = {}
    for c in calls:
        if c["queue"] == "PS" and c["outcome"] != "self_served":
            by_hour[c["entry"] // 3600] = by_hour.get(c["entry"] // 3600, 0) + 1
    # hours with only self-served PS calls appear with 0 offered
    assert {r["period"].hour: r["contacts_offered"] for r in hours if r["contacts_offered"]} == by_hour
    quarter = query(bank, "bank", ["contacts_offered"], grain="interval:15", where="queue = 'PS'",
                    start=date(1999, 1, 5), end=date(1999, 1, 5)).to_pylist()
    by_q: dict[int, int] = {}
    for c in calls:
        if c["queue"] == "PS" and c["outcome"] != "self_served":
            by_q[c["entry"] // 900] = by_q.get(c["entry"] // 900, 0) + 1
    got = {
        (r["period"].hour * 3600 + r["period"].minute * 60) // 900: r["contacts_offered"]
        for r in quarter
        if r["contacts_offered"]
    }
    assert got == by_q


def test_compare_previous_day_and_top(bank) -> None:
    """--compare previous puts the day before next to each day; --top keeps the best queues per day."""
    t = query(bank, "bank", ["contacts_offered"], grain="day", by=["queue"], start=date(1999, 1, 5),
              end=date(1999, 1, 5), compare="previous").to_pylist()
    before = raw_calls("990104")
    ps = next(r for r in t if r["queue"] == "PS")
    assert ps["contacts_offered__previous"] == expected(before, "PS")["contacts_offered"]
    assert ps["contacts_offered__change"] == ps["contacts_offered"] - ps["contacts_offered__previous"]
    top = query(bank, "bank", ["contacts_offered"], grain="day", by=["queue"], start=date(1999, 1, 5),
                end=date(1999, 1, 6), top=2, rank_by="contacts_offered").to_pylist()
    for day in (date(1999, 1, 5), date(1999, 1, 6)):
        calls = raw_calls(day.strftime("%y%m%d"))
        counts = sorted((expected(calls, q)["contacts_offered"] for q in {c["queue"] for c in calls}), reverse=True)
        rows = [r for r in top if r["period"] == day]
        assert [r["contacts_offered"] for r in rows] == counts[:2]
        assert [r["rank"] for r in rows] == [1, 2]


def test_month_total_matches_raw_file(bank) -> None:
    """January's answered calls over the whole month equal the raw count of valid AGENT rows."""
    t = query(bank, "bank", ["contacts_answered", "abandon_rate"], grain="month").to_pylist()
    assert len(t) == 1
    calls = [c for c in _all_calls() if c["day"].startswith("9901")]
    answered = sum(c["outcome"] == "answered" for c in calls)
    abandoned = sum(c["outcome"] == "abandoned" for c in calls)
    assert t[0]["contacts_answered"] == answered
    assert t[0]["abandon_rate"] == pytest.approx(abandoned / (answered + abandoned))
