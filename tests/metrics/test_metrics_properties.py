"""Property: a ratio at a coarse grain is Σ numerators / Σ denominators of its parts, never a mean of ratios."""

from __future__ import annotations

import csv
import itertools
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callops import tenancy
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.metrics.query import query
from callops.warehouse import Warehouse

SHANGHAI = timezone(timedelta(hours=8))
_files = itertools.count()

contacts = st.lists(
    st.tuples(
        st.sampled_from(["q1", "q2", "q3"]),
        st.sampled_from(["answered", "abandoned", "self_served"]),
        st.integers(0, 60),  # wait seconds
        st.integers(0, 3 * 24 * 60 - 1),  # minute of 2026-03-02 .. 2026-03-04, local
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=contacts)
def test_day_ratio_is_sum_of_parts(rows, tmp_path: Path) -> None:
    """Per day, abandon rate and service level equal Σ num / Σ den over queues (brute force)."""
    path = tmp_path / f"c{next(_files)}.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["contact_id", "queue", "channel", "direction", "offered_at", "answered_at", "wait_s", "outcome"])
        for i, (q, outcome, wait, minute) in enumerate(rows):
            t = (datetime(2026, 3, 2, tzinfo=SHANGHAI) + timedelta(minutes=minute)).isoformat()
            w.writerow([f"c{i}", q, "voice", "inbound", t, t if outcome == "answered" else "", wait, outcome])
    with Warehouse("duckdb://:memory:") as wh:
        tenant = tenancy.create_tenant(wh, "h", "Asia/Shanghai")
        load_files(wh, tenant, "contacts", [path], load_mapping("canonical", "contacts"))
        ids = ["abandon_rate", "service_level", "contacts_answered", "contacts_abandoned"]
        daily = {r["period"]: r for r in query(wh, "h", ids, grain="day").to_pylist()}
        per_queue = query(wh, "h", ids, grain="day", by=["queue"]).to_pylist()
        weekly = query(wh, "h", ids, grain="month").to_pylist()

    num_ab, num_sl, den = defaultdict(int), defaultdict(int), defaultdict(int)
    for _queue, outcome, wait, minute in rows:
        day = date(2026, 3, 2) + timedelta(days=minute // 1440)
        if outcome != "self_served":
            den[day] += 1
        num_ab[day] += outcome == "abandoned"
        num_sl[day] += outcome == "answered" and wait <= 20
    for day, r in daily.items():
        expect_ab = num_ab[day] / den[day] if den[day] else None
        expect_sl = num_sl[day] / den[day] if den[day] else None
        assert r["abandon_rate"] == pytest.approx(expect_ab) if expect_ab is not None else r["abandon_rate"] is None
        assert r["service_level"] == pytest.approx(expect_sl) if expect_sl is not None else r["service_level"] is None
        # the same from the queue rows' own numerators and denominators
        parts = [p for p in per_queue if p["period"] == day]
        num = sum(p["contacts_abandoned"] for p in parts)
        tot = sum(p["contacts_abandoned"] + p["contacts_answered"] for p in parts)
        assert (num / tot if tot else None) == (pytest.approx(r["abandon_rate"]) if tot else None)
    total_den = sum(den.values())
    month = weekly[0]
    assert month["abandon_rate"] == (pytest.approx(sum(num_ab.values()) / total_den) if total_den else None)
